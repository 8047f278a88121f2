"""Bedrock batch jobs as the notifier sees them: the statuses, record counts, and one job at one moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The ten statuses of botocore's bedrock model. Anything else is treated as not terminal.
TERMINAL_STATUSES = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
NON_TERMINAL_STATUSES = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
KNOWN_STATUSES = frozenset(NON_TERMINAL_STATUSES) | TERMINAL_STATUSES
# Where each known status sits in a job's life: a job never goes back to an earlier step (Stop can be asked for
# at any step before the end, so Stopping comes after all of them; every terminal status is the last step).
LIFECYCLE_STEP = {status: step for step, status in enumerate(NON_TERMINAL_STATUSES)} | dict.fromkeys(
    TERMINAL_STATUSES, len(NON_TERMINAL_STATUSES)
)
DEFAULT_NOTIFY_STATUSES = frozenset({"InProgress"}) | TERMINAL_STATUSES


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


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

    def as_dict(self) -> dict[str, int | None]:
        return {"total": self.total, "processed": self.processed, "success": self.success, "error": self.error}

    @property
    def reported(self) -> bool:
        return any(value is not None for value in self.as_dict().values())


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
    expiration_time: datetime | None = None  # jobExpirationTime: when Bedrock ends the job if it is still running

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
            expiration_time=job.get("jobExpirationTime"),
        )
