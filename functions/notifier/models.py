"""Small models shared by the poller and the Slack function: job snapshots and transition notices."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = "1"

# The ten statuses of botocore's bedrock model. Anything else is treated as not terminal.
TERMINAL_STATUSES = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
NON_TERMINAL_STATUSES = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
KNOWN_STATUSES = frozenset(NON_TERMINAL_STATUSES) | TERMINAL_STATUSES
DEFAULT_NOTIFY_STATUSES = frozenset({"InProgress"}) | TERMINAL_STATUSES


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


def isoformat(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with millisecond precision and a Z, so that strings sort as the moments do."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class RecordCounts:
    total: int | None = None
    processed: int | None = None
    success: int | None = None
    error: int | None = None

    @classmethod
    def from_bedrock(cls, job: dict[str, Any]) -> RecordCounts:
        return cls(
            total=job.get("totalRecordCount"),
            processed=job.get("processedRecordCount"),
            success=job.get("successRecordCount"),
            error=job.get("errorRecordCount"),
        )


@dataclass(frozen=True)
class JobSnapshot:
    """What Bedrock said about one job at one moment (a ListModelInvocationJobs summary or a Get)."""

    job_arn: str
    job_name: str
    model_id: str
    status: str
    submit_time: datetime
    last_modified_time: datetime | None = None
    end_time: datetime | None = None
    message: str | None = None
    records: RecordCounts = field(default_factory=RecordCounts)
    input_s3_uri: str | None = None
    output_s3_uri: str | None = None
    job_expiration_time: datetime | None = None
    timeout_hours: int | None = None
    invocation_type: str | None = None

    @property
    def job_id(self) -> str:
        return self.job_arn.rsplit("/", 1)[-1]

    @classmethod
    def from_bedrock(cls, job: dict[str, Any]) -> JobSnapshot:
        """Build from a boto3 summary; only jobArn, status and submitTime are relied on."""
        input_config = job.get("inputDataConfig") or {}
        output_config = job.get("outputDataConfig") or {}
        return cls(
            job_arn=job["jobArn"],
            job_name=job.get("jobName") or job["jobArn"].rsplit("/", 1)[-1],
            model_id=job.get("modelId") or "unknown",
            status=job.get("status") or "Unknown",
            submit_time=job["submitTime"],
            last_modified_time=job.get("lastModifiedTime"),
            end_time=job.get("endTime"),
            message=job.get("message") or None,
            records=RecordCounts.from_bedrock(job),
            input_s3_uri=(input_config.get("s3InputDataConfig") or {}).get("s3Uri"),
            output_s3_uri=(output_config.get("s3OutputDataConfig") or {}).get("s3Uri"),
            job_expiration_time=job.get("jobExpirationTime"),
            timeout_hours=job.get("timeoutDurationInHours"),
            invocation_type=job.get("modelInvocationType"),
        )


def transition_id(job_arn: str, status: str) -> str:
    """Stable for a (job, status) pair, so every delivery of the same transition carries the same id."""
    return hashlib.sha256(f"{job_arn}\n{status}".encode()).hexdigest()[:32]


def console_url(region: str, job_arn: str) -> str:
    job_id = job_arn.rsplit("/", 1)[-1]
    return f"https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/batch-inference/{job_id}"


@dataclass(frozen=True)
class Notice:
    """One transition as published on the topic (schemaVersion 1, see DESIGN.md)."""

    transition_id: str
    job_arn: str
    job_name: str
    model_id: str
    region: str
    account_id: str
    previous_status: str | None
    status: str
    submit_time: str
    last_modified_time: str | None
    end_time: str | None
    message: str | None
    records: RecordCounts
    input_s3_uri: str | None
    output_s3_uri: str | None
    console_url: str
    detected_at: str

    @classmethod
    def for_transition(
        cls, job: JobSnapshot, previous_status: str | None, region: str, account_id: str, detected_at: datetime
    ) -> Notice:
        return cls(
            transition_id=transition_id(job.job_arn, job.status),
            job_arn=job.job_arn,
            job_name=job.job_name,
            model_id=job.model_id,
            region=region,
            account_id=account_id,
            previous_status=previous_status,
            status=job.status,
            submit_time=isoformat(job.submit_time) or "",
            last_modified_time=isoformat(job.last_modified_time),
            end_time=isoformat(job.end_time),
            message=job.message,
            records=job.records,
            input_s3_uri=job.input_s3_uri,
            output_s3_uri=job.output_s3_uri,
            console_url=console_url(region, job.job_arn),
            detected_at=isoformat(detected_at) or "",
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "transitionId": self.transition_id,
            "jobArn": self.job_arn,
            "jobName": self.job_name,
            "modelId": self.model_id,
            "region": self.region,
            "accountId": self.account_id,
            "previousStatus": self.previous_status,
            "status": self.status,
            "submitTime": self.submit_time,
            "lastModifiedTime": self.last_modified_time,
            "endTime": self.end_time,
            "message": self.message,
            "records": asdict(self.records),
            "inputS3Uri": self.input_s3_uri,
            "outputS3Uri": self.output_s3_uri,
            "consoleUrl": self.console_url,
            "detectedAt": self.detected_at,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Notice:
        """Parse a published document; raises InvalidNotice naming what is wrong."""
        from notifier.errors import InvalidNotice

        if not isinstance(doc, dict):
            raise InvalidNotice("the message is not a JSON object")
        if doc.get("schemaVersion") != SCHEMA_VERSION:
            raise InvalidNotice(f"schemaVersion is {doc.get('schemaVersion')!r}, expected {SCHEMA_VERSION!r}")
        missing = [
            k for k in ("transitionId", "jobArn", "jobName", "modelId", "status", "submitTime") if not doc.get(k)
        ]
        if missing:
            raise InvalidNotice(f"the message lacks {', '.join(missing)}")
        records = doc.get("records") or {}
        if not isinstance(records, dict):
            raise InvalidNotice("records is not an object")
        return cls(
            transition_id=str(doc["transitionId"]),
            job_arn=str(doc["jobArn"]),
            job_name=str(doc["jobName"]),
            model_id=str(doc["modelId"]),
            region=str(doc.get("region") or ""),
            account_id=str(doc.get("accountId") or ""),
            previous_status=doc.get("previousStatus"),
            status=str(doc["status"]),
            submit_time=str(doc["submitTime"]),
            last_modified_time=doc.get("lastModifiedTime"),
            end_time=doc.get("endTime"),
            message=doc.get("message"),
            records=RecordCounts(
                total=records.get("total"),
                processed=records.get("processed"),
                success=records.get("success"),
                error=records.get("error"),
            ),
            input_s3_uri=doc.get("inputS3Uri"),
            output_s3_uri=doc.get("outputS3Uri"),
            console_url=str(doc.get("consoleUrl") or ""),
            detected_at=str(doc.get("detectedAt") or ""),
        )
