"""In-memory implementations of the poller's ports (notifier.poller.ports), for unit and property tests.

InMemoryJobStore keeps the DynamoDB store's conditional-write semantics; tests/integration/test_job_store_contract.py
runs the same scenarios against it and against the real store on moto, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from notifier.core.jobs import JobSnapshot, is_terminal
from notifier.core.notice import Notice
from notifier.poller.job_store import Claim, Cursor, PendingNotice, pending_after
from notifier.poller.publisher import PublishOutcome, Settle
from notifier.poller.rules import Change, StoredJob


@dataclass
class FakeJob:
    arn: str
    name: str
    submit_time: datetime
    steps: list[tuple[datetime, str]]  # (when, status), sorted, the first at submit_time
    visible_from: datetime  # listings do not show the job before this (Get does)

    def status_at(self, moment: datetime) -> tuple[str, datetime]:
        status, changed = self.steps[0][1], self.steps[0][0]
        for when, step in self.steps:
            if when <= moment:
                status, changed = step, when
        return status, changed


@dataclass
class FakeBedrock:
    """ListModelInvocationJobs and GetModelInvocationJob over a set of scripted lifecycles."""

    jobs: list[FakeJob]
    now: datetime
    page_size: int = 3
    calls: int = 0
    queries: list[dict[str, object]] = field(default_factory=list)  # each listing's query, once per listing
    gets: list[str] = field(default_factory=list)

    def snapshot(self, job: FakeJob) -> JobSnapshot:
        status, changed = job.status_at(self.now)
        return JobSnapshot(
            job_arn=job.arn,
            job_name=job.name,
            model_id="amazon.nova-lite-v1:0",
            status=status,
            submit_time=job.submit_time,
            last_modified_time=changed,
        )

    def list_pages(
        self,
        *,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        status: str | None = None,
    ) -> Iterator[list[JobSnapshot]]:
        self.queries.append({"after": submitted_after, "before": submitted_before, "status": status})
        matching = []
        for job in sorted(self.jobs, key=lambda j: (j.submit_time, j.arn)):
            if job.submit_time > self.now or job.visible_from > self.now:
                continue
            if submitted_after is not None and not job.submit_time > submitted_after:
                continue
            if submitted_before is not None and not job.submit_time < submitted_before:
                continue
            snap = self.snapshot(job)
            if status is not None and snap.status != status:
                continue
            matching.append(snap)
        for start in range(0, max(len(matching), 1), self.page_size):
            self.calls += 1
            yield matching[start : start + self.page_size]

    def limit_calls_to(self, time_left: object) -> None:
        """Calls here take no time."""

    def server_time(self) -> datetime | None:
        """Bedrock's clock as a Date header gives it: to the whole second."""
        return self.now.replace(microsecond=0)

    def get(self, job_arn: str) -> JobSnapshot | None:
        self.calls += 1
        self.gets.append(job_arn)
        for job in self.jobs:
            if job.arn == job_arn and job.submit_time <= self.now:
                return self.snapshot(job)
        return None


@dataclass
class CapturingPublisher:
    """Accepts every notice and keeps it, in order."""

    notices: list[Notice] = field(default_factory=list)
    fail: bool = False

    def publish(
        self, notices: list[tuple[str, Notice]], time_left: Callable[[], float], settle: Settle | None = None
    ) -> PublishOutcome:
        outcome = PublishOutcome()
        for key, notice in notices:
            if self.fail:
                outcome.failed.append(key)
            else:
                self.notices.append(notice)
                outcome.published.append(key)
        if settle and outcome.published:
            settle(outcome.published)
        return outcome


@dataclass
class _Item:
    job: StoredJob
    claim: Claim | None = None

    def claimed_by_other(self, claim: Claim | None, now: datetime) -> bool:
        if self.claim is None or self.claim.lapsed_at() < int(now.timestamp()):
            return False
        return claim is None or self.claim.owner != claim.owner


