"""How a transition reads in Slack: Block Kit messages, pure functions of a Notice.

Three shapes:
- transition_message: one message per transition (webhook mode);
- job_summary_message: the job's one parent message in bot mode, showing its current state (updated in place);
- thread_reply_message: the short reply posted in the parent's thread for each transition.

Every message has a top-level ``text`` fallback (notifications, screen readers) and one attachment whose colour
and emoji follow the outcome of a job that ended (a Completed job whose records failed is not green), else the
status. Texts are cut to Slack's limits with a visible marker, so Slack never refuses a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from notifier.core.jobs import TERMINAL_STATUSES, RecordCounts
from notifier.core.notice import Notice
from notifier.core.outcome import (
    EXPIRED,
    FAILED,
    PARTIAL,
    STOPPED,
    SUCCEEDED,
    SUCCEEDED_WITH_ERRORS,
    WARNING,
    percent,
    summary,
)
from notifier.core.timefmt import format_duration

# Slack's limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3_000
MAX_FIELD_TEXT = 2_000
MAX_BUTTON_TEXT = 75
MAX_URL = 3_000
# Slack accepts 40,000 characters of fallback text; a notification line reads best far shorter.
MAX_FALLBACK_TEXT = 300

TRUNCATION_MARKER = "… (truncated)"
NEW_JOB = "new"


@dataclass(frozen=True)
class StatusStyle:
    emoji: str
    color: str


STATUS_STYLES: dict[str, StatusStyle] = {
    "Submitted": StatusStyle(":inbox_tray:", "#8D8D8D"),
    "Validating": StatusStyle(":mag:", "#8D8D8D"),
    "Scheduled": StatusStyle(":calendar:", "#8D8D8D"),
    "InProgress": StatusStyle(":hourglass_flowing_sand:", "#2F80ED"),
    "Stopping": StatusStyle(":octagonal_sign:", "#ECB22E"),
    "Completed": StatusStyle(":white_check_mark:", "#2EB67D"),
    "PartiallyCompleted": StatusStyle(":warning:", "#ECB22E"),
    "Failed": StatusStyle(":x:", "#E01E5A"),
    "Stopped": StatusStyle(":no_entry_sign:", "#616061"),
    "Expired": StatusStyle(":alarm_clock:", "#E01E5A"),
}
# A job that ended looks like what came of it; succeededWithErrors looks like success only below errorRateWarning.
OUTCOME_STYLES: dict[str, StatusStyle] = {
    SUCCEEDED: STATUS_STYLES["Completed"],
    SUCCEEDED_WITH_ERRORS: STATUS_STYLES["Completed"],
    FAILED: STATUS_STYLES["Failed"],
    STOPPED: StatusStyle(":no_entry_sign:", "#ECB22E"),
    EXPIRED: STATUS_STYLES["Expired"],
    PARTIAL: STATUS_STYLES["PartiallyCompleted"],
}
ERRORS_WARNING_STYLE = StatusStyle(":warning:", "#ECB22E")
TEST_COLOR = "#7B61FF"  # a colour no status has
# A status Bedrock adds later still renders, just without a specific look.
UNKNOWN_STATUS_STYLE = StatusStyle(":grey_question:", "#9E9E9E")

PROGRESS_SEGMENTS = 10


@dataclass(frozen=True)
class SlackMessage:
    """The parts of chat.postMessage / chat.update / a webhook body that carry the content."""

    text: str
    attachments: list[dict[str, Any]]

    def as_payload(self) -> dict[str, Any]:
        return {"text": self.text, "attachments": self.attachments}

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return [block for attachment in self.attachments for block in attachment.get("blocks", [])]


def style_for(status: str) -> StatusStyle:
    return STATUS_STYLES.get(status, UNKNOWN_STATUS_STYLE)


def style_of(notice: Notice) -> StatusStyle:
    """The outcome's look for a job that ended, the status's otherwise (and for documents without an outcome)."""
    if notice.outcome == SUCCEEDED_WITH_ERRORS and notice.severity == WARNING:
        return ERRORS_WARNING_STYLE
    if notice.outcome in OUTCOME_STYLES:
        return OUTCOME_STYLES[notice.outcome]
    return style_for(notice.status)


def outcome_text(notice: Notice) -> str | None:
    """What the status alone does not say ("every record failed" and the like); None when it says it all."""
    return summary(notice.status, notice.outcome, notice.records, notice.error_rate)


def _status_line(notice: Notice, status: str) -> str:
    said = outcome_text(notice)
    return f"{status} · *{escape(said)}*" if said else status


def _with_outcome(text: str, notice: Notice) -> str:
    said = outcome_text(notice)
    return f"{text}: {said}" if said else text


# --- text helpers ----------------------------------------------------------------------------------------------


def truncate(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """Cut text to at most ``limit`` characters, ending with the marker when something was cut."""
    if len(text) <= limit:
        return text
    kept = text[: max(limit - len(marker), 0)]
    # Do not leave half of an escaped entity (&amp; &lt; &gt;) behind.
    kept = re.sub(r"&[a-z]{0,3}$", "", kept)
    return (kept + marker)[:limit]


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters; user text must not create links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def status_change(notice: Notice) -> str:
    return f"{notice.previous_status or NEW_JOB} → {notice.status}"


def slack_date(moment: datetime | None) -> str:
    """A time Slack shows in each reader's own time zone, with a UTC fallback."""
    if moment is None:
        return "—"
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def duration_text(notice: Notice) -> str | None:
    """How long the job took, or has been running as of this transition."""
    started = notice.submit_time
    if notice.end_time is not None:
        return format_duration((notice.end_time - started).total_seconds())
    as_of = notice.last_modified_time or notice.detected_at
    running = format_duration((as_of - started).total_seconds())
    return running if notice.status in TERMINAL_STATUSES else f"{running} so far"


