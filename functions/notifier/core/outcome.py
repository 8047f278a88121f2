"""Whether a job that ended actually worked: its outcome, error rate and severity, from its record counts alone.

A status says where a job is; the outcome says what came of it. Bedrock reports "Completed" for a batch whose
every record failed, so the status alone must never decide that a job succeeded. The rule reads only the counts
the listing already returns (totalRecordCount, processedRecordCount, successRecordCount, errorRecordCount).

Severity follows one principle: critical when the job left no usable output (it failed, expired before
processing anything, or every record failed), warning when it left some but not all (stopped, partial, or an
error rate above the threshold), info otherwise. A notice of a job still running is info and has no outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.core.jobs import RecordCounts, is_terminal

SUCCEEDED = "succeeded"
SUCCEEDED_WITH_ERRORS = "succeededWithErrors"
FAILED = "failed"
STOPPED = "stopped"
EXPIRED = "expired"
PARTIAL = "partial"
OUTCOMES = (SUCCEEDED, SUCCEEDED_WITH_ERRORS, FAILED, STOPPED, EXPIRED, PARTIAL)

INFO = "info"
WARNING = "warning"
CRITICAL = "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)

# A Completed job with more than this share of its processed records failed is a warning (errorRateWarning).
DEFAULT_ERROR_RATE_WARNING = 0.05
ERROR_RATE_DIGITS = 4  # 0.0126 is 1.26%: enough to read, short on the wire


@dataclass(frozen=True)
class Assessment:
    """What a notice says about the job's result: outcome None for a job that has not ended."""

    outcome: str | None
    severity: str
    error_rate: float | None


def error_rate(records: RecordCounts) -> float | None:
    """The share of processed records that failed, 0 to 1; None when the counts do not say.

    Processed is Bedrock's processedRecordCount, or success + error when it is missing, or the total when both are:
    a job that stopped or expired early is judged on the records it got to, not on those it never read."""
    if records.error is None:
        return None
    if records.processed:
        processed = records.processed
    elif records.success is not None:
        processed = records.success + records.error
    else:
        processed = records.total or 0
    if processed <= 0:
        return None
    return min(records.error / processed, 1.0)


def every_record_failed(records: RecordCounts) -> bool:
    """Errors and not a single success: nothing usable came out, whatever the status says."""
    if not records.error:
        return False
    if records.success is not None:
        return records.success == 0
    return records.error == (records.processed or records.total)


def assess(status: str, records: RecordCounts, error_rate_warning: float = DEFAULT_ERROR_RATE_WARNING) -> Assessment:
    """The outcome, severity and error rate of a notice for a job now in `status` with these counts.

    Missing counts leave the outcome to the status alone (and the error rate None); an unknown or running status
    has no outcome and is info."""
    rate = error_rate(records)
    rounded = None if rate is None else round(rate, ERROR_RATE_DIGITS)
    if not is_terminal(status):
        return Assessment(None, INFO, rounded)
    if status == "Failed":
        return Assessment(FAILED, CRITICAL, rounded)
    if status == "Stopped":
        return Assessment(STOPPED, WARNING, rounded)
    if every_record_failed(records):
        return Assessment(FAILED, CRITICAL, rounded)
    if status == "Expired":
        if records.processed or records.success:
            return Assessment(PARTIAL, WARNING, rounded)
        return Assessment(EXPIRED, CRITICAL, rounded)
    if status == "PartiallyCompleted":
        return Assessment(PARTIAL, WARNING, rounded)
    # Completed: the error rate decides. "Above the threshold" compares the unrounded rate.
    if not records.error:
        return Assessment(SUCCEEDED, INFO, rounded)
    severity = WARNING if rate is not None and rate > error_rate_warning else INFO
    return Assessment(SUCCEEDED_WITH_ERRORS, severity, rounded)


def percent(rate: float) -> str:
    """0.0126 -> "1.26%", 0.05 -> "5%", 1.0 -> "100%"; a rate above 0 never reads as 0%."""
    value = rate * 100
    if 0 < value < 0.01:
        return "<0.01%"
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def summary(status: str, outcome: str | None, records: RecordCounts, rate: float | None) -> str | None:
    """A few words on what came of the job, short enough for a Subject; None when the status says it all."""
    if outcome == FAILED and status != "Failed":
        whole = records.total if records.total is not None else records.processed
        return "every record failed" if whole in (None, records.error) else "no record succeeded"
    if outcome == SUCCEEDED_WITH_ERRORS:
        return f"{percent(rate)} of records failed" if rate is not None else "some records failed"
    if outcome == PARTIAL:
        if records.processed is not None and records.total and records.processed < records.total:
            return f"{percent(records.processed / records.total)} of records processed"
        return f"{percent(rate)} of records failed" if rate else None
    if outcome == EXPIRED and records.processed == 0:
        return "no record was processed"
    return None
