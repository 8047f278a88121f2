"""What one poll needs from the outside world, as three small interfaces.

`notifier.poller.bedrock`, `notifier.poller.job_store` and `notifier.poller.publisher` are the real adapters;
the unit tests' in-memory fakes and the read-only preview's wrappers implement the same interfaces, so a poll
runs the same code against any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Protocol

from notifier.core.jobs import JobSnapshot
from notifier.core.notice import Notice
from notifier.poller.job_store import Claim, Cursor, PendingNotice
from notifier.poller.publisher import PublishOutcome, Settle
from notifier.poller.rules import Change, StoredJob


class JobSource(Protocol):
    """Bedrock's ListModelInvocationJobs and GetModelInvocationJob."""

    def list_pages(
        self,
        *,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        status: str | None = None,
    ) -> Iterator[list[JobSnapshot]]: ...

    def get(self, job_arn: str) -> JobSnapshot | None: ...

    def limit_calls_to(self, time_left: Callable[[], float] | None) -> None: ...

    def server_time(self) -> datetime | None:
        """Bedrock's clock when it answered the last call (its Date header), or None when it did not say."""
        ...


class JobStore(Protocol):
    """Job states, their unpublished notices and the poll cursor, written with conditional writes: a change
    is recorded only when the stored status is still the one it was diffed against, and the watermark
    only moves forward."""

    def load_cursor(self) -> Cursor | None: ...

    def save_cursor(self, cursor: Cursor, now: datetime) -> bool: ...

    def open_jobs(self) -> dict[str, StoredJob]: ...

    def get_jobs(self, job_arns: Iterable[str]) -> dict[str, StoredJob]: ...

    def record(
        self, changes: list[Change], now: datetime, ttl: timedelta, claim: Claim | None = None
    ) -> tuple[list[Change], list[Change]]: ...

    def retire(self, job: StoredJob, now: datetime, ttl: timedelta, reason: str) -> bool: ...

    def note_missing(self, job: StoredJob, now: datetime) -> bool: ...

    def pending_notices(self) -> list[PendingNotice]: ...

    def claim(self, job_arns: list[str], claim: Claim, now: datetime) -> dict[str, dict[str, Notice]]: ...

    def release(self, job_arns: list[str], claim: Claim) -> None: ...

    def clear_published(self, job_arn: str, transition_ids: list[str], pending_count: int) -> None: ...


class NoticeSink(Protocol):
    """SNS: publishes (key, notice) pairs in order while there is time for another batch, telling `settle` the
    keys of each batch as soon as SNS accepted them."""

    def publish(
        self, notices: list[tuple[str, Notice]], time_left: Callable[[], float], settle: Settle | None = None
    ) -> PublishOutcome: ...
