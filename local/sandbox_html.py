"""`--html PATH`: one self-contained page previewing the sandbox's Slack channel and emails side by side."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.sandbox_render import Style, edited_text, emoji, plural, poster, replies_text, slack_text
from local.slack_standin import ChannelMessage
from notifier.core.notice import Notice
from notifier.poller.sns_message import email_text, subject

_BOLD = re.compile(r"\x01(.*?)\x02")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bedrock batch notifier: sandbox preview</title>
<style>
body {{ font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f4f4f5; color: #1d1c1d; }}
header {{ padding: 16px 24px; background: #3f0e40; color: #fff; }}
header h1 {{ margin: 0; font-size: 18px; }}
main {{ display: grid; grid-template-columns: 1fr 1fr; gap: 24px; padding: 24px; }}
section h2 {{ font-size: 15px; margin: 0 0 12px; }}
.message, .email {{ background: #fff; border-radius: 8px; padding: 12px 14px; margin-bottom: 14px; box-shadow: 0 1px 2px #0002; }}
.attachment {{ border-left: 4px solid #ddd; padding: 2px 0 2px 12px; margin: 6px 0; }}
.header {{ font-weight: 700; font-size: 16px; margin: 2px 0 6px; }}
.fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin: 6px 0; }}
.context {{ color: #616061; font-size: 12px; margin: 4px 0; }}
.button {{ display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 2px 10px; margin: 4px 0; color: #1d1c1d; text-decoration: none; }}
.thread {{ margin: 8px 0 0 16px; border-left: 2px solid #e8e8e8; padding-left: 10px; }}
.meta {{ color: #616061; font-size: 12px; }}
.email pre {{ white-space: pre-wrap; font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; margin: 8px 0 0; }}
.summary {{ padding: 0 24px 24px; }}
.summary table {{ border-collapse: collapse; background: #fff; border-radius: 8px; width: 100%; }}
.summary th, .summary td {{ text-align: left; padding: 6px 10px; border-bottom: 1px solid #eee; vertical-align: top; }}
.summary th {{ font-size: 12px; color: #616061; }}
.summary .lost {{ color: #b00020; font-weight: 700; }}
.summary ul {{ margin: 12px 0 0; padding-left: 20px; }}
</style></head>
<body><header><h1>Bedrock batch notifier: what the sandbox sent</h1></header>
<main>
<section id="slack"><h2>Slack #{channel} ({slack_mode})</h2>
{slack}</section>
<section id="email"><h2>Email to {email_to} ({email_count})</h2>
{emails}</section>
</main>
<div class="summary" id="summary"><h2>Summary</h2>
<table><thead><tr>{summary_headers}</tr></thead>
<tbody>
{summary_rows}
</tbody></table>
<ul>{summary_lines}</ul></div>
</body></html>
"""


def _inline(text: str) -> str:
    """Slack mrkdwn as HTML: bold kept, everything else as the reader sees it."""
    marked = slack_text(text, _MarkBold())
    escaped = html.escape(marked)
    return _BOLD.sub(r"<b>\1</b>", escaped).replace("\n", "<br>")


class _MarkBold(Style):
    """Marks bold spans with control characters, turned into <b> after escaping."""

    def bold(self, text: str) -> str:
        return f"\x01{text}\x02"


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{html.escape(emoji(str(block["text"]["text"])))}</div>'
    if kind == "section" and "fields" in block:
        cells = "".join(f"<div>{_inline(str(field.get('text', '')))}</div>" for field in block["fields"])
        return f'<div class="fields">{cells}</div>'
    if kind == "section":
        return f"<div>{_inline(str(block['text']['text']))}</div>"
    if kind == "context":
        text = " · ".join(str(element.get("text", "")) for element in block["elements"])
        return f'<div class="context">{_inline(text)}</div>'
    if kind == "actions":
        return "".join(
            f'<a class="button" href="{html.escape(str(e.get("url", "")))}">{html.escape(e["text"]["text"])}</a>'
            for e in block["elements"]
        )
    return "<hr>" if kind == "divider" else ""


def _message(message: ChannelMessage) -> str:
    parts = []
    for attachment in message.attachments or []:
        color = html.escape(str(attachment.get("color", "#ddd")))
        blocks = "".join(_block(block) for block in attachment.get("blocks") or [])
        parts.append(f'<div class="attachment" style="border-left-color: {color}">{blocks}</div>')
    return "".join(parts) or f"<div>{_inline(message.text or '')}</div>"


def _parent(message: ChannelMessage) -> str:
    edited = f" · {edited_text(message.edits)}" if message.edits else ""
    replies = "".join(
        f'<div class="reply">{_message(reply)}{" <span class=meta>(also sent to the channel)</span>" if reply.reply_broadcast else ""}</div>'
        for reply in message.replies
    )
    count = replies_text(len(message.replies))
    thread = f'<div class="thread"><div class="meta">{count}</div>{replies}</div>' if replies else ""
    return f'<div class="message"><div class="meta">{poster(message)}{edited}</div>{_message(message)}{thread}</div>'


def _email(notice: Notice, to: str) -> str:
    return (
        f'<div class="email"><div class="meta">To: {html.escape(to)}</div>'
        f"<div><b>{html.escape(subject(notice))}</b></div><pre>{html.escape(email_text(notice))}</pre></div>"
    )


@dataclass(frozen=True)
class Page:
    """What the page shows: the channel as its readers see it, the emails, and the run's summary."""

    channel: str
    slack_mode: str  # in words: how the mode posts
    channel_messages: Sequence[ChannelMessage]
    email_to: str
    emails: Sequence[Notice]
    summary_headers: Sequence[str]
    summary_rows: Sequence[Sequence[str]]
    summary_lines: Sequence[str]


def _row(cells: Sequence[str]) -> str:
    return (
        "<tr>"
        + "".join(
            f'<td class="lost">{html.escape(c)}</td>' if c.startswith("✗") else f"<td>{html.escape(c)}</td>"
            for c in cells
        )
        + "</tr>"
    )


def render(page: Page) -> str:
    return PAGE.format(
        channel=html.escape(page.channel),
        slack_mode=html.escape(page.slack_mode),
        slack="\n".join(_parent(message) for message in page.channel_messages),
        email_to=html.escape(page.email_to),
        email_count=plural(len(page.emails), "message"),
        emails="\n".join(_email(notice, page.email_to) for notice in page.emails),
        summary_headers="".join(f"<th>{html.escape(header)}</th>" for header in page.summary_headers),
        summary_rows="\n".join(_row(row) for row in page.summary_rows),
        summary_lines="".join(f"<li>{html.escape(line)}</li>" for line in page.summary_lines),
    )


def write_html(path: Path, page: Page) -> None:
    path.write_text(render(page), encoding="utf-8")
