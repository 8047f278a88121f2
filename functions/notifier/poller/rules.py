"""Pure decisions of the poller: what a snapshot means against what the table holds.

Nothing here does I/O; the poll orchestration (notifier.poller.poll) feeds it and acts on what it returns.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from notifier.core.jobs import KNOWN_STATUSES, LIFECYCLE_STEP, NON_TERMINAL_STATUSES, JobSnapshot, is_terminal
from notifier.core.notice import Notice
from notifier.core.outcome import DEFAULT_ERROR_RATE_WARNING

# A job Get cannot find is retired only after this many polls in a row missed it, over at least this long:
# Bedrock answers a transient 404 now and then for a job that is still running.
RETIRE_AFTER_MISSES = 3
RETIRE_AFTER = timedelta(hours=1)
# A status this version does not know, unchanged for this long after the job's endTime (or, with none, after its
# jobExpirationTime, by which Bedrock ends a job still running): the job is over.
UNKNOWN_STATUS_SETTLES_AFTER = timedelta(hours=1)
# The ARN pattern of botocore's bedrock model (ModelInvocationJobArn), with its parts captured.
_JOB_ARN = re.compile(
    r"^arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):"
    r"model-invocation-job/[a-z0-9]{12}$"
)
# Every non-terminal status is listed in full this often (a sweep), for jobs older than the window that were
# never seen: the polls between list only the statuses tracked jobs have.
FULL_SWEEP_EVERY = timedelta(hours=1)
# At most this many finished job ids are kept in the cursor (about 12 bytes each, far below DynamoDB's 400 KB
# item); past it the oldest are read again from the table instead.
FINISHED_LIMIT = 20_000
# Bedrock's Date header moves the window only when it agrees with the Lambda's clock this closely (both are
# NTP-synchronised): a Date rewritten on the way, such as a proxy answering with its own clock, must not move
# the window past jobs Bedrock has not listed yet.
DATE_TRUSTED_WITHIN = timedelta(minutes=5)
MISSING = "missing"  # retired because Bedrock no longer finds the job
SETTLED = "settled"  # retired because it ended in a status this version does not know


@dataclass(frozen=True)
class StoredJob:
    """The table's view of a job: enough to diff and to condition the next write on."""

    job_arn: str
    status: str
    submit_time: datetime
    last_modified_time: datetime | None = None
    pending: dict[str, Notice] = field(default_factory=dict, compare=False)  # unpublished notices by transitionId
    previous_status: str | None = field(default=None, compare=False)
    statuses: frozenset[str] = field(default=frozenset(), compare=False)  # every status recorded, this one too
    misses: int = field(default=0, compare=False)  # polls in a row whose Get did not find the job
    missing_since: datetime | None = field(default=None, compare=False)
    retired: str | None = field(default=None, compare=False)  # MISSING or SETTLED once no longer followed

    def has_recorded(self, status: str) -> bool:
        return status == self.status or status in self.statuses

    @property
    def needs_refresh(self) -> bool:
        """Seen again after Get missed it: the count of misses starts over, a retired job is followed again."""
        return self.misses > 0 or self.retired == MISSING


@dataclass(frozen=True)
class NotifyRule:
    """Which transitions are published. Unknown statuses are always published (the API grows)."""

    statuses: frozenset[str]
    job_name_patterns: tuple[str, ...] = ()
    model_id_patterns: tuple[str, ...] = ()

    def wants(self, job: JobSnapshot) -> bool:
        if job.status in KNOWN_STATUSES and job.status not in self.statuses:
            return False
        if self.job_name_patterns and not any(fnmatchcase(job.job_name, p) for p in self.job_name_patterns):
            return False
        return not self.model_id_patterns or any(fnmatchcase(job.model_id, p) for p in self.model_id_patterns)


