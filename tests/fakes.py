"""In-memory stand-ins with the same interface as the poller's adapters, for fast property tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from notifier.core.jobs import JobSnapshot
from notifier.poller.publisher import PublishOutcome


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

    def get(self, job_arn: str) -> JobSnapshot | None:
        self.calls += 1
        for job in self.jobs:
            if job.arn == job_arn and job.submit_time <= self.now:
                return self.snapshot(job)
        return None


@dataclass
class CapturingPublisher:
    """Accepts every notice and keeps it, in order."""

    notices: list = field(default_factory=list)
    fail: bool = False

    def publish(self, notices, time_left) -> PublishOutcome:
        outcome = PublishOutcome()
        for key, notice in notices:
            if self.fail:
                outcome.failed.append(key)
            else:
                self.notices.append(notice)
                outcome.published.append(key)
        return outcome
