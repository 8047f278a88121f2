"""What people would see, in a terminal: Slack messages (Block Kit read back from the stand-in) and emails.

Slack's mrkdwn is turned into plain text: dates show their fallback, links their label, emoji codes their
character; bold and the attachment's colour bar use ANSI escapes when the output is a colour terminal.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from local.slack_standin import ChannelMessage
from notifier.core.notice import Notice
from notifier.poller.sns_message import email_text, subject

EMOJI = {
    ":white_check_mark:": "✅",
    ":warning:": "⚠️",
    ":x:": "❌",
    ":no_entry_sign:": "🚫",
    ":alarm_clock:": "⏰",
    ":hourglass_flowing_sand:": "⏳",
    ":inbox_tray:": "📥",
    ":mag:": "🔍",
    ":calendar:": "📅",
    ":octagonal_sign:": "🛑",
    ":grey_question:": "❔",
}
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LABELLED_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_LINK = re.compile(r"<(https?://[^>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI_CODE = re.compile(r":[a-z0-9_+-]+:")
_LABELLED_SECTION = re.compile(r"\*([^*\n]+)\*\n([^\n]+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Style:
    """ANSI styling, or none at all (pipes, files, NO_COLOR)."""

    color: bool = False

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        wanted = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        return cls(color=bool(wanted))

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def hex_color(self, color: str | None, text: str) -> str:
        if not color or not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
            return text
        red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        return self._wrap(f"38;2;{red};{green};{blue}", text)


def display_width(text: str) -> int:
    """Terminal cells the text takes: ANSI escapes take none, wide characters two."""
    plain = _ANSI.sub("", text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in plain)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


# --- Slack -----------------------------------------------------------------------------------------------------


def emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda match: EMOJI.get(match.group(0), match.group(0)), text)


def slack_text(text: str, style: Style) -> str:
    """Slack mrkdwn as a reader sees it."""
    text = text.replace("```", "")
    text = _DATE.sub(lambda match: match.group(1), text)
    text = _LABELLED_LINK.sub(lambda match: f"{match.group(2)} ({match.group(1)})", text)
    text = _LINK.sub(lambda match: match.group(1), text)
    text = _BOLD.sub(lambda match: style.bold(match.group(1)), text)
    text = _CODE.sub(lambda match: match.group(1), text)
    text = emoji(text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _field_text(field: dict[str, Any], style: Style) -> str:
    label, _, value = str(field.get("text", "")).partition("\n")
    return f"{style.dim(slack_text(label, Style()).strip() + ':')} {slack_text(value, style)}"


def _block_lines(block: dict[str, Any], style: Style) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [style.bold(emoji(str(block["text"]["text"])))]
    if kind == "section" and "fields" in block:
        cells = [_field_text(field, style) for field in block["fields"]]
        return [
            (pad(cells[i], 58) + (cells[i + 1] if i + 1 < len(cells) else "")).rstrip() for i in range(0, len(cells), 2)
        ]
    if kind == "section":
        text = str(block["text"]["text"])
        labelled = _LABELLED_SECTION.fullmatch(text)
        if labelled:  # "*Output*\n`s3://...`" reads best on one line
            return [f"{style.dim(labelled.group(1) + ':')} {slack_text(labelled.group(2), style)}"]
        return slack_text(text, style).splitlines()
    if kind == "context":
        return [style.dim(" · ".join(slack_text(str(e.get("text", "")), Style()) for e in block["elements"]))]
    if kind == "actions":
        buttons = [f"[{e['text']['text']}] {style.dim(str(e.get('url', '')))}" for e in block["elements"]]
        return ["  ".join(buttons)]
    if kind == "divider":
        return ["─" * 40]
    return []


def message_lines(text: str | None, attachments: list[Any] | None, blocks: list[Any] | None, style: Style) -> list[str]:
    """One Slack message: its attachments' blocks behind a bar in the attachment's colour."""
    lines: list[str] = []
    for block in blocks or []:
        lines += _block_lines(block, style)
    for attachment in attachments or []:
        bar = style.hex_color(attachment.get("color"), "┃")
        body = [line for block in attachment.get("blocks") or [] for line in _block_lines(block, style)]
        lines += [f"{bar} {line}" for line in body or [slack_text(str(attachment.get("fallback", "")), style)]]
    return lines or [slack_text(text or "", style)]


def channel_message_lines(message: ChannelMessage, channel: str, style: Style) -> list[str]:
    """A parent message with its current content after updates, then its thread."""
    edited = f" · {edited_text(message.edits)}" if message.edits else ""
    lines = [style.dim(f"#{channel} · {poster(message)} message{edited}")]
    lines += message_lines(message.text, message.attachments, message.blocks, style)
    if message.replies:
        lines.append(style.dim(f"└ thread: {replies_text(len(message.replies))}"))
        for reply in message.replies:
            also = style.dim("  (also sent to the channel)") if reply.reply_broadcast else ""
            reply_lines = message_lines(reply.text, reply.attachments, reply.blocks, style)
            lines.append(f"   ↳ {reply_lines[0]}{also}")
            lines += [f"     {line}" for line in reply_lines[1:]]
    return lines


def channel_message_line(message: ChannelMessage, style: Style) -> str:
    """A message in one line: its fallback text and, for a parent, its latest thread reply's."""
    line = slack_text(message.text or "", style)
    if message.replies:
        latest = message.replies[-1]
        line += style.dim(f" · thread: {replies_text(len(message.replies))}, latest ") + slack_text(
            latest.text or "", style
        )
    return line


def poster(message: ChannelMessage) -> str:
    return "webhook" if message.source == "webhook" else "bot"


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 reply', '2 replies', '0 emails'."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def replies_text(count: int) -> str:
    return plural(count, "reply", "replies")


def edited_text(edits: int) -> str:
    return "edited once" if edits == 1 else f"edited {edits} times"


# --- email -----------------------------------------------------------------------------------------------------


def email_line(notice: Notice, to: str, style: Style) -> str:
    """An email in one line: who gets it and its Subject."""
    return f"{style.dim('To:')} {to}   {style.dim('Subject:')} {subject(notice)}"


def email_lines(notice: Notice, to: str, style: Style) -> list[str]:
    """The email SNS sends: the Subject and the `email` key of the message, both built from the notice."""
    lines = [f"{style.dim('To:')} {to}   {style.dim('Subject:')} {style.bold(subject(notice))}"]
    lines += [f"{style.dim('│')} {line}" for line in email_text(notice).splitlines()]
    return lines


# --- layout ----------------------------------------------------------------------------------------------------


def indent(lines: Iterable[str], prefix: str = "    ") -> list[str]:
    return [prefix + line for line in lines]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], style: Style) -> list[str]:
    widths = [max(display_width(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    rule = "  ".join("─" * width for width in widths)
    head = "  ".join(pad(style.bold(h), w) for h, w in zip(headers, widths, strict=True)).rstrip()
    body = ["  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return [head, rule, *body]
