"""Fault paths of the poller: crashes between steps, SNS outages, overlapping runs, the timeout guard."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
import pytest

from notifier.poller.entry import Dependencies
from notifier.poller.job_store import StateStore
from notifier.poller.publisher import NoticePublisher, PublishOutcome
from tests.conftest import FakeLambdaContext
from tests.fixtures.aws import REGION
from tests.integration.poller_harness import Harness, subscribe_queue

SCHEDULE = timedelta(minutes=5)


class SimulatedCrash(Exception):
    """The Lambda process dying at a chosen point."""


class CrashingStore(StateStore):
    def __init__(self, table: str, crash_after: str) -> None:
        super().__init__(table)
        self.crash_after = crash_after

    def record(self, changes, now, ttl, claim=None):  # type: ignore[no-untyped-def]
        if self.crash_after == "half-recorded":
            super().record(changes[: len(changes) // 2], now, ttl, claim)
            raise SimulatedCrash
        result = super().record(changes, now, ttl, claim)
        if self.crash_after == "record":
            raise SimulatedCrash
        return result

    def save_cursor(self, cursor, now):  # type: ignore[no-untyped-def]
        result = super().save_cursor(cursor, now)
        if self.crash_after == "save_cursor":
            raise SimulatedCrash
        return result

    def clear_published(self, job_arn, transition_ids, pending_count):  # type: ignore[no-untyped-def]
        super().clear_published(job_arn, transition_ids, pending_count)
        if self.crash_after == "clear_published":
            raise SimulatedCrash


class CrashingPublisher(NoticePublisher):
    def publish(self, notices, time_left, settle=None) -> PublishOutcome:  # type: ignore[no-untyped-def]
        super().publish(notices, time_left)
        raise SimulatedCrash  # after SNS accepted them, before the table heard of it


def start_jobs(harness: Harness) -> set[tuple[str, str]]:
    """Baseline, then four jobs that each need one notification."""
    bedrock = harness.bedrock
    old = bedrock.create_job("old", submit_time=bedrock.now() - timedelta(hours=5), status="InProgress")
    harness.poll()
    bedrock.set_status(old, "Completed")
    expected = {(old, "Completed")}
    for index in range(3):
        arn = bedrock.create_job(f"new-{index}", status="InProgress")
        expected.add((arn, "InProgress"))
    return expected


@pytest.mark.parametrize("crash_after", ["half-recorded", "record", "save_cursor", "publish", "clear_published"])
def test_a_crash_between_any_two_steps_loses_no_transition(harness, crash_after):
    expected = start_jobs(harness)
    store = CrashingStore(harness.table, crash_after)
    publisher: NoticePublisher = NoticePublisher(harness.topic_arn, 9, sleep=harness.pace.sleep)
    if crash_after == "publish":
        publisher = CrashingPublisher(harness.topic_arn, 9, sleep=harness.pace.sleep)
    deps = Dependencies(
        bedrock=harness.dependencies().bedrock, store=store, publisher=publisher, clock=harness.bedrock.now
    )
    with pytest.raises(SimulatedCrash):
        harness.poll(dependencies=deps)
    # The dead run's claims hold until its own timeout has passed; the next scheduled run comes later than that.
    harness.bedrock.advance(SCHEDULE)
    harness.poll()
    harness.bedrock.advance(SCHEDULE)
    harness.poll()
    delivered = Counter((d["jobArn"], d["status"]) for d in harness.notices())
    assert set(delivered) == expected
    assert len({d["transitionId"] for d in harness.notices()}) == len(expected)
    # at least once: a repeat can only follow a crash after SNS accepted the notices
    if crash_after not in {"publish", "clear_published"}:
        assert all(count == 1 for count in delivered.values())
    assert not any("pending" in item for item in harness.table_items())


def test_sns_failing_then_recovering_publishes_everything_once(harness):
    sns = boto3.client("sns", region_name=REGION)
    expected = start_jobs(harness)
    sns.delete_topic(TopicArn=harness.topic_arn)  # every publish now fails with NotFound
    summary = harness.poll()
    assert summary["published"] == 0
    assert summary["publishFailures"] == len(expected)
    assert sum(1 for item in harness.table_items() if "pending" in item) == len(expected)
    assert sns.create_topic(Name=harness.topic_arn.rsplit(":", 1)[1])["TopicArn"] == harness.topic_arn
    harness.queue_url = subscribe_queue(harness.topic_arn, "observer-again")
    summary = harness.poll()
    assert summary["published"] == len(expected)
    assert {(d["jobArn"], d["status"]) for d in harness.notices()} == expected
    assert len(harness.received) == len(expected)


def test_dynamodb_unavailable_mid_poll_loses_nothing(harness, monkeypatch):
    expected = start_jobs(harness)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    broken = Dependencies(
        bedrock=harness.dependencies().bedrock,
        store=StateStore(harness.table),
        publisher=harness.dependencies().publisher,
    )
    with pytest.raises(Exception, match="DynamoDB"):
        harness.poll(dependencies=broken)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    harness.poll()
    assert {(d["jobArn"], d["status"]) for d in harness.notices()} == expected


def test_two_overlapping_polls_record_each_transition_once(harness):
    bedrock = harness.bedrock
    harness.poll()
    arns = [bedrock.create_job(f"overlap-{i}", status="InProgress") for i in range(40)]
    bedrock.add_latency("ListModelInvocationJobs", 0.3)  # both runs list before either writes
    reports: list[dict[str, Any]] = []

    def run() -> None:
        reports.append(harness.poll(dependencies=harness.dependencies()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["transitions"].get("InProgress", 0) for r in reports) == len(arns)
    harness.poll()
    documents = harness.notices()
    assert {d["jobArn"] for d in documents} == set(arns)
    # a notice may reach SNS twice when both runs publish it, always under one transitionId
    assert len({d["transitionId"] for d in documents}) == len(arns)


class ShrinkingContext(FakeLambdaContext):
    """A Lambda whose remaining time drops by `step_ms` at every look."""

    def __init__(self, start_ms: int, step_ms: int) -> None:
        super().__init__(remaining_ms=start_ms)
        self.step_ms = step_ms

    def get_remaining_time_in_millis(self) -> int:
        self.remaining_ms = max(0, self.remaining_ms - self.step_ms)
        return self.remaining_ms


def test_timeout_guard_stops_saves_and_the_next_run_goes_on(harness):
    bedrock = harness.bedrock
    harness.poll()
    arns = bedrock.create_jobs(2100, step=timedelta(milliseconds=50))
    running = bedrock.create_job("running", status="InProgress")
    # 30 s reserve: the first page leaves too little time for a second
    summary = harness.poll(context=ShrinkingContext(start_ms=95_000, step_ms=20_000))
    assert summary["complete"] is False
    items = {i["jobArn"]["S"] for i in harness.table_items() if i["pk"]["S"].startswith("JOB#")}
    assert 0 < len(items) < len(arns)
    summary = harness.poll()
    assert summary["complete"] is True
    items = {i["jobArn"]["S"] for i in harness.table_items() if i["pk"]["S"].startswith("JOB#")}
    assert items == {*arns, running}
    assert [d["jobArn"] for d in harness.notices()] == [running]
