"""The same scenarios against the DynamoDB job store on moto and against the unit tests' in-memory fake: the
fake honours the real store's conditional writes, so tests that run on the fake prove something about the real one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from notifier.core.jobs import JobSnapshot
from notifier.core.notice import Notice
from notifier.core.table_layout import create_table_request
from notifier.poller.job_store import Claim, Cursor, StateStore
from notifier.poller.ports import JobStore
from notifier.poller.publisher import LocalSendWindow, SendWindow
from notifier.poller.rules import Change, StoredJob
from tests.fixtures.aws import ACCOUNT_ID, REGION
from tests.unit.fakes import InMemoryJobStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(days=30)
ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/contract0001"


@pytest.fixture(params=["in-memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> JobStore:
    if request.param == "in-memory":
        return InMemoryJobStore()
    request.getfixturevalue("aws")
    table = f"contract-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", region_name=REGION).create_table(**create_table_request(table))
    return StateStore(table, sleep=lambda _: None)


def snapshot(status: str, arn: str = ARN, minute: int = 0) -> JobSnapshot:
    return JobSnapshot(
        job_arn=arn,
        job_name="contract-job",
        model_id="amazon.nova-lite-v1:0",
        status=status,
        submit_time=NOW - timedelta(hours=1),
        last_modified_time=NOW + timedelta(minutes=minute),
    )


def change(status: str, previous: StoredJob | None, *, notify: bool = True, arn: str = ARN) -> Change:
    job = snapshot(status, arn)
    notice = (
        Notice.for_transition(job, previous.status if previous else None, REGION, ACCOUNT_ID, NOW) if notify else None
    )
    return Change(job=job, previous=previous, notice=notice)


def record_one(store: JobStore, made: Callable[[], Change]) -> bool:
    recorded, conflicts = store.record([made()], NOW, TTL)
    assert len(recorded) + len(conflicts) == 1
    return bool(recorded)


def test_a_new_job_is_recorded_once(store: JobStore) -> None:
    assert record_one(store, lambda: change("Submitted", None))
    assert not record_one(store, lambda: change("Submitted", None)), "a second first sighting must conflict"

    [stored] = store.get_jobs([ARN]).values()
    assert stored.status == "Submitted"


def test_a_change_is_recorded_only_against_the_status_it_was_diffed_with(store: JobStore) -> None:
    record_one(store, lambda: change("Submitted", None))
    submitted = store.get_jobs([ARN])[ARN]

    assert record_one(store, lambda: change("InProgress", submitted))
    assert not record_one(store, lambda: change("Failed", submitted)), "an overlapping poll diffed a stale status"
    assert store.get_jobs([ARN])[ARN].status == "InProgress"


def test_open_jobs_are_the_non_terminal_ones_not_retired(store: JobStore) -> None:
    other = ARN.replace("0001", "0002")
    record_one(store, lambda: change("InProgress", None))
    record_one(store, lambda: change("Completed", None, arn=other))

    assert set(store.open_jobs()) == {ARN}

    running = store.open_jobs()[ARN]
    assert store.note_missing(running, NOW)
    assert not store.note_missing(StoredJob(ARN, "Submitted", running.submit_time), NOW), "conditional"
    assert store.get_jobs([ARN])[ARN].misses == 1
    assert not store.retire(StoredJob(ARN, "Submitted", running.submit_time), NOW, TTL, "missing"), "conditional"
    assert store.retire(running, NOW, TTL, "missing")
    assert store.open_jobs() == {}
    assert store.get_jobs([ARN])[ARN].retired == "missing"
    assert store.get_jobs([ARN, other]).keys() == {ARN, other}  # retired and finished jobs are still readable


def test_notices_stay_pending_until_cleared_and_a_partial_clear_keeps_the_rest(store: JobStore) -> None:
    record_one(store, lambda: change("Submitted", None))
    first = store.get_jobs([ARN])[ARN]
    record_one(store, lambda: change("InProgress", first))

    pending = {p.transition_id: p for p in store.pending_notices()}
    assert sorted(p.notice.status for p in pending.values()) == ["InProgress", "Submitted"]
    assert {p.job_arn for p in pending.values()} == {ARN}
    assert store.get_jobs([ARN])[ARN].pending.keys() == pending.keys()

    [submitted_id] = [tid for tid, p in pending.items() if p.notice.status == "Submitted"]
    store.clear_published(ARN, [submitted_id], pending_count=1)  # a count that no longer matches the item
    assert [p.notice.status for p in store.pending_notices()] == ["InProgress"]

    [in_progress_id] = [p.transition_id for p in store.pending_notices()]
    store.clear_published(ARN, [in_progress_id], pending_count=1)
    store.clear_published(ARN, [in_progress_id], pending_count=1)  # an overlapping poll clearing again
    assert store.pending_notices() == []


def test_a_silent_change_leaves_nothing_pending(store: JobStore) -> None:
    record_one(store, lambda: change("Completed", None, notify=False))

    assert store.pending_notices() == []
    assert store.get_jobs([ARN])[ARN].pending == {}


def test_the_cursor_only_moves_forward(store: JobStore) -> None:
    assert store.load_cursor() is None
    assert store.save_cursor(Cursor(watermark=None, baseline_complete=False), NOW)
    assert store.save_cursor(Cursor(watermark=NOW, baseline_complete=True), NOW)

    assert not store.save_cursor(Cursor(watermark=NOW - timedelta(seconds=1), baseline_complete=True), NOW)
    assert not store.save_cursor(Cursor(watermark=None, baseline_complete=True), NOW)
    assert store.save_cursor(Cursor(watermark=NOW + timedelta(minutes=5), baseline_complete=True), NOW)
    assert store.load_cursor() == Cursor(watermark=NOW + timedelta(minutes=5), baseline_complete=True)


def claim_of(owner: str, minutes: int = 5) -> Claim:
    return Claim(owner=owner, until=NOW + timedelta(minutes=minutes))


def test_a_claim_is_held_by_one_run_until_it_lapses(store: JobStore) -> None:
    record_one(store, lambda: change("Failed", None))
    [left] = store.pending_notices()

    first = store.claim([ARN], claim_of("run-a"), NOW)
    assert first == {ARN: {left.transition_id: first[ARN][left.transition_id]}}
    assert store.claim([ARN], claim_of("run-b"), NOW) == {}, "another run's live claim"
    assert store.claim([ARN], claim_of("run-a"), NOW).keys() == {ARN}, "a run may renew its own claim"
    later = NOW + timedelta(minutes=6)
    assert store.claim([ARN], claim_of("run-b"), later).keys() == {ARN}, "a lapsed claim (its run died) is taken"


def test_nothing_pending_is_nothing_to_claim(store: JobStore) -> None:
    record_one(store, lambda: change("Completed", None, notify=False))
    assert store.claim([ARN, ARN.replace("0001", "0009")], claim_of("run-a"), NOW) == {}


def test_a_change_waits_while_another_run_publishes_the_jobs_notices(store: JobStore) -> None:
    record_one(store, lambda: change("InProgress", None))
    running = store.get_jobs([ARN])[ARN]
    assert store.claim([ARN], claim_of("run-a"), NOW)

    recorded, conflicts = store.record([change("Completed", running)], NOW, TTL, claim_of("run-b"))
    assert recorded == [], "rewriting the item would drop run-a's claim"
    assert len(conflicts) == 1
    recorded, _ = store.record([change("Completed", running)], NOW, TTL, claim_of("run-a"))
    assert len(recorded) == 1, "the claim's own run may record"


def test_a_notice_published_and_cleared_by_another_run_never_comes_back(store: JobStore) -> None:
    """Run A read the job with a notice pending; run B published and cleared it; A's later write must not
    carry the stale notice back into the outbox (it would be published twice)."""
    record_one(store, lambda: change("InProgress", None))
    read_by_a = store.get_jobs([ARN])[ARN]
    [left] = store.pending_notices()
    assert store.claim([ARN], claim_of("run-b"), NOW)
    store.clear_published(ARN, [left.transition_id], pending_count=1)

    recorded, conflicts = store.record([change("Completed", read_by_a)], NOW, TTL, claim_of("run-a"))
    assert recorded == []
    assert len(conflicts) == 1
    assert store.pending_notices() == []
    # Read again, the next poll records it with only its own notice.
    fresh = store.get_jobs([ARN])[ARN]
    recorded, _ = store.record([change("Completed", fresh)], NOW, TTL, claim_of("run-a"))
    assert [p.notice.status for p in store.pending_notices()] == ["Completed"]


def test_clearing_everything_releases_the_claim(store: JobStore) -> None:
    record_one(store, lambda: change("Failed", None))
    [left] = store.pending_notices()
    store.claim([ARN], claim_of("run-a"), NOW)
    store.clear_published(ARN, [left.transition_id], pending_count=1)
    failed = store.get_jobs([ARN])[ARN]
    recorded, _ = store.record([change("Stopped", failed)], NOW, TTL, claim_of("run-b"))
    assert len(recorded) == 1, "no claim is left behind once nothing is pending"


@pytest.fixture(params=["in-process", "dynamodb"])
def window(request: pytest.FixtureRequest) -> SendWindow:
    if request.param == "in-process":
        return LocalSendWindow()
    return _dynamodb_store(request)


def _dynamodb_store(request: pytest.FixtureRequest) -> StateStore:
    request.getfixturevalue("aws")
    table = f"window-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", region_name=REGION).create_table(**create_table_request(table))
    return StateStore(table, sleep=lambda _: None)


def test_the_send_window_admits_up_to_the_limit_in_each_second(window: SendWindow) -> None:
    assert window.reserve(100, 9, 9)
    assert not window.reserve(100, 1, 9)
    assert window.reserve(101, 5, 9)
    assert window.reserve(101, 4, 9)
    assert not window.reserve(101, 1, 9)


def test_a_released_claim_frees_the_job_for_the_next_run_at_once(store: JobStore) -> None:
    record_one(store, lambda: change("Failed", None))
    assert store.claim([ARN], claim_of("run-a"), NOW)
    store.release([ARN], claim_of("run-b"))  # not its claim: nothing changes
    assert store.claim([ARN], claim_of("run-c"), NOW) == {}
    store.release([ARN], claim_of("run-a"))
    assert store.claim([ARN], claim_of("run-c"), NOW).keys() == {ARN}


def test_the_cursor_keeps_the_finished_jobs_of_the_window_and_the_last_sweep(store: JobStore) -> None:
    finished = frozenset(f"job{i:09d}" for i in range(2000))
    assert store.save_cursor(Cursor(watermark=NOW, baseline_complete=True, finished=finished, swept_at=NOW), NOW)
    assert store.load_cursor() == Cursor(watermark=NOW, baseline_complete=True, finished=finished, swept_at=NOW)

    # the same watermark with fewer finished jobs (the window moved on) replaces the set
    later = NOW + timedelta(minutes=5)
    assert store.save_cursor(Cursor(watermark=NOW, baseline_complete=True, swept_at=later), later)
    assert store.load_cursor() == Cursor(watermark=NOW, baseline_complete=True, swept_at=later)