def records_text(records: RecordCounts) -> str:
    if records.total is None and records.processed is None and records.success is None and records.error is None:
        return "not reported yet"
    parts = []
    if records.success is not None:
        parts.append(f"{records.success:,} succeeded")
    if records.error is not None:
        parts.append(f"{records.error:,} failed")
    if records.total is not None:
        parts.append(f"{records.total:,} total")
    elif records.processed is not None:
        parts.append(f"{records.processed:,} processed")
    return " · ".join(parts)


def progress_text(records: RecordCounts) -> str | None:
    """A bar of processed records out of the total, when Bedrock reported both."""
    if not records.total or records.processed is None:
        return None
    share = min(max(records.processed / records.total, 0.0), 1.0)
    filled = int(share * PROGRESS_SEGMENTS)
    bar = "▰" * filled + "▱" * (PROGRESS_SEGMENTS - filled)
    return f"`{bar}` {int(share * 100)}% · {records.processed:,} of {records.total:,} records processed"


# --- blocks ----------------------------------------------------------------------------------------------------


def _mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def _header(notice: Notice) -> dict[str, Any]:
    text = f"{style_of(notice).emoji} {notice.job_name}"
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_TEXT), "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _fields(notice: Notice) -> dict[str, Any]:
    ended = slack_date(notice.end_time) if notice.end_time else "not yet"
    fields = [
        f"*Model*\n{escape(notice.model_id)}",
        f"*Records*\n{records_text(notice.records)}",
        f"*Submitted*\n{slack_date(notice.submit_time)}",
        f"*Ended*\n{ended}",
    ]
    duration = duration_text(notice)
    if duration is not None:
        fields.append(f"*Duration*\n{duration}")
    if notice.outcome is not None:
        rate = f" · {percent(notice.error_rate)} errors" if notice.error_rate is not None else ""
        fields.append(f"*Outcome*\n{notice.outcome} ({notice.severity or 'info'}){rate}")
    return {"type": "section", "fields": [_mrkdwn(field, MAX_FIELD_TEXT) for field in fields]}


def _failure(notice: Notice) -> dict[str, Any] | None:
    if not notice.message:
        return None
    opening, closing = "*Message*\n```", "```"
    # Three backticks inside the message would end the code block early.
    body = escape(notice.message.replace("```", "'''"))
    return _section(opening + truncate(body, MAX_SECTION_TEXT - len(opening) - len(closing)) + closing)


def _output(notice: Notice) -> dict[str, Any] | None:
    if not notice.output_s3_uri:
        return None
    return _section(f"*Output*\n`{escape(notice.output_s3_uri)}`")