@dataclass(frozen=True)
class Change:
    """A status the table has not recorded yet (or a job seen again after misses, with its status unchanged).
    `notice` is None when it is recorded silently."""

    job: JobSnapshot
    previous: StoredJob | None
    notice: Notice | None

    @property
    def previous_status(self) -> str | None:
        return self.previous.status if self.previous else None

    @property
    def is_transition(self) -> bool:
        return self.previous is None or self.previous.status != self.job.status


def is_stale(observed: JobSnapshot, stored: StoredJob) -> bool:
    """A listing may lag behind a Get: never step back from a terminal status or to an older modification."""
    if is_terminal(stored.status) and observed.status != stored.status:
        return True
    if observed.last_modified_time is not None and stored.last_modified_time is not None:
        return observed.last_modified_time < stored.last_modified_time
    # Without both modification times, the lifecycle decides: a job does not go back to an earlier step.
    observed_step, stored_step = LIFECYCLE_STEP.get(observed.status), LIFECYCLE_STEP.get(stored.status)
    return observed_step is not None and stored_step is not None and observed_step < stored_step


def detect_change(
    observed: JobSnapshot,
    stored: StoredJob | None,
    *,
    silent: bool,
    rule: NotifyRule,
    region: str,
    account_id: str,
    detected_at: datetime,
    error_rate_warning: float = DEFAULT_ERROR_RATE_WARNING,
) -> Change | None:
    """The change to record for one observed job, or None when the table already knows this status.

    A status the job already had is never recorded again, so a transition already published is not repeated."""
    if stored is not None and stored.status == observed.status and stored.needs_refresh:
        return Change(job=observed, previous=stored, notice=None)
    if stored is not None and (stored.has_recorded(observed.status) or is_stale(observed, stored)):
        return None
    notice = None
    if not silent and rule.wants(observed):
        previous_status = stored.status if stored else None
        notice = Notice.for_transition(
            observed, previous_status, region, account_id, detected_at, error_rate_warning=error_rate_warning
        )
    return Change(job=observed, previous=stored, notice=notice)


def remembered_for(ttl: timedelta) -> timedelta:
    """How far back the table surely still holds every job it recorded: items expire `ttl` after they end,
    less a margin for clock skew and for DynamoDB deleting expired items late or early."""
    return ttl - min(timedelta(days=1), ttl / 4)


def listing_start(
    watermark: datetime | None, overlap: timedelta, now: datetime, lookback: timedelta, ttl: timedelta
) -> datetime:
    """submitTimeAfter for the listing of new jobs: behind the watermark by the overlap, or the lookback on a
    first run; never before what the table still remembers, or a quiet account would see its last jobs,
    forgotten by TTL, as new. Running jobs submitted earlier are still followed by the listings by status."""
    start = now - lookback if watermark is None else watermark - overlap
    return max(start, now - remembered_for(ttl))


def watermark_after_listing(
    watermark: datetime | None,
    start: datetime,
    *,
    listed_at: datetime | None = None,
    oldest_listed: datetime | None = None,
    overlap: timedelta = timedelta(0),
) -> datetime:
    """The watermark after a complete listing of new jobs.

    It is the newest submitTime seen (with no job seen yet, where this listing started), or Bedrock's clock when
    the listing began (`listed_at`, its Date header) once that is later and drops a listed job from the next
    window: a job submitted more than the overlap before `listed_at` was visible by then, since Bedrock's listing
    lag is shorter than the overlap, so it has been read. Anchored at the newest job only, a burst of jobs would
    be listed again by every poll until a newer job arrived. It moves only when it drops a job, so that an idle
    poll writes nothing."""
    current = start if watermark is None else watermark
    if listed_at is None or oldest_listed is None or listed_at <= current:
        return current
    return listed_at if oldest_listed <= listed_at - overlap else current


def trusted_date(server_time: datetime | None, now: datetime) -> datetime | None:
    """Bedrock's Date when it is within DATE_TRUSTED_WITHIN of the Lambda's clock, else None (and the window
    then follows the newest submitTime alone)."""
    if server_time is None or abs(server_time - now) > DATE_TRUSTED_WITHIN:
        return None
    return server_time


