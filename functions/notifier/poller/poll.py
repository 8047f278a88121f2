"""One poll: list what is new, follow what is still running, record transitions, publish the outbox.

How a poll stays cheap and still misses nothing:
  new jobs       ListModelInvocationJobs(submitTimeAfter = watermark - overlap), oldest first; the watermark is
                 on Bedrock's clock (the newest submitTime seen, or Bedrock's Date when the listing began once
                 that drops a job from the window), so the Lambda's clock never matters and a burst of jobs leaves
                 the window an overlap after it arrived. Jobs in the window already recorded as finished are
                 named in the cursor and not read from the table again.
  running jobs   tracked open jobs submitted before that window: a Get each when there are few, otherwise a
                 listing of each non-terminal status they have; every FULL_SWEEP_EVERY all five statuses, which
                 also finds a job that became visible later than the overlap and is still running. A job that
                 has run for days costs a Get or a page, not every job submitted since it started.
  departed jobs  tracked open jobs found in neither listing left the non-terminal statuses: a Get each
                 (or one listing of their submit-time window when there are many) reads where they went.
                 Bedrock may answer a Get with a 404 for a moment, so a job is retired only after several polls
                 over an hour missed it, and followed again when seen again; a job that ended in a status this
                 version does not know is no longer read once it has stayed there for a while.
Every Bedrock call is bounded by the time left, and any Bedrock error ends the run the way throttling does:
what was recorded is kept and published.
A notice is written into its job's item with the status change and cleared once SNS accepted it, so
publishing is at least once whatever fails in between. A run claims the notices it is about to publish (in
that same write, or before publishing what it did not record itself), so overlapping and concurrent runs do
not publish one notice twice; it publishes in batches while there is time for one more, and clears each batch
as soon as SNS accepted it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from notifier.core.errors import BedrockUnavailable, InvalidEvent, OutOfTime
from notifier.core.jobs import KNOWN_STATUSES, NON_TERMINAL_STATUSES, JobSnapshot, is_terminal
from notifier.core.notice import Notice
from notifier.core.observability import logger
from notifier.core.settings import PollerSettings
from notifier.poller.bedrock import PAGE_SIZE
from notifier.poller.job_store import Claim, Cursor, pending_after
from notifier.poller.ports import JobSource, JobStore, NoticeSink
from notifier.poller.rules import (
    FINISHED_LIMIT,
    MISSING,
    SETTLED,
    Change,
    NotifyRule,
    StoredJob,
    advance_watermark,
    detect_change,
    finished_in_window,
    has_settled,
    job_arn_problem,
    job_id,
    listing_start,
    should_retire,
    statuses_to_list,
    sweep_due,
    trusted_date,
    watermark_after_listing,
)

# Up to this many departed jobs are read one Get each; beyond it one listing of their window is cheaper.
DEPARTED_GET_LIMIT = 25
# Most common first, so that the listing of departed jobs usually stops early.
TERMINAL_BY_LIKELIHOOD = ("Completed", "Failed", "PartiallyCompleted", "Stopped", "Expired")
BOUNDARY = timedelta(seconds=1)  # listings overlap by this much so neither side's bound can drop a job
# A run's claim on the notices it publishes lapses this long after the run's own timeout.
CLAIM_MARGIN = timedelta(seconds=10)
# A poll that records more transitions than this logs each at DEBUG and a summary at INFO, as a baseline does:
# ten thousand lines would bury the few a person reads.
BULK_LOG_LIMIT = 20


@dataclass
class Deadline:
    """Stops new work `reserve` before the Lambda's timeout; publishing may use most of the reserve."""

    remaining_ms: Callable[[], int]
    reserve: timedelta

    def work_left(self) -> float:
        return self.remaining_ms() / 1000 - self.reserve.total_seconds()

    def publish_left(self) -> float:
        return self.remaining_ms() / 1000 - min(5.0, self.reserve.total_seconds() / 4)


@dataclass
class PollReport:
    jobs_listed: int = 0
    pages: int = 0
    transitions: Counter[str] = field(default_factory=Counter)  # recorded status changes by new status
    notices_recorded: int = 0
    published: int = 0
    publish_failures: int = 0
    conflicts: int = 0
    retired: int = 0
    unknown_statuses: Counter[str] = field(default_factory=Counter)
    open_jobs: int = 0
    complete: bool = True
    silent: bool = False
    error: str | None = None


