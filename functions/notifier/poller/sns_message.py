"""How a transition reads on the topic: the JSON document, the email text, the Subject and the attributes."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from typing import Any

from notifier.core.jobs import TERMINAL_STATUSES
from notifier.core.notice import Notice
from notifier.core.outcome import INFO, percent, summary
from notifier.core.timefmt import describe_duration, isoformat

SUBJECT_LIMIT = 99  # SNS rejects a Subject of 100 characters or more
ATTRIBUTE_LIMIT = 256  # enough for filtering; long job names are cut for the attribute only
# SNS refuses a message, and a PublishBatch request in aggregate, above 256 KiB; a little is kept spare.
MESSAGE_SIZE_LIMIT = 256 * 1024 - 1024
TRUNCATION_MARK = " [... shortened to fit SNS's message size limit; the full message is in the Bedrock console]"


def _ascii(text: str) -> str:
    """SNS subjects must be ASCII without control characters."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isprintable() else " " for ch in folded)


def _summary(notice: Notice) -> str | None:
    return summary(notice.status, notice.outcome, notice.records, notice.error_rate)


def subject(notice: Notice) -> str:
    """The Subject, "Bedrock batch job Completed: NAME"; a warning or critical outcome is marked up front, so a job
    Bedrock calls Completed whose records failed never reads like a success, and mail rules can sort on it."""
    marker = f"[{notice.severity.upper()}] " if notice.severity and notice.severity != INFO else ""
    said = _summary(notice)
    prefix = f"{marker}Bedrock batch job {notice.status}{', ' + said if said else ''}: "
    text = _ascii(prefix + notice.job_name)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def _records_line(notice: Notice) -> str | None:
    r = notice.records
    if r.total is None and r.processed is None and r.success is None and r.error is None:
        return None
    if r.processed is None:
        parts = [f"{r.total} total" if r.total is not None else "counts so far"]
    else:
        parts = [f"{r.processed} of {r.total if r.total is not None else '?'} processed"]
    if r.success is not None:
        parts.append(f"{r.success} succeeded")
    if r.error is not None:
        parts.append(f"{r.error} failed")
    return ", ".join(parts)


def email_text(notice: Notice) -> str:
    previous = notice.previous_status or "new"
    end_or_now = notice.end_time or notice.last_modified_time or notice.detected_at
    said = _summary(notice)
    lines = [
        f"Bedrock batch inference job {notice.job_name!r} is now {notice.status} (was {previous})"
        + (f": {said}." if said else "."),
        "",
        f"Job:        {notice.job_name}",
        f"Model:      {notice.model_id}",
        f"Status:     {previous} -> {notice.status}",
        f"Submitted:  {isoformat(notice.submit_time)}",
    ]
    if notice.end_time:
        lines.append(f"Ended:      {isoformat(notice.end_time)}")
    duration = describe_duration(notice.submit_time, end_or_now)
    if duration:
        lines.append(f"{'Duration:' if notice.status in TERMINAL_STATUSES else 'Running:':<12}{duration}")
    records = _records_line(notice)
    if records:
        lines.append(f"Records:    {records}")
    if notice.outcome:
        lines.append(f"Outcome:    {notice.outcome} (severity {notice.severity or INFO})")
    if notice.error_rate is not None:
        lines.append(f"Error rate: {percent(notice.error_rate)} of processed records failed")
    if notice.message:
        lines.append(f"Message:    {notice.message}")
    if notice.output_s3_uri:
        lines.append(f"Output:     {notice.output_s3_uri}")
    lines += [
        f"Job ARN:    {notice.job_arn}",
        f"Account:    {notice.account_id} ({notice.region})",
        "",
        f"Open in the console: {notice.console_url}",
        "",
        f"Detected at {isoformat(notice.detected_at)}. Transition id {notice.transition_id}.",
    ]
    return "\n".join(lines)


def message_attributes(notice: Notice) -> dict[str, dict[str, str]]:
    """String attributes for subscription filter policies (FilterPolicyScope MessageAttributes)."""
    values = {
        "status": notice.status,
        "previousStatus": notice.previous_status or "none",
        "modelId": notice.model_id,
        "jobName": notice.job_name,
        # Absent on a notice recorded before outcomes existed; outcome only on a job that ended.
        "severity": notice.severity or "",
        "outcome": notice.outcome or "",
    }
    return {k: {"DataType": "String", "StringValue": v[:ATTRIBUTE_LIMIT]} for k, v in values.items() if v}


def sns_message(notice: Notice) -> str:
    """The Message of a MessageStructure=json publish: the document for machines, text for email.

    Both levels keep non-ASCII text as UTF-8: escaping it to ASCII twice would grow each such character to
    twelve or more bytes of SNS's 256 KiB."""
    document = json.dumps(notice.to_document(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return json.dumps({"default": document, "email": email_text(notice)}, ensure_ascii=False)


def entry_size(entry: dict[str, Any]) -> int:
    """Bytes SNS counts against its limits: the message, the subject and every attribute's name, type and value."""
    size = len(entry["Message"].encode()) + len(entry.get("Subject", "").encode())
    for name, attribute in entry.get("MessageAttributes", {}).items():
        size += len(name.encode()) + len(attribute["DataType"].encode()) + len(attribute["StringValue"].encode())
    return size


def _shortened(notice: Notice, keep: int) -> Notice:
    text = notice.message or ""
    return replace(notice, message=text[:keep].rstrip() + TRUNCATION_MARK)


def fitted_entry(notice: Notice) -> tuple[dict[str, Any], bool]:
    """A PublishBatch entry (its Id unset) and whether it was shortened. A failure message so long that the entry
    would pass SNS's size limit (a request SNS would refuse on every poll) is cut until it fits; the full text
    stays in Bedrock."""
    entry = _entry("0", notice)
    if entry_size(entry) <= MESSAGE_SIZE_LIMIT or not notice.message:
        return entry, False
    fits, too_long = 0, len(notice.message)  # the longest prefix of the message that fits, by bisection
    while too_long - fits > 1:
        keep = (fits + too_long) // 2
        if entry_size(_entry("0", _shortened(notice, keep))) <= MESSAGE_SIZE_LIMIT:
            fits = keep
        else:
            too_long = keep
    return _entry("0", _shortened(notice, fits)), True


def publish_entry(entry_id: str, notice: Notice) -> dict[str, Any]:
    return {**fitted_entry(notice)[0], "Id": entry_id}


def _entry(entry_id: str, notice: Notice) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "Message": sns_message(notice),
        "MessageStructure": "json",
        "Subject": subject(notice),
        "MessageAttributes": message_attributes(notice),
    }
