"""Publishing under pressure: SNS's size limits, a backlog longer than one run, runs at once, warm runs.

Time is the tests' own: the publisher's clock moves only when it waits for the next second, and the Lambda's
remaining time follows that clock, so the results do not depend on how fast this machine is.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from notifier.core.table_layout import SEND_WINDOW_PARTITION
from notifier.poller import entry as poller
from notifier.poller.publisher import NoticePublisher
from tests.conftest import FakeLambdaContext
from tests.integration.poller_harness import SCHEDULED_EVENT, Harness, PaceClock, state_change_event
from tests.integration.test_poller_faults import SCHEDULE, SimulatedCrash

SNS_REQUEST_LIMIT = 256 * 1024


class PacedContext(FakeLambdaContext):
    """A Lambda context whose remaining time runs on the publisher's clock."""

    def __init__(self, pace: PaceClock, timeout_ms: int) -> None:
        super().__init__(remaining_ms=timeout_ms)
        self.pace = pace
        self.started = pace.now
        self.timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (self.pace.now - self.started) * 1000)


def dependencies_watching_sns(harness: Harness, sizes: list[int]) -> poller.Dependencies:
    """The stack's adapters, with every PublishBatch request's aggregate size kept as it goes out."""
    deps = harness.dependencies()
    client = deps.publisher._client  # type: ignore[attr-defined]

    def before_call(params: dict[str, Any], **_: Any) -> None:
        entries = params["PublishBatchRequestEntries"]
        sizes.append(sum(len(e["Message"].encode()) + len(e.get("Subject", "").encode()) for e in entries))

    client.meta.events.register("provide-client-params.sns.PublishBatch", before_call)
    return deps


def test_failed_jobs_with_long_non_ascii_messages_are_all_published_in_one_poll(harness: Harness) -> None:
    bedrock = harness.bedrock
    harness.poll()  # the baseline
    reason = "Échec de validation : l'enregistrement n° 17 du fichier d'entrée est invalide — « jeton » ✗ " * 40
    arns = [bedrock.create_job(f"failing-{index}", status="InProgress") for index in range(15)]
    for arn in arns:
        bedrock.set_status(arn, "Failed", message=reason)
    sizes: list[int] = []
    summary = harness.poll(dependencies=dependencies_watching_sns(harness, sizes))

    assert summary["published"] == 15
    assert summary["publishFailures"] == 0
    failed = [d for d in harness.notices() if d["status"] == "Failed"]
    assert len(failed) == 15
    assert all(d["message"] == reason for d in failed), "each message reaches subscribers whole"
    assert all(size <= SNS_REQUEST_LIMIT for size in sizes)


def test_a_backlog_longer_than_one_run_is_published_once_across_runs(harness: Harness) -> None:
    """400 notices, 36 s runs with a 30 s reserve: each run publishes what it has time for, clears it as it
    goes and stops before its timeout; the next run publishes the rest. Nothing is sent twice."""
    bedrock = harness.bedrock
    harness.poll()
    bedrock.create_jobs(400, status="InProgress")
    runs = []
    while len(runs) < 5:
        context = PacedContext(harness.pace, timeout_ms=36_000)
        summary = harness.poll(context=context)
        runs.append((summary["published"], context.get_remaining_time_in_millis()))
        if not any("pending" in item for item in harness.table_items()):
            break
        bedrock.advance(SCHEDULE)
    published = Counter(d["transitionId"] for d in harness.notices())
    assert len(published) == 400
    assert set(published.values()) == {1}, "no notice was published twice"
    assert len(runs) > 1, "one run could not have published 400 at 9 a second"
    assert all(remaining > 0 for _, remaining in runs), f"a run overran its timeout: {runs}"


class CrashAfterBatches(NoticePublisher):
    """SNS accepts the batches, then the process dies after the n-th, before its clear."""

    def __init__(self, *args: Any, batches: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.left = batches

    def _send(self, batch: Any, outcome: Any) -> list[str]:
        accepted = super()._send(batch, outcome)
        self.left -= 1
        if self.left == 0:
            raise SimulatedCrash
        return accepted


def test_a_run_killed_while_publishing_repeats_at_most_the_batch_in_flight(harness: Harness) -> None:
    bedrock = harness.bedrock
    harness.poll()
    bedrock.create_jobs(100, status="InProgress")
    deps = harness.dependencies()
    crashing = CrashAfterBatches(
        harness.topic_arn,
        9,
        window=deps.store,  # type: ignore[arg-type]
        sleep=harness.pace.sleep,
        wall_clock=harness.pace.time,
        monotonic=harness.pace.time,
        batches=4,
    )
    with pytest.raises(SimulatedCrash):
        harness.poll(dependencies=poller.Dependencies(deps.bedrock, deps.store, crashing, clock=bedrock.now))
    for _ in range(3):
        bedrock.advance(SCHEDULE)  # the dead run's claims lapse after its timeout
        harness.poll()
    published = Counter(d["transitionId"] for d in harness.notices())
    assert len(published) == 100
    assert sum(published.values()) - 100 <= 9, "only the batch SNS took before the crash may repeat"


def run_at_once(runs: list[tuple[dict[str, Any], poller.Dependencies]]) -> None:
    """Starts every run together, each on its own thread as concurrent Lambda invocations would be."""
    errors: list[Exception] = []
    barrier = threading.Barrier(len(runs))

    def run(event: dict[str, Any], deps: poller.Dependencies) -> None:
        barrier.wait()
        try:
            poller.handler(event, FakeLambdaContext(), dependencies=deps)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=item) for item in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_two_event_runs_and_a_scheduled_poll_at_once_publish_each_transition_once(harness: Harness) -> None:
    """Reserved concurrency off: runs overlap. Claims keep each notice to one run; the shared send window keeps
    the runs together under the email limit."""
    bedrock = harness.bedrock
    harness.poll()
    arns = [bedrock.create_job(f"busy-{index}", status="InProgress") for index in range(20)]
    harness.poll()  # 20 InProgress notices
    expected = 20
    for round_ in ("Completed", "Stopped"):
        for arn in arns[:10] if round_ == "Completed" else arns[10:]:
            bedrock.set_status(arn, round_)
        expected += 10
        runs = [
            (SCHEDULED_EVENT, harness.dependencies()),
            (state_change_event(arns[0], round_), harness.dependencies()),
            (state_change_event(arns[-1], round_), harness.dependencies()),
        ]
        run_at_once(runs)
        bedrock.advance(SCHEDULE)
        harness.poll()  # whatever a run left to a claim or a conflict, the next scheduled poll sends
    published = Counter(d["transitionId"] for d in harness.notices())
    assert sum(published.values()) == expected == len(published)
    tallies = [int(item["sent"]["N"]) for item in harness.table_items() if item["pk"]["S"] == SEND_WINDOW_PARTITION]
    assert tallies, "the runs shared the state table's send window"
    assert max(tallies) <= 9


def test_back_to_back_events_on_a_warm_function_never_wait(harness: Harness) -> None:
    """A warm function handling one event after another: each publishes at once, no pause carried over."""
    bedrock = harness.bedrock
    harness.poll()
    deps = harness.dependencies()  # one warm container
    arns = [bedrock.create_job(f"quick-{index}", status="InProgress") for index in range(5)]
    harness.pace.waited = 0.0
    for arn in arns:
        summary = poller.handler(state_change_event(arn, "InProgress"), FakeLambdaContext(), dependencies=deps)
        assert summary["published"] == 1
    assert harness.pace.waited == 0.0
    assert len(harness.notices()) == 5