class Poll:
    def __init__(
        self,
        bedrock: JobSource,
        store: JobStore,
        publisher: NoticeSink,
        settings: PollerSettings,
        *,
        region: str,
        account_id: str,
        deadline: Deadline,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bedrock = bedrock
        self.store = store
        self.publisher = publisher
        self.settings = settings
        self.region = region
        self.account_id = account_id
        self.deadline = deadline
        self.clock = clock
        self.rule = NotifyRule(settings.notify_statuses, settings.job_name_patterns, settings.model_id_patterns)
        self.report = PollReport()
        # Each Bedrock call, retries included, must end before the reserve: the loop's check alone cannot stop
        # a call that is slow or keeps retrying.
        bedrock.limit_calls_to(deadline.work_left)
        self.known: dict[str, StoredJob] = {}
        self.looked_up: set[str] = set()
        self.seen: set[str] = set()
        self.silent = False
        self.claim = Claim(
            owner=uuid.uuid4().hex,
            until=clock() + timedelta(milliseconds=deadline.remaining_ms()) + CLAIM_MARGIN,
        )
        self.claimed: set[str] = set()  # jobs whose pending notices this run holds
        self.finished: set[str] = set()  # ids of jobs recorded as finished: never read again in this poll
        self.window: dict[str, datetime] = {}  # job ARN -> submitTime, of the jobs the listing of new jobs showed
        self.listed_at: datetime | None = None  # Bedrock's clock when that listing began
        self.listing_complete = False
        self.swept = False
        self.bulk = False  # per-job lines at DEBUG from now on, and a summary at the end

    # -- the scheduled poll ---------------------------------------------------------------------------------

    def _start(self) -> Cursor | None:
        """Reads the cursor; until a first run has finished its baseline, what is found is recorded silently."""
        cursor = self.store.load_cursor()
        self.silent = (cursor is None or not cursor.baseline_complete) and not self.settings.notify_on_first_run
        self.report.silent = self.silent
        return cursor

    def run(self) -> PollReport:
        cursor = self._start()
        watermark = cursor.watermark if cursor else None
        start = self._listing_start(watermark)
        sweep = sweep_due(cursor.swept_at if cursor else None, self.clock())
        self.finished = set(cursor.finished) if cursor else set()
        open_before = self.store.open_jobs()
        self.known.update(open_before)
        try:
            watermark = self._list_new(start, watermark)
            if self.report.complete:
                self._follow_running(start, [job for arn, job in open_before.items() if arn not in self.seen], sweep)
            if self.report.complete:
                self._follow_departed([job for arn, job in open_before.items() if arn not in self.seen])
        except OutOfTime:
            self._out_of_time()
        except BedrockUnavailable as error:
            self.report.complete = False
            self.report.error = str(error)
            logger.error("Bedrock unavailable; finishing what was recorded", extra={"error": str(error)})
        self._save_cursor(cursor, watermark)
        self.publish_outbox()
        self.report.open_jobs = sum(
            1 for job in self.known.values() if not is_terminal(job.status) and job.status != _GONE
        )
        self._log_summary()
        if self.report.error:
            raise BedrockUnavailable(self.report.error)
        return self.report

    def _listing_start(self, watermark: datetime | None) -> datetime:
        settings = self.settings
        return listing_start(watermark, settings.overlap, self.clock(), settings.baseline_lookback, settings.job_ttl)

    def _list_new(self, start: datetime, watermark: datetime | None) -> datetime | None:
        for page in self._pages(submitted_after=start):
            if self.listed_at is None:
                self.listed_at = trusted_date(self.bedrock.server_time(), self.clock())
            self.window.update((job.job_arn, job.submit_time) for job in page)
            self._process(page)
            watermark = advance_watermark(watermark, page)
            if not self._time_for_more():
                return watermark
        self.listing_complete = True
        return watermark_after_listing(
            watermark,
            start,
            listed_at=self.listed_at,
            oldest_listed=min(self.window.values(), default=None),
            overlap=self.settings.overlap,
        )

    def _follow_running(self, start: datetime, older: list[StoredJob], sweep: bool) -> None:
        """Tracked open jobs the window did not show. A sweep lists every non-terminal status, which also finds
        jobs never seen; otherwise only the statuses they have, or none when a Get each is as cheap (those not
        listed are read as departed jobs)."""
        statuses = NON_TERMINAL_STATUSES if sweep else statuses_to_list(older, PAGE_SIZE)
        for status in statuses:
            for page in self._pages(status=status, submitted_before=start + BOUNDARY):
                self._process(page)
                if not self._time_for_more():
                    return
        self.swept = sweep

    def _follow_departed(self, departed: list[StoredJob]) -> None:
        remaining = {job.job_arn: job for job in departed}
        if len(remaining) > DEPARTED_GET_LIMIT:
            # Many left at once: list each terminal status over their submit-time window instead of a Get each.
            low = min(job.submit_time for job in departed) - BOUNDARY
            high = max(job.submit_time for job in departed) + BOUNDARY
            for status in TERMINAL_BY_LIKELIHOOD:
                for page in self._pages(status=status, submitted_after=low, submitted_before=high):
                    found = [job for job in page if job.job_arn in remaining]
                    self._process(found)
                    for job in found:
                        remaining.pop(job.job_arn, None)
                    if not self._time_for_more():
                        return
                if not remaining:
                    break
        for stored in list(remaining.values()):  # unknown statuses, deleted jobs, or just a few
            if not self._time_for_more():
                return
            current = self.bedrock.get(stored.job_arn)
            if current is None:
                self._missed(stored)
            elif has_settled(current, stored, self.clock()):
                logger.info(
                    "Job ended in a status this version does not know; it is no longer followed",
                    extra={"job_arn": stored.job_arn, "status": current.status},
                )
                self._retire(stored, SETTLED)
            else:
                self._process([current])

    def _missed(self, stored: StoredJob) -> None:
        """Get did not find a tracked job: Bedrock may answer so for a moment, so only a run of misses retires it."""
        now = self.clock()
        if should_retire(stored, now):
            logger.warning(
                "Tracked job no longer exists in Bedrock; it is no longer followed unless it is seen again",
                extra={"job_arn": stored.job_arn, "last_status": stored.status, "misses": stored.misses + 1},
            )
            self._retire(stored, MISSING)
        elif self.store.note_missing(stored, now):
            logger.info(
                "Tracked job not found in Bedrock; it is followed until it has been missing for a while",
                extra={"job_arn": stored.job_arn, "misses": stored.misses + 1},
            )

    def _retire(self, stored: StoredJob, reason: str) -> None:
        if self.store.retire(stored, self.clock(), self.settings.job_ttl, reason):
            self.report.retired += 1
            self.known[stored.job_arn] = StoredJob(stored.job_arn, _GONE, stored.submit_time)

    def _save_cursor(self, cursor: Cursor | None, watermark: datetime | None) -> None:
        baseline_complete = (cursor.baseline_complete if cursor else False) or self.report.complete
        finished = {job_id(arn) for arn in self.window if self._is_finished(arn)}
        if self.listing_complete:  # the jobs the window no longer shows are dropped, the newest kept
            kept = finished_in_window(self.window.items(), finished, self._listing_start(watermark))
        else:  # the part of the window not listed keeps what the cursor had, within the same limit
            kept = frozenset(sorted(finished | (cursor.finished if cursor else frozenset()))[:FINISHED_LIMIT])
        swept_at = self.clock() if self.swept and self.report.complete else (cursor.swept_at if cursor else None)
        updated = Cursor(watermark=watermark, baseline_complete=baseline_complete, finished=kept, swept_at=swept_at)
        if updated != cursor:  # an idle poll writes nothing
            self.store.save_cursor(updated, self.clock())

    def _is_finished(self, job_arn: str) -> bool:
        known = self.known.get(job_arn)
        return job_id(job_arn) in self.finished or (known is not None and is_terminal(known.status))

    def _log_summary(self) -> None:
        """One line for a baseline or a bulk poll, whose per-job lines went to DEBUG."""
        if not (self.silent or self.bulk) or not self.report.transitions:
            return
        logger.info(
            "Baseline recorded silently; each job is logged at DEBUG"
            if self.silent
            else "Many transitions recorded; each is logged at DEBUG",
            extra={
                "transitions": sum(self.report.transitions.values()),
                "by_status": dict(sorted(self.report.transitions.items())),
                "notices": self.report.notices_recorded,
                "conflicts": self.report.conflicts,
            },
        )

    def _log_job(self, message: str, **extra: object) -> None:
        (logger.debug if self.silent or self.bulk else logger.info)(message, extra=extra)

    # -- the fast path: one job named by an event -----------------------------------------------------------

    def run_for_job(self, job_arn: str) -> PollReport:
        """Reads one job now (a Bedrock state-change event) with the same dedupe as the scheduled poll.

        Raises InvalidEvent, before any call, for an ARN this notifier cannot read."""
        problem = job_arn_problem(job_arn, self.region, self.account_id)
        if problem:
            raise InvalidEvent(problem)
        self._start()
        try:
            current = self.bedrock.get(job_arn)
            if current is not None:
                self._process([current])
        except OutOfTime:
            self._out_of_time()
        except BedrockUnavailable as error:
            self.report.error = str(error)
        self.publish_outbox()
        if self.report.error:
            raise BedrockUnavailable(self.report.error)
        return self.report

    # -- shared steps ---------------------------------------------------------------------------------------

    def _pages(self, **query: object) -> Iterator[list[JobSnapshot]]:
        for page in self.bedrock.list_pages(**query):  # type: ignore[arg-type]
            self.report.pages += 1
            self.report.jobs_listed += len(page)
            yield page

    def _time_for_more(self) -> bool:
        if self.deadline.work_left() > 0:
            return True
        self._out_of_time()
        return False

    def _out_of_time(self) -> None:
        if self.report.complete:
            logger.warning("Stopping before the Lambda timeout; the next poll goes on from here")
        self.report.complete = False

    def _process(self, page: list[JobSnapshot]) -> None:
        """Diffs a page against the table and records what changed."""
        jobs = list({job.job_arn: job for job in page}.values())
        self.seen.update(job.job_arn for job in jobs)
        # Recorded as finished already: no status can follow a terminal one, so there is nothing to read or diff.
        jobs = [job for job in jobs if job_id(job.job_arn) not in self.finished]
        unknown = [job.job_arn for job in jobs if job.job_arn not in self.known and job.job_arn not in self.looked_up]
        if unknown:
            self.known.update(self.store.get_jobs(unknown))
            self.looked_up.update(unknown)
        now = self.clock()
        changes = []
        for job in jobs:
            change = detect_change(
                job,
                self.known.get(job.job_arn),
                silent=self.silent,
                rule=self.rule,
                region=self.region,
                account_id=self.account_id,
                detected_at=now,
                error_rate_warning=self.settings.error_rate_warning,
            )
            if change is not None:
                changes.append(change)
        if not changes:
            return
        self.bulk = self.bulk or sum(self.report.transitions.values()) + len(changes) > BULK_LOG_LIMIT
        recorded, conflicts = self.store.record(changes, now, self.settings.job_ttl, self.claim)
        for change in recorded:
            self._remember(change)
            if self.known[change.job.job_arn].pending:
                self.claimed.add(change.job.job_arn)
        for change in conflicts:
            self.report.conflicts += 1
            self._log_job(
                "Not recorded: an overlapping poll recorded it or is publishing this job's notices; "
                "the next poll reads it again",
                job_arn=change.job.job_arn,
            )

    def _remember(self, change: Change) -> None:
        job = change.job
        previous = change.previous
        self.known[job.job_arn] = StoredJob(
            job.job_arn,
            job.status,
            job.submit_time,
            job.last_modified_time,
            pending=pending_after(change),
            previous_status=change.previous_status
            if change.is_transition or not previous
            else previous.previous_status,
            statuses=(previous.statuses if previous else frozenset()) | {job.status},
        )
        if not change.is_transition:
            self._log_job("Tracked job seen again; it is followed as before", job_arn=job.job_arn)
            return
        self.report.transitions[job.status] += 1
        if change.notice:
            self.report.notices_recorded += 1
        if job.status not in KNOWN_STATUSES:
            self.report.unknown_statuses[job.status] += 1
            logger.warning(
                "Unknown job status: treated as not terminal and published",
                extra={"job_arn": job.job_arn, "status": job.status},
            )
        self._log_job(
            "Transition recorded",
            job_arn=job.job_arn,
            previous_status=change.previous_status,
            status=job.status,
            published=change.notice is not None,
        )

    def publish_outbox(self) -> None:
        """Publishes every recorded, unpublished notice: this poll's and any that an earlier run left.

        What this run recorded it already holds; the rest it claims first, only as much as it has time to
        publish, and publishes what the claims return (the table's current outbox, not this run's older read)."""
        held = {arn: job.pending for arn, job in self.known.items() if arn in self.claimed and job.pending}
        oldest: dict[str, datetime] = {}  # job ARN -> its oldest pending notice, to publish oldest first
        transitions: dict[str, set[str]] = {}
        found = [(job.job_arn, tid, notice) for job in self.known.values() for tid, notice in job.pending.items()]
        found += [(left.job_arn, left.transition_id, left.notice) for left in self.store.pending_notices()]
        for job_arn, transition, notice in found:
            oldest[job_arn] = min(oldest.get(job_arn, notice.detected_at), notice.detected_at)
            transitions.setdefault(job_arn, set()).add(transition)
        if not oldest:
            return
        to_claim: list[str] = []
        budget = self._publish_budget()
        for job_arn in sorted(oldest, key=lambda arn: (oldest[arn], arn)):
            if budget <= 0:
                break
            budget -= len(transitions[job_arn])
            if job_arn not in held:
                to_claim.append(job_arn)
        claimed = self.store.claim(to_claim, self.claim, self.clock()) if to_claim else {}
        held.update(claimed)
        self.claimed.update(claimed)
        if len(claimed) < len(to_claim):
            logger.info(
                "Some pending notices are held by another run, which publishes them",
                extra={"jobs": len(to_claim) - len(claimed)},
            )
        self._publish_held(held)

    def _publish_budget(self) -> int:
        """How many notices this run can still publish at the configured pace, with one batch to spare."""
        per_second = max(1, int(self.settings.publish_max_per_second))
        return int(max(0.0, self.deadline.publish_left()) * per_second) + per_second

    def _publish_held(self, held: dict[str, dict[str, Notice]]) -> None:
        job_of = {transition: arn for arn, pending in held.items() for transition in pending}
        left = {arn: len(pending) for arn, pending in held.items()}
        ordered = sorted(
            ((transition, notice) for pending in held.values() for transition, notice in pending.items()),
            key=lambda item: (item[1].detected_at, item[0]),
        )

        def settle(published: list[str]) -> None:
            """Clears each batch as soon as SNS accepted it, so a run that stops anyway does not send it again."""
            by_job: dict[str, list[str]] = {}
            for transition in published:
                by_job.setdefault(job_of[transition], []).append(transition)
            for job_arn, transitions in by_job.items():
                self.store.clear_published(job_arn, transitions, left[job_arn])
                left[job_arn] -= len(transitions)

        outcome = self.publisher.publish(ordered, self.deadline.publish_left, settle)
        unfinished = [arn for arn, count in left.items() if count > 0]
        if unfinished:
            self.store.release(unfinished, self.claim)
            self.claimed.difference_update(unfinished)
        self.report.published += len(outcome.published)
        self.report.publish_failures += len(outcome.failed)
        if outcome.shortened:
            logger.warning(
                "Failure messages too long for SNS were shortened; the full text is in Bedrock",
                extra={"shortened": outcome.shortened},
            )
        if outcome.failed:
            logger.error(
                "SNS did not accept some notices; they stay pending for the next poll",
                extra={"failed": len(outcome.failed), "errors": sorted(set(outcome.errors))},
            )
        unsent = len(ordered) - len(outcome.published) - len(outcome.failed)
        if unsent:
            logger.warning("Out of time to publish; the next poll publishes the rest", extra={"unsent": unsent})


_GONE = "Retired"  # in-memory marker for a job retired in this poll