def sweep_due(swept_at: datetime | None, now: datetime) -> bool:
    """Whether this poll lists every non-terminal status in full (also when the clock went back)."""
    return swept_at is None or not swept_at <= now < swept_at + FULL_SWEEP_EVERY


def statuses_to_list(older: Iterable[StoredJob], page_size: int) -> tuple[str, ...]:
    """Which non-terminal statuses to list for the tracked open jobs submitted before the listing window: only
    those such a job has, and none when a Get each costs no more calls than the listings would (a job in a status
    this version does not know is read with a Get in any case)."""
    jobs = list(older)
    counts = Counter(job.status for job in jobs if job.status in NON_TERMINAL_STATUSES)
    listings = sum(math.ceil(count / page_size) for count in counts.values())
    if sum(counts.values()) <= listings:
        return ()
    return tuple(status for status in NON_TERMINAL_STATUSES if status in counts)


def job_id(job_arn: str) -> str:
    """The last part of a job's ARN: unique among the jobs of one account and region."""
    return job_arn.rsplit("/", 1)[-1]


def finished_in_window(
    listed: Iterable[tuple[str, datetime]], finished: set[str], next_start: datetime
) -> frozenset[str]:
    """The ids of finished jobs among those listed (ARN, submitTime) that the next listing will show again, the
    newest FINISHED_LIMIT of them."""
    inside = sorted(
        ((submitted, job_id(arn)) for arn, submitted in listed if submitted > next_start and job_id(arn) in finished),
        reverse=True,
    )
    return frozenset(identifier for _, identifier in inside[:FINISHED_LIMIT])


def should_retire(stored: StoredJob, now: datetime) -> bool:
    """Whether one more miss of this job, now, retires it: several polls in a row, over a minimum time."""
    since = stored.missing_since or now
    return stored.misses + 1 >= RETIRE_AFTER_MISSES and now - since >= RETIRE_AFTER


def has_settled(observed: JobSnapshot, stored: StoredJob, now: datetime) -> bool:
    """An unknown status that ended and has not changed for a while: the job is over, so it is no longer read
    every poll. Its status was already recorded and published when it first appeared.

    Bedrock stamps endTime on the statuses a job ends in. Without one, the job's expiration time decides: past it,
    Bedrock would have ended a job that was still running, so a status held since then is where the job ended."""
    if observed.status in KNOWN_STATUSES or observed.status != stored.status:
        return False
    if observed.end_time is not None:
        since = observed.last_modified_time or observed.end_time
    elif observed.expiration_time is not None:
        since = max(observed.expiration_time, observed.last_modified_time or observed.expiration_time)
    else:
        return False
    return now - since >= UNKNOWN_STATUS_SETTLES_AFTER


def job_arn_problem(job_arn: str, region: str, account_id: str) -> str | None:
    """Why the poller cannot read this job from a state-change event, or None when it can."""
    match = _JOB_ARN.match(job_arn)
    if match is None:
        return (
            f"{job_arn!r} is not a Bedrock batch job ARN "
            "(arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/ followed by a 12-character job id)"
        )
    if account_id and match["account"] != account_id:
        return (
            f"job {job_arn} belongs to account {match['account']}, not this one ({account_id}): "
            "the notifier follows only its own account's jobs; deploy it in that account"
        )
    if region and match["region"] != region:
        return f"job {job_arn} is in region {match['region']}, not this one ({region}): deploy the notifier there"
    return None


def advance_watermark(current: datetime | None, seen: list[JobSnapshot]) -> datetime | None:
    """The newest submitTime seen, never moving backwards (Bedrock's clock, not the Lambda's)."""
    newest = max((job.submit_time for job in seen), default=None)
    if newest is None:
        return current
    return newest if current is None or newest > current else current
