"""Logs a person can read: a baseline or a bulk poll logs one summary at INFO and each job at DEBUG; a poll with a
few transitions logs each of them at INFO."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.jobs import KNOWN_STATUSES
from notifier.core.observability import logger
from notifier.core.settings import PollerSettings
from notifier.poller.poll import BULK_LOG_LIMIT, Deadline, Poll
from tests.unit.fakes import CapturingPublisher, FakeBedrock, FakeJob, InMemoryJobStore

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def jobs(count: int, start: datetime, status: str = "InProgress") -> list[FakeJob]:
    return [
        FakeJob(
            f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/log{start:%H%M}{i:05d}",
            f"job-{i}",
            start,
            [(start, "Submitted"), (start + timedelta(seconds=10), status)],
            start,
        )
        for i in range(count)
    ]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture):
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    logger.setLevel(level)


def poll(bedrock: FakeBedrock, store: InMemoryJobStore) -> None:
    settings = PollerSettings(
        state_table_name="state", topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:t", notify_statuses=KNOWN_STATUSES
    )
    Poll(
        bedrock,
        store,
        CapturingPublisher(),
        settings,
        region=REGION,
        account_id=ACCOUNT_ID,
        deadline=Deadline(lambda: 300_000, timedelta(seconds=30)),
        clock=lambda: bedrock.now,
    ).run()


def lines(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(message)]


def test_a_baseline_logs_a_summary_at_info_and_each_job_at_debug(debug_logs):
    bedrock = FakeBedrock(jobs(3, T0 - timedelta(hours=1)), now=T0)
    poll(bedrock, InMemoryJobStore())
    assert [r.levelname for r in lines(debug_logs, "Transition recorded")] == ["DEBUG"] * 3
    [summary] = lines(debug_logs, "Baseline recorded silently")
    assert summary.levelname == "INFO"
    assert summary.transitions == 3
    assert summary.by_status == {"InProgress": 3}


def test_a_poll_with_a_few_transitions_logs_each_at_info(debug_logs):
    store = InMemoryJobStore()
    bedrock = FakeBedrock([], now=T0)
    poll(bedrock, store)  # the baseline of an empty account
    bedrock.jobs = jobs(2, T0 + timedelta(minutes=1))
    bedrock.now = T0 + timedelta(minutes=5)
    debug_logs.clear()
    poll(bedrock, store)
    assert [r.levelname for r in lines(debug_logs, "Transition recorded")] == ["INFO"] * 2
    assert lines(debug_logs, "Many transitions") == []


def test_a_bulk_poll_logs_a_summary_at_info_and_each_transition_at_debug(debug_logs):
    store = InMemoryJobStore()
    bedrock = FakeBedrock([], now=T0, page_size=1000)
    poll(bedrock, store)
    bedrock.jobs = jobs(BULK_LOG_LIMIT + 1, T0 + timedelta(minutes=1), status="Completed")
    bedrock.now = T0 + timedelta(minutes=5)
    debug_logs.clear()
    poll(bedrock, store)
    recorded = lines(debug_logs, "Transition recorded")
    assert len(recorded) == BULK_LOG_LIMIT + 1
    assert {r.levelname for r in recorded} == {"DEBUG"}
    [summary] = lines(debug_logs, "Many transitions recorded")
    assert summary.levelname == "INFO"
    assert summary.by_status == {"Completed": BULK_LOG_LIMIT + 1}
    assert summary.notices == BULK_LOG_LIMIT + 1
