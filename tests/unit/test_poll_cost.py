"""What an idle or quiet poll costs: bounded by what is new or open, not by the last burst of jobs.

The listing window follows Bedrock's clock, finished jobs in it are not read again, and statuses are listed only
for tracked jobs older than the window, with a full sweep every FULL_SWEEP_EVERY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifier.core.jobs import KNOWN_STATUSES, NON_TERMINAL_STATUSES
from notifier.core.settings import PollerSettings
from notifier.poller.poll import Deadline, Poll
from notifier.poller.rules import FULL_SWEEP_EVERY
from tests.unit.fakes import CapturingPublisher, FakeBedrock, FakeJob, InMemoryJobStore

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
OVERLAP = timedelta(minutes=10)
EVERY = timedelta(minutes=5)


def job(index: int, submitted: datetime, *steps: tuple[timedelta, str], visible_after: timedelta = timedelta(0)):
    return FakeJob(
        f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/job{index:08d}",
        f"job-{index}",
        submitted,
        [(submitted, "Submitted")] + [(submitted + after, status) for after, status in steps],
        submitted + visible_after,
    )


class Account:
    """Fake Bedrock and table, polled as the schedule would, the Lambda's clock on Bedrock's."""

    def __init__(self, jobs: list[FakeJob], page_size: int = 1000) -> None:
        self.bedrock = FakeBedrock(jobs, now=T0, page_size=page_size)
        self.store = InMemoryJobStore()
        self.publisher = CapturingPublisher()
        self.settings = PollerSettings(
            state_table_name="state",
            topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:t",
            notify_statuses=KNOWN_STATUSES,
            overlap=OVERLAP,
        )

    def poll(self, after: timedelta = EVERY) -> None:
        self.bedrock.now += after
        self.bedrock.queries.clear()
        self.bedrock.gets.clear()
        self.store.read.clear()
        self.writes_before = self.store.writes
        self.calls_before = self.bedrock.calls
        Poll(
            self.bedrock,
            self.store,
            self.publisher,
            self.settings,
            region=REGION,
            account_id=ACCOUNT_ID,
            deadline=Deadline(lambda: 300_000, timedelta(seconds=30)),
            clock=lambda: self.bedrock.now,
        ).run()

    @property
    def status_listings(self) -> list[object]:
        return [q["status"] for q in self.bedrock.queries if q["status"] is not None]

    @property
    def wrote(self) -> int:
        return self.store.writes - self.writes_before

    def published(self) -> list[tuple[str, str]]:
        return [(n.job_name, n.status) for n in self.publisher.notices]


def test_after_a_burst_the_window_leaves_it_once_the_overlap_has_passed_even_with_no_newer_job():
    # Given 5,000 jobs submitted within two minutes, all finished, and then nothing for hours
    burst = [job(i, T0 + timedelta(seconds=i % 120), (timedelta(minutes=1), "Completed")) for i in range(5000)]
    account = Account(burst)
    account.poll(timedelta(0))  # the baseline, before the burst
    account.poll()  # records the burst
    assert len(account.store.items) == 5000
    # When polls go on with nothing new
    account.poll()
    assert account.store.read == []  # still in the window, but recorded as finished: not read again
    account.poll()  # the overlap has passed on Bedrock's clock: the window moves past the burst
    account.poll()
    # Then an idle poll lists one empty page, reads no job and writes nothing, as after a handful of jobs
    assert account.bedrock.calls - account.calls_before == 1
    assert account.store.read == []
    assert account.wrote == 0


def test_finished_jobs_in_the_window_are_not_read_again_but_open_ones_are_followed():
    jobs = [
        job(1, T0 + timedelta(minutes=1), (timedelta(seconds=30), "Failed")),
        job(2, T0 + timedelta(minutes=2), (timedelta(seconds=30), "InProgress"), (timedelta(minutes=4), "Completed")),
    ]
    account = Account(jobs)
    account.poll(timedelta(0))
    account.poll()  # both recorded: one Failed, one InProgress
    account.poll()  # job 2 completes; both are still inside the window
    assert account.store.read == []  # job 1 is named as finished in the cursor, job 2 is tracked as open
    assert sorted(account.published()) == [("job-1", "Failed"), ("job-2", "Completed"), ("job-2", "InProgress")]
    assert account.store.cursor is not None
    assert account.store.cursor.finished == {"job00000001", "job00000002"}


def test_without_a_tracked_job_older_than_the_window_no_status_is_listed_between_sweeps():
    account = Account([job(1, T0 + timedelta(minutes=1), (timedelta(seconds=30), "InProgress"))])
    account.poll(timedelta(0))  # baseline: a full sweep
    assert account.status_listings == list(NON_TERMINAL_STATUSES)
    account.poll()
    account.poll()
    assert account.status_listings == []
    assert account.bedrock.gets == []
    assert account.wrote == 0


def test_a_few_old_running_jobs_are_read_with_a_get_and_many_by_listing_only_their_status():
    old = [
        job(1, T0 - timedelta(days=2), (timedelta(minutes=1), "InProgress")),
        job(2, T0 - timedelta(days=1), (timedelta(minutes=1), "Scheduled")),
    ]
    account = Account(old)
    account.poll(timedelta(0))
    account.poll()
    assert account.status_listings == []  # two jobs in two statuses: two Gets cost what two listings would
    assert sorted(account.bedrock.gets) == sorted(j.arn for j in old)
    many = [job(10 + i, T0 - timedelta(days=2, minutes=i), (timedelta(minutes=1), "Scheduled")) for i in range(8)]
    account = Account(old + many)
    account.poll(timedelta(0))
    account.poll()
    assert account.status_listings == ["Scheduled", "InProgress"]  # not Submitted, Validating, Stopping
    assert account.bedrock.gets == []


def test_a_job_visible_later_than_the_overlap_is_found_by_the_next_full_sweep_while_it_runs():
    # Given a job that Bedrock lists only 40 minutes after its submission, still running an hour later
    shy = job(1, T0 + timedelta(minutes=1), (timedelta(minutes=2), "InProgress"), visible_after=timedelta(minutes=40))
    other = job(2, T0 + timedelta(minutes=2), (timedelta(minutes=1), "Completed"))
    account = Account([shy, other])
    account.poll(timedelta(0))
    for _ in range(int(FULL_SWEEP_EVERY / EVERY) - 1):
        account.poll()
    assert account.published() == [("job-2", "Completed")]  # too late for the window, and no sweep yet
    account.poll()  # an hour after the last sweep
    assert account.status_listings == list(NON_TERMINAL_STATUSES)
    assert account.published() == [("job-2", "Completed"), ("job-1", "InProgress")]
    account.poll()
    assert account.status_listings == []  # followed from now on with a Get
    assert account.bedrock.gets == [shy.arn]


def test_the_sweep_is_noted_in_the_cursor_and_due_again_an_hour_later():
    account = Account([job(1, T0 - timedelta(days=1), (timedelta(minutes=1), "InProgress"))])
    account.poll(timedelta(0))
    assert account.store.cursor is not None
    assert account.store.cursor.swept_at == T0
    account.poll(FULL_SWEEP_EVERY - timedelta(seconds=1))
    assert account.status_listings == []
    assert account.wrote == 0
    account.poll(timedelta(seconds=1))
    assert account.status_listings == list(NON_TERMINAL_STATUSES)
    assert account.store.cursor.swept_at == T0 + FULL_SWEEP_EVERY


def test_a_date_header_far_from_the_lambdas_clock_does_not_move_the_window():
    # Given answers whose Date is a day ahead (a proxy's own clock), and a job already listed long ago
    account = Account([job(1, T0 - timedelta(hours=2), (timedelta(minutes=1), "Completed"))])
    account.bedrock.server_time = lambda: account.bedrock.now + timedelta(days=1)  # type: ignore[method-assign]
    account.poll(timedelta(0))
    account.poll()
    # When a job is submitted afterwards
    account.bedrock.jobs.append(job(2, account.bedrock.now + timedelta(minutes=1), (timedelta(minutes=1), "Failed")))
    account.poll()
    # Then the window, moved by submit times alone, still lists it
    assert account.published() == [("job-2", "Failed")]