class InMemoryJobStore:
    """The state table as a dict, with the DynamoDB store's conditions: a change is written only when the
    stored status is the one it was diffed against (or, for a new job, when nothing is stored), a retire only
    when the status is unchanged, and the watermark only moves forward."""

    def __init__(self) -> None:
        self.items: dict[str, _Item] = {}
        self.cursor: Cursor | None = None
        self.writes = 0
        self.read: list[str] = []  # every job ARN get_jobs was asked for

    def load_cursor(self) -> Cursor | None:
        return self.cursor

    def save_cursor(self, cursor: Cursor, now: datetime) -> bool:
        stored = self.cursor.watermark if self.cursor else None
        if stored is not None and cursor.watermark is not None and cursor.watermark < stored:
            return False
        if stored is not None and cursor.watermark is None:
            return False
        self.cursor = cursor
        self.writes += 1
        return True

    def open_jobs(self) -> dict[str, StoredJob]:
        return {
            arn: item.job
            for arn, item in self.items.items()
            if item.job.retired is None and not is_terminal(item.job.status)
        }

    def get_jobs(self, job_arns: Iterable[str]) -> dict[str, StoredJob]:
        arns = list(job_arns)
        self.read += arns
        return {arn: self.items[arn].job for arn in arns if arn in self.items}

    def record(
        self, changes: list[Change], now: datetime, ttl: timedelta, claim: Claim | None = None
    ) -> tuple[list[Change], list[Change]]:
        recorded: list[Change] = []
        conflicts: list[Change] = []
        for change in changes:
            stored = self.items.get(change.job.job_arn)
            if change.previous is None:
                written = stored is None
            else:
                written = (
                    stored is not None
                    and stored.job.status == change.previous.status
                    and not stored.claimed_by_other(claim, now)
                    and set(change.previous.pending) <= set(stored.job.pending)
                )
            if not written:
                conflicts.append(change)
                continue
            job = change.job
            previous = change.previous
            self.items[job.job_arn] = _Item(
                StoredJob(
                    job.job_arn,
                    job.status,
                    job.submit_time,
                    job.last_modified_time,
                    pending_after(change),
                    previous_status=change.previous_status
                    if change.is_transition
                    else (previous.previous_status if previous else None),
                    statuses=(previous.statuses if previous else frozenset()) | {job.status},
                ),
                claim=claim if claim and pending_after(change) else None,
            )
            self.writes += 1
            recorded.append(change)
        return recorded, conflicts

    def retire(self, job: StoredJob, now: datetime, ttl: timedelta, reason: str) -> bool:
        stored = self.items.get(job.job_arn)
        if stored is None or stored.job.status != job.status:
            return False
        stored.job = replace(stored.job, retired=reason, misses=0, missing_since=None)
        self.writes += 1
        return True

    def note_missing(self, job: StoredJob, now: datetime) -> bool:
        stored = self.items.get(job.job_arn)
        if stored is None or stored.job.status != job.status:
            return False
        stored.job = replace(stored.job, misses=stored.job.misses + 1, missing_since=stored.job.missing_since or now)
        self.writes += 1
        return True

    def pending_notices(self) -> list[PendingNotice]:
        return [
            PendingNotice(arn, transition, notice)
            for arn, item in self.items.items()
            for transition, notice in item.job.pending.items()
        ]

    def claim(self, job_arns: list[str], claim: Claim, now: datetime) -> dict[str, dict[str, Notice]]:
        claimed = {}
        for arn in job_arns:
            stored = self.items.get(arn)
            if stored is None or not stored.job.pending or stored.claimed_by_other(claim, now):
                continue
            stored.claim = claim
            self.writes += 1
            claimed[arn] = dict(stored.job.pending)
        return claimed

    def release(self, job_arns: list[str], claim: Claim) -> None:
        for arn in job_arns:
            stored = self.items.get(arn)
            if stored is not None and stored.claim is not None and stored.claim.owner == claim.owner:
                stored.claim = None
                self.writes += 1

    def clear_published(self, job_arn: str, transition_ids: list[str], pending_count: int) -> None:
        stored = self.items.get(job_arn)
        if stored is None or not stored.job.pending:
            return  # an overlapping poll cleared it already
        left = {tid: notice for tid, notice in stored.job.pending.items() if tid not in transition_ids}
        stored.job = replace(stored.job, pending=left)
        if not left:
            stored.claim = None
        self.writes += 1