def _console_button(notice: Notice) -> dict[str, Any] | None:
    url = notice.console_url
    if not url.startswith("https://") or len(url) > MAX_URL:
        return None
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate("Open in the Bedrock console", MAX_BUTTON_TEXT)},
        "url": url,
        "action_id": "open-console",
    }
    return {"type": "actions", "elements": [button]}


def _context(notice: Notice, lead: str | None = None) -> dict[str, Any]:
    where = " · ".join(part for part in (notice.region, notice.account_id) if part)
    parts = [part for part in (lead, where, f"`{escape(notice.job_arn)}`") if part]
    return {"type": "context", "elements": [_mrkdwn(" · ".join(parts), MAX_FIELD_TEXT)]}


def _message(notice: Notice, text: str, blocks: list[dict[str, Any] | None]) -> SlackMessage:
    present = [block for block in blocks if block is not None][:MAX_BLOCKS]
    fallback = truncate(text, MAX_FALLBACK_TEXT)
    attachment = {"color": style_of(notice).color, "fallback": fallback, "blocks": present}
    return SlackMessage(text=fallback, attachments=[attachment])


def transition_message(notice: Notice) -> SlackMessage:
    """One self-contained message for one transition (webhook mode)."""
    emoji = style_of(notice).emoji
    return _message(
        notice,
        _with_outcome(f"{emoji} Bedrock batch job {escape(notice.job_name)}: {escape(status_change(notice))}", notice),
        [
            _header(notice),
            _section(
                _status_line(
                    notice, f"*Status*  {escape(notice.previous_status or NEW_JOB)} → *{escape(notice.status)}*"
                )
            ),
            _fields(notice),
            _failure(notice),
            _output(notice),
            _console_button(notice),
            _context(notice),
        ],
    )


def job_summary_message(notice: Notice) -> SlackMessage:
    """The job's parent message in bot mode: its current status, progress and duration."""
    emoji = style_of(notice).emoji
    return _message(
        notice,
        _with_outcome(f"{emoji} Bedrock batch job {escape(notice.job_name)} is {escape(notice.status)}", notice),
        [
            _header(notice),
            _section(
                _status_line(
                    notice, f"*Status*  *{escape(notice.status)}* (was {escape(notice.previous_status or NEW_JOB)})"
                )
            ),
            _section(text) if (text := progress_text(notice.records)) else None,
            _fields(notice),
            _failure(notice),
            _output(notice),
            _console_button(notice),
            _context(
                notice, f"Updated {slack_date(notice.detected_at or notice.last_modified_time)}, history in thread"
            ),
        ],
    )


def thread_reply_message(notice: Notice) -> SlackMessage:
    """One line of the job's history, posted in the parent's thread."""
    emoji = style_of(notice).emoji
    line = _status_line(notice, f"{emoji} {escape(notice.previous_status or NEW_JOB)} → *{escape(notice.status)}*")
    records = records_text(notice.records)
    return _message(
        notice,
        _with_outcome(f"{emoji} {escape(notice.job_name)}: {escape(status_change(notice))}", notice),
        [
            _section(f"{line} · records: {records}"),
            _failure(notice),
            _output(notice) if notice.status in TERMINAL_STATUSES else None,
            {"type": "context", "elements": [_mrkdwn(f"Detected {slack_date(notice.detected_at)}", MAX_FIELD_TEXT)]},
        ],
    )


def delivery_test_message(notice: Notice) -> SlackMessage:
    """A test notice (kind "test"): one standalone message nobody can take for a job's status."""
    sent = slack_date(notice.detected_at)
    lines = [
        ":test_tube: *TEST*: the Bedrock batch notifier reaches this channel. No batch job changed status.",
        escape(notice.message or ""),
    ]
    return SlackMessage(
        text=":test_tube: TEST: Bedrock batch notifier test notification",
        attachments=[
            {
                "color": TEST_COLOR,
                "fallback": "TEST: Bedrock batch notifier test notification",
                "blocks": [
                    _section("\n".join(line for line in lines if line)),
                    {
                        "type": "context",
                        "elements": [
                            _mrkdwn(
                                f"Sent {sent} · {escape(notice.account_id)} ({escape(notice.region)}) · "
                                f"transition id `{escape(notice.transition_id)}`",
                                MAX_FIELD_TEXT,
                            )
                        ],
                    },
                ],
            }
        ],
    )
