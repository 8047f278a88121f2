"""The Notice: one transition, built once by the poller and read back by every subscriber.

It is serialised only at the edges: ``to_document`` for the SNS message, the job item's outbox and the Slack
message state; ``from_document`` when reading any of them back. Inside, moments stay datetimes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifier.core.errors import InvalidNotice
from notifier.core.jobs import JobSnapshot, RecordCounts
from notifier.core.outcome import DEFAULT_ERROR_RATE_WARNING, OUTCOMES, SEVERITIES, assess
from notifier.core.timefmt import isoformat, parse_time

SCHEMA_VERSION = "1"
# The kind of a notice a person sends to check delivery; a document without kind is a transition.
KIND_TEST = "test"


def transition_id(job_arn: str, status: str) -> str:
    """Stable for a (job, status) pair, so every delivery of the same transition carries the same id."""
    return hashlib.sha256(f"{job_arn}\n{status}".encode()).hexdigest()[:32]


def console_url(region: str, job_arn: str) -> str:
    job_id = job_arn.rsplit("/", 1)[-1]
    return f"https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/batch-inference/{job_id}"


@dataclass(frozen=True)
class Notice:
    """One transition as published on the topic (schemaVersion 1)."""

    transition_id: str
    job_arn: str
    job_name: str
    model_id: str
    region: str
    account_id: str
    previous_status: str | None
    status: str
    submit_time: datetime
    last_modified_time: datetime | None
    end_time: datetime | None
    message: str | None
    records: RecordCounts
    input_s3_uri: str | None
    output_s3_uri: str | None
    console_url: str
    detected_at: datetime
    kind: str | None = None  # None: a transition; KIND_TEST: a person checking delivery (tools.test_notification)
    # What came of the job (notifier.core.outcome). None in a document written before these fields existed:
    # renderers then go by the status alone.
    outcome: str | None = None
    severity: str | None = None
    error_rate: float | None = None

    @classmethod
    def for_transition(
        cls,
        job: JobSnapshot,
        previous_status: str | None,
        region: str,
        account_id: str,
        detected_at: datetime,
        error_rate_warning: float = DEFAULT_ERROR_RATE_WARNING,
    ) -> Notice:
        assessment = assess(job.status, job.records, error_rate_warning)
        return cls(
            transition_id=transition_id(job.job_arn, job.status),
            job_arn=job.job_arn,
            job_name=job.job_name,
            model_id=job.model_id,
            region=region,
            account_id=account_id,
            previous_status=previous_status,
            status=job.status,
            submit_time=job.submit_time,
            last_modified_time=job.last_modified_time,
            end_time=job.end_time,
            message=job.message,
            records=job.records,
            input_s3_uri=job.input_s3_uri,
            output_s3_uri=job.output_s3_uri,
            console_url=console_url(region, job.job_arn),
            detected_at=detected_at,
            outcome=assessment.outcome,
            severity=assessment.severity,
            error_rate=assessment.error_rate,
        )

    @property
    def is_test(self) -> bool:
        return self.kind == KIND_TEST

    def to_document(self) -> dict[str, Any]:
        document = {
            "schemaVersion": SCHEMA_VERSION,
            "transitionId": self.transition_id,
            "jobArn": self.job_arn,
            "jobName": self.job_name,
            "modelId": self.model_id,
            "region": self.region,
            "accountId": self.account_id,
            "previousStatus": self.previous_status,
            "status": self.status,
            "submitTime": isoformat(self.submit_time),
            "lastModifiedTime": isoformat(self.last_modified_time),
            "endTime": isoformat(self.end_time),
            "message": self.message,
            "records": self.records.as_dict(),
            "inputS3Uri": self.input_s3_uri,
            "outputS3Uri": self.output_s3_uri,
            "consoleUrl": self.console_url,
            "detectedAt": isoformat(self.detected_at),
            "outcome": self.outcome,
            "severity": self.severity,
            "errorRate": self.error_rate,
        }
        if self.kind is not None:  # a transition's document has no kind (the schema's rule)
            document["kind"] = self.kind
        return document

    @classmethod
    def from_document(cls, doc: Any) -> Notice:
        """Parse a published document; raises InvalidNotice naming what is wrong (a permanent problem)."""
        if not isinstance(doc, dict):
            raise InvalidNotice("the message is not a JSON object")
        if doc.get("schemaVersion") != SCHEMA_VERSION:
            raise InvalidNotice(f"schemaVersion is {doc.get('schemaVersion')!r:.40}, expected {SCHEMA_VERSION!r}")
        missing = [
            k for k in ("transitionId", "jobArn", "jobName", "modelId", "status", "submitTime") if not doc.get(k)
        ]
        if missing:
            raise InvalidNotice(f"the message lacks {', '.join(missing)}")
        records = doc.get("records") or {}
        if not isinstance(records, dict):
            raise InvalidNotice("records is not an object")
        detected_at = _moment(doc, "detectedAt")
        submit_time = _moment(doc, "submitTime")
        assert submit_time is not None  # checked present above
        return cls(
            transition_id=_text(doc, "transitionId"),
            job_arn=_text(doc, "jobArn"),
            job_name=_text(doc, "jobName"),
            model_id=_text(doc, "modelId"),
            region=_optional_text(doc, "region") or "",
            account_id=_optional_text(doc, "accountId") or "",
            previous_status=_optional_text(doc, "previousStatus"),
            status=_text(doc, "status"),
            submit_time=submit_time,
            last_modified_time=_moment(doc, "lastModifiedTime"),
            end_time=_moment(doc, "endTime"),
            message=_optional_text(doc, "message"),
            records=RecordCounts(
                **{name: _count(records, name) for name in ("total", "processed", "success", "error")}
            ),
            input_s3_uri=_optional_text(doc, "inputS3Uri"),
            output_s3_uri=_optional_text(doc, "outputS3Uri"),
            console_url=_optional_text(doc, "consoleUrl") or "",
            detected_at=detected_at or submit_time,
            kind=_optional_text(doc, "kind"),
            outcome=_optional_choice(doc, "outcome", OUTCOMES),
            severity=_optional_choice(doc, "severity", SEVERITIES),
            error_rate=_rate(doc, "errorRate"),
        )


def _text(doc: dict[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise InvalidNotice(f"{key} is a {type(value).__name__}, not a string")
    return value


def _optional_text(doc: dict[str, Any], key: str) -> str | None:
    return None if doc.get(key) is None else _text(doc, key)


def _optional_choice(doc: dict[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    """A word of a known set; a word this version does not know reads as absent (the schema may add words)."""
    value = _optional_text(doc, key)
    return value if value in choices else None


def _rate(doc: dict[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidNotice(f"{key} is {value!r:.40}, not a number from 0 to 1")
    return float(value)


def _moment(doc: dict[str, Any], key: str) -> datetime | None:
    value = _optional_text(doc, key)
    try:
        return parse_time(value)
    except ValueError:
        raise InvalidNotice(f"{key} is not an ISO-8601 time ({value!r:.40})") from None


def _count(records: dict[str, Any], key: str) -> int | None:
    value = records.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidNotice(f"records.{key} is a {type(value).__name__}, not a whole number")
    return value
