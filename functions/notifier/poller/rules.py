"""Pure decisions of the poller: what a snapshot means against what the table holds.

Nothing here does I/O; the poll orchestration (notifier.poller.poll) feeds it and acts on what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from notifier.core.jobs import KNOWN_STATUSES, JobSnapshot, is_terminal
from notifier.core.notice import Notice


@dataclass(frozen=True)
class StoredJob:
    """The table's view of a job: enough to diff and to condition the next write on."""

    job_arn: str
    status: str
    submit_time: datetime
    last_modified_time: datetime | None = None
    pending: dict[str, Notice] = field(default_factory=dict, compare=False)  # unpublished notices by transitionId


@dataclass(frozen=True)
class NotifyRule:
    """Which transitions are published. Unknown statuses are always published (the API grows)."""

    statuses: frozenset[str]
    job_name_patterns: tuple[str, ...] = ()
    model_id_patterns: tuple[str, ...] = ()

    def wants(self, job: JobSnapshot) -> bool:
        if job.status in KNOWN_STATUSES and job.status not in self.statuses:
            return False
        if self.job_name_patterns and not any(fnmatchcase(job.job_name, p) for p in self.job_name_patterns):
            return False
        return not self.model_id_patterns or any(fnmatchcase(job.model_id, p) for p in self.model_id_patterns)


@dataclass(frozen=True)
class Change:
    """A status the table has not recorded yet. `notice` is None when it is recorded silently."""

    job: JobSnapshot
    previous: StoredJob | None
    notice: Notice | None

    @property
    def previous_status(self) -> str | None:
        return self.previous.status if self.previous else None


def is_stale(observed: JobSnapshot, stored: StoredJob) -> bool:
    """A listing may lag behind a Get: never step back from a terminal status or to an older modification."""
    if is_terminal(stored.status) and observed.status != stored.status:
        return True
    return (
        observed.last_modified_time is not None
        and stored.last_modified_time is not None
        and observed.last_modified_time < stored.last_modified_time
    )


def detect_change(
    observed: JobSnapshot,
    stored: StoredJob | None,
    *,
    silent: bool,
    rule: NotifyRule,
    region: str,
    account_id: str,
    detected_at: datetime,
) -> Change | None:
    """The change to record for one observed job, or None when the table already knows this status."""
    if stored is not None and (stored.status == observed.status or is_stale(observed, stored)):
        return None
    notice = None
    if not silent and rule.wants(observed):
        previous_status = stored.status if stored else None
        notice = Notice.for_transition(observed, previous_status, region, account_id, detected_at)
    return Change(job=observed, previous=stored, notice=notice)


def listing_start(watermark: datetime | None, overlap: timedelta, now: datetime, lookback: timedelta) -> datetime:
    """submitTimeAfter for the listing of new jobs: behind the watermark by the overlap, or the lookback on a first run."""
    if watermark is None:
        return now - lookback
    return watermark - overlap


def advance_watermark(current: datetime | None, seen: list[JobSnapshot]) -> datetime | None:
    """The newest submitTime seen, never moving backwards (Bedrock's clock, not the Lambda's)."""
    newest = max((job.submit_time for job in seen), default=None)
    if newest is None:
        return current
    return newest if current is None or newest > current else current
