"""Property: whatever the lifecycles and poll times, every status a poll could observe is published exactly
once, and no job that is not terminal is ever dropped from tracking.

The poll runs against in-memory ports; the job store fake honours the DynamoDB store's conditional writes
(tests/integration/test_job_store_contract.py holds the two to the same behaviour)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.core.jobs import KNOWN_STATUSES, NON_TERMINAL_STATUSES, TERMINAL_STATUSES, is_terminal
from notifier.core.settings import PollerSettings
from notifier.poller.poll import Deadline, Poll
from tests.unit.fakes import CapturingPublisher, FakeBedrock, FakeJob, InMemoryJobStore

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

T0 = datetime(2026, 6, 1, tzinfo=UTC)
OVERLAP = timedelta(minutes=10)

lifecycle = st.tuples(
    st.integers(min_value=0, max_value=6 * 3600),  # submitted, seconds after T0
    st.lists(st.sampled_from([*NON_TERMINAL_STATUSES[1:], "Archived"]), max_size=3, unique=True),  # on the way
    st.one_of(st.none(), st.sampled_from(sorted(TERMINAL_STATUSES))),  # the end, or still running
    st.lists(st.one_of(st.integers(1, 300), st.integers(301, 3 * 3600)), min_size=4, max_size=4),  # step gaps
    st.integers(min_value=0, max_value=int(OVERLAP.total_seconds()) - 1),  # listing lag, within the overlap
)


def build_job(index: int, spec: tuple) -> FakeJob:
    submitted, middle, end, gaps, lag = spec
    submit = T0 + timedelta(seconds=submitted)
    statuses = ["Submitted", *middle] + ([end] if end else [])
    steps, moment = [], submit
    for status, gap in zip(statuses, [0, *gaps], strict=False):
        moment += timedelta(seconds=gap)
        steps.append((moment, status))
    return FakeJob(
        f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/job{index:04d}",
        f"job-{index}",
        submit,
        steps,
        submit + timedelta(seconds=lag),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(lifecycle, min_size=1, max_size=8),
    poll_offsets=st.lists(st.integers(min_value=60, max_value=8 * 3600), min_size=1, max_size=12),
    skew=st.integers(min_value=-600, max_value=600),
)
def test_every_observable_status_is_published_once_and_open_jobs_stay_tracked(specs, poll_offsets, skew):
    jobs = [build_job(i, spec) for i, spec in enumerate(specs)]
    bedrock = FakeBedrock(jobs, now=T0)
    store = InMemoryJobStore()
    publisher = CapturingPublisher()
    poller_settings = PollerSettings(
        state_table_name="state",
        topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:t",
        notify_statuses=KNOWN_STATUSES,
        notify_on_first_run=True,
        overlap=OVERLAP,
    )
    observable: set[tuple[str, str]] = set()
    last_seen: dict[str, str] = {}
    for offset in sorted(set(poll_offsets)):
        bedrock.now = T0 + timedelta(seconds=offset)
        for job in jobs:
            if job.submit_time <= bedrock.now and job.visible_from <= bedrock.now:
                status, _ = job.status_at(bedrock.now)
                observable.add((job.arn, status))
                last_seen[job.arn] = status
        poll = Poll(
            bedrock,
            store,
            publisher,
            poller_settings,
            region=REGION,
            account_id=ACCOUNT_ID,
            deadline=Deadline(lambda: 300_000, timedelta(seconds=30)),
            clock=lambda: bedrock.now + timedelta(seconds=skew),
        )
        poll.run()
        tracked = set(store.open_jobs())
        still_running = {arn for arn, status in last_seen.items() if not is_terminal(status)}
        assert still_running <= tracked, "a job that is not terminal was dropped from tracking"

    published = [(n.job_arn, n.status) for n in publisher.notices]
    assert len(published) == len(set(published)), "a transition was published twice"
    assert set(published) == observable
