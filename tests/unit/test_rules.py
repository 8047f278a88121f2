from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.jobs import DEFAULT_NOTIFY_STATUSES, JobSnapshot, RecordCounts
from notifier.poller import rules
from notifier.poller.bedrock import call_limits
from notifier.poller.rules import (
    FULL_SWEEP_EVERY,
    MISSING,
    NotifyRule,
    StoredJob,
    advance_watermark,
    detect_change,
    finished_in_window,
    has_settled,
    job_arn_problem,
    listing_start,
    should_retire,
    statuses_to_list,
    sweep_due,
    trusted_date,
    watermark_after_listing,
)

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456"
RULE = NotifyRule(DEFAULT_NOTIFY_STATUSES)


def snap(
    status: str, modified: datetime = T, name: str = "nightly", model: str = "amazon.nova-pro-v1:0"
) -> JobSnapshot:
    return JobSnapshot(ARN, name, model, status, T - timedelta(hours=1), last_modified_time=modified)


def detect(observed, stored, silent=False, rule=RULE):
    return detect_change(observed, stored, silent=silent, rule=rule, region="us-east-1", account_id="1", detected_at=T)


def test_a_job_first_seen_is_a_transition_from_null():
    change = detect(snap("InProgress"), None)
    assert change is not None
    assert change.notice is not None
    assert change.notice.previous_status is None


def test_an_unchanged_status_is_no_change():
    assert detect(snap("InProgress"), StoredJob(ARN, "InProgress", T)) is None


def test_baseline_records_silently():
    change = detect(snap("InProgress"), None, silent=True)
    assert change is not None
    assert change.notice is None


def test_a_status_outside_the_notify_set_is_recorded_not_published():
    change = detect(snap("Validating"), StoredJob(ARN, "Submitted", T))
    assert change is not None
    assert change.notice is None


def test_an_unknown_status_is_always_published():
    change = detect(snap("Archived"), StoredJob(ARN, "InProgress", T), rule=NotifyRule(frozenset({"Failed"})))
    assert change is not None
    assert change.notice is not None


def test_a_stale_listing_never_steps_back_from_a_terminal_status():
    assert detect(snap("InProgress"), StoredJob(ARN, "Completed", T)) is None


def test_a_stale_listing_never_steps_back_to_an_older_modification():
    assert detect(snap("Scheduled", modified=T - timedelta(minutes=1)), StoredJob(ARN, "InProgress", T, T)) is None


def test_name_and_model_patterns_narrow_what_is_published():
    rule = NotifyRule(DEFAULT_NOTIFY_STATUSES, job_name_patterns=("prod-*",), model_id_patterns=("anthropic.*",))
    assert rule.wants(snap("Failed", name="prod-eval", model="anthropic.claude-3-haiku-20240307-v1:0"))
    assert not rule.wants(snap("Failed", name="dev-eval", model="anthropic.claude-3-haiku-20240307-v1:0"))
    assert not rule.wants(snap("Failed", name="prod-eval", model="amazon.nova-pro-v1:0"))


def test_listing_starts_an_overlap_behind_the_watermark_or_a_lookback_back_on_a_first_run():
    ttl = timedelta(days=30)
    assert listing_start(T, timedelta(minutes=10), T + timedelta(days=1), timedelta(days=8), ttl) == T - timedelta(
        minutes=10
    )
    assert listing_start(None, timedelta(minutes=10), T, timedelta(days=8), ttl) == T - timedelta(days=8)


@pytest.mark.parametrize("ttl_days", [1, 30])
def test_listing_never_starts_before_what_the_table_still_remembers(ttl_days):
    ttl = timedelta(days=ttl_days)
    quiet_for = ttl + timedelta(days=2)  # the watermark has not moved since
    start = listing_start(T, timedelta(minutes=10), T + quiet_for, timedelta(days=8), ttl)
    # every job submitted after the start ended after it, so its item is kept until past now
    assert start + ttl > T + quiet_for
    assert start < T + quiet_for  # and jobs submitted between two polls are still listed


def test_with_no_job_seen_the_next_listing_starts_where_this_one_did():
    assert watermark_after_listing(None, T) == T
    assert watermark_after_listing(T + timedelta(minutes=1), T) == T + timedelta(minutes=1)


def test_watermark_follows_the_newest_submit_time_and_never_moves_back():
    newer = JobSnapshot(ARN, "n", "m", "Submitted", T + timedelta(minutes=5))
    older = JobSnapshot(ARN, "n", "m", "Submitted", T - timedelta(minutes=5))
    assert advance_watermark(T, [older, newer]) == T + timedelta(minutes=5)
    assert advance_watermark(T, [older]) == T
    assert advance_watermark(None, []) is None


def test_a_summary_missing_optional_fields_still_makes_a_snapshot():
    job = JobSnapshot.from_bedrock({"jobArn": ARN, "status": "Completed", "submitTime": T})
    assert job.job_name == "abc123def456"
    assert job.model_id == "unknown"
    assert job.records.total is None
    change = detect(job, StoredJob(ARN, "InProgress", T))
    assert change is not None
    assert change.notice is not None
    assert change.notice.to_document()["records"] == {"total": None, "processed": None, "success": None, "error": None}


def test_the_departed_listing_order_covers_every_terminal_status():
    from notifier.core.jobs import TERMINAL_STATUSES
    from notifier.poller.poll import TERMINAL_BY_LIKELIHOOD

    assert sorted(TERMINAL_BY_LIKELIHOOD) == sorted(TERMINAL_STATUSES)


def test_a_status_the_job_already_had_is_never_recorded_again():
    # a Get without lastModifiedTime answers an older status; then the listing shows the older status again
    stored = StoredJob(ARN, "InProgress", T, None, statuses=frozenset({"Submitted", "InProgress"}))
    older = JobSnapshot(ARN, "n", "m", "Scheduled", T - timedelta(hours=1))
    assert detect(older, stored) is None
    archived = StoredJob(ARN, "Archived", T, T, statuses=frozenset({"InProgress", "Archived"}))
    assert detect(snap("InProgress", modified=T + timedelta(minutes=1)), archived) is None


def test_without_modification_times_the_lifecycle_order_decides():
    stored = StoredJob(ARN, "Stopping", T)
    assert detect(JobSnapshot(ARN, "n", "m", "InProgress", T), stored) is None
    change = detect(JobSnapshot(ARN, "n", "m", "Stopped", T), stored)
    assert change is not None
    assert change.notice is not None


def test_a_job_seen_again_after_misses_is_rewritten_without_a_notice():
    stored = StoredJob(ARN, "InProgress", T, T, misses=1, missing_since=T)
    change = detect(snap("InProgress"), stored)
    assert change is not None
    assert change.notice is None
    assert not change.is_transition
    retired = StoredJob(ARN, "InProgress", T, T, retired=MISSING)
    change = detect(snap("Completed", modified=T + timedelta(hours=1)), retired)
    assert change is not None
    assert change.notice is not None


def test_a_job_is_retired_only_after_several_misses_over_a_minimum_time():
    assert not should_retire(StoredJob(ARN, "InProgress", T), T)
    assert not should_retire(StoredJob(ARN, "InProgress", T, misses=2, missing_since=T), T + timedelta(minutes=5))
    assert not should_retire(StoredJob(ARN, "InProgress", T, misses=1, missing_since=T), T + timedelta(days=1))
    assert should_retire(StoredJob(ARN, "InProgress", T, misses=2, missing_since=T), T + timedelta(hours=1))


def test_an_unknown_status_with_an_end_settles_after_a_while():
    ended = JobSnapshot(ARN, "n", "m", "Cancelled", T, last_modified_time=T, end_time=T)
    stored = StoredJob(ARN, "Cancelled", T, T)
    assert not has_settled(ended, stored, T + timedelta(minutes=5))
    assert has_settled(ended, stored, T + timedelta(hours=1))
    assert not has_settled(JobSnapshot(ARN, "n", "m", "Cancelled", T, T), stored, T + timedelta(days=1))
    assert not has_settled(ended, StoredJob(ARN, "InProgress", T, T), T + timedelta(days=1))


def test_an_unknown_status_without_an_end_settles_only_a_while_after_the_job_would_have_expired():
    expires = T + timedelta(hours=24)
    held = JobSnapshot(ARN, "n", "m", "Cancelled", T, last_modified_time=T, expiration_time=expires)
    stored = StoredJob(ARN, "Cancelled", T, T)

    assert not has_settled(held, stored, T + timedelta(hours=2))  # may still be running in a status yet to come
    assert not has_settled(held, stored, expires + timedelta(minutes=5))
    assert has_settled(held, stored, expires + timedelta(hours=1))
    entered_late = JobSnapshot(ARN, "n", "m", "Cancelled", T, expires + timedelta(hours=2), expiration_time=expires)
    assert not has_settled(entered_late, stored, expires + timedelta(hours=2, minutes=30))


def test_the_expiration_time_is_read_from_a_summary():
    summary = {"jobArn": ARN, "status": "InProgress", "submitTime": T, "jobExpirationTime": T + timedelta(hours=24)}

    assert JobSnapshot.from_bedrock(summary).expiration_time == T + timedelta(hours=24)


@pytest.mark.parametrize(
    ("job_arn", "problem"),
    [
        ("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/NOT A JOB", "is not a Bedrock batch job ARN"),
        ("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/", "is not a Bedrock batch job ARN"),
        ("arn:aws:bedrock:us-east-1:210987654321:model-invocation-job/abc123def456", "belongs to account 210987654321"),
        ("arn:aws:bedrock:eu-west-1:123456789012:model-invocation-job/abc123def456", "is in region eu-west-1"),
    ],
)
def test_a_job_arn_the_poller_cannot_read_is_named_with_the_reason(job_arn, problem):
    assert problem in (job_arn_problem(job_arn, "us-east-1", "123456789012") or "")


def test_a_job_arn_of_this_account_and_region_is_accepted():
    assert job_arn_problem(ARN, "us-east-1", "123456789012") is None


@pytest.mark.parametrize("seconds_left", [1.5, 3, 7, 10, 40, 120, 900])
@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5])
def test_a_call_with_its_retries_and_backoff_ends_within_the_time_left(seconds_left, max_attempts):
    limits = call_limits(seconds_left, max_attempts)
    assert limits is not None
    per_attempt = limits.connect_timeout + limits.read_timeout
    backoff = sum(min(20, 2 ** (retry - 1)) for retry in range(1, limits.max_attempts))
    assert per_attempt * limits.max_attempts + backoff <= seconds_left
    assert 1 <= limits.max_attempts <= max_attempts
    assert limits.read_timeout <= 30


def test_with_plenty_of_time_a_call_keeps_the_sdk_defaults_and_with_too_little_it_is_not_started():
    limits = call_limits(900, 3)
    assert limits is not None
    assert (limits.connect_timeout, limits.read_timeout, limits.max_attempts) == (5, 30, 3)
    assert call_limits(0.9, 3) is None


def test_the_notice_of_a_job_that_ended_is_assessed_with_the_threshold_given():
    ended = JobSnapshot(
        ARN,
        "nightly",
        "amazon.nova-pro-v1:0",
        "Completed",
        T - timedelta(hours=1),
        last_modified_time=T,
        records=RecordCounts(total=100, processed=100, success=80, error=20),
    )
    stored = StoredJob(ARN, "InProgress", T - timedelta(hours=1))
    default = detect(ended, stored)
    lenient = detect_change(
        ended,
        stored,
        silent=False,
        rule=RULE,
        region="us-east-1",
        account_id="1",
        detected_at=T,
        error_rate_warning=0.5,
    )
    assert default is not None
    assert default.notice is not None
    assert lenient is not None
    assert lenient.notice is not None
    assert (default.notice.outcome, default.notice.severity) == ("succeededWithErrors", "warning")
    assert (lenient.notice.outcome, lenient.notice.severity) == ("succeededWithErrors", "info")


def test_the_watermark_moves_to_bedrocks_clock_only_when_that_drops_a_listed_job():
    overlap = timedelta(minutes=10)
    burst = T - timedelta(minutes=1)  # the newest job, and the oldest one listed
    # within the overlap of the listing's Date nothing drops: the watermark stays, so an idle poll writes nothing
    assert (
        watermark_after_listing(burst, T, listed_at=T + timedelta(minutes=8), oldest_listed=burst, overlap=overlap)
        == burst
    )
    # once the listing began more than the overlap after the oldest job listed, it moves to Bedrock's clock
    listed_at = burst + overlap
    assert watermark_after_listing(burst, T, listed_at=listed_at, oldest_listed=burst, overlap=overlap) == listed_at
    # never back, and not without a Date or a job listed
    assert watermark_after_listing(T, T, listed_at=T - timedelta(hours=1), oldest_listed=burst, overlap=overlap) == T
    assert watermark_after_listing(burst, T, listed_at=None, oldest_listed=burst, overlap=overlap) == burst
    assert watermark_after_listing(burst, T, listed_at=T + overlap, oldest_listed=None, overlap=overlap) == burst


def test_a_full_sweep_is_due_an_hour_after_the_last_and_when_the_clock_went_back():
    assert sweep_due(None, T)
    assert not sweep_due(T, T + FULL_SWEEP_EVERY - timedelta(seconds=1))
    assert sweep_due(T, T + FULL_SWEEP_EVERY)
    assert sweep_due(T, T - timedelta(seconds=1))


def test_statuses_are_listed_only_where_a_tracked_job_has_them_and_gets_when_as_cheap():
    def stored(status: str, count: int) -> list[StoredJob]:
        return [StoredJob(f"{ARN}{status}{i}", status, T) for i in range(count)]

    assert statuses_to_list([], 1000) == ()
    assert statuses_to_list(stored("InProgress", 1), 1000) == ()  # one Get instead of one listing
    assert statuses_to_list(stored("InProgress", 1) + stored("Scheduled", 1), 1000) == ()
    assert statuses_to_list(stored("InProgress", 2), 1000) == ("InProgress",)
    assert statuses_to_list(stored("Stopping", 3) + stored("Submitted", 1), 1000) == ("Submitted", "Stopping")
    assert statuses_to_list(stored("Archived", 5), 1000) == ()  # not listable by status: read with a Get
    assert statuses_to_list(stored("InProgress", 3), 2) == ("InProgress",)  # 3 Gets against 2 pages


def test_the_finished_jobs_kept_are_those_the_next_window_shows_the_newest_first(monkeypatch):
    listed = [(f"{ARN[:-12]}{i:012d}", T + timedelta(seconds=i)) for i in range(10)]
    finished = {f"{i:012d}" for i in range(0, 10, 2)}
    assert finished_in_window(listed, finished, T + timedelta(seconds=3)) == {f"{i:012d}" for i in (4, 6, 8)}
    monkeypatch.setattr(rules, "FINISHED_LIMIT", 2)
    assert finished_in_window(listed, finished, T) == {f"{i:012d}" for i in (6, 8)}


def test_bedrocks_date_is_trusted_only_when_it_agrees_with_the_lambdas_clock():
    assert trusted_date(T, T + timedelta(minutes=4)) == T
    assert trusted_date(T + timedelta(minutes=5), T) == T + timedelta(minutes=5)
    assert trusted_date(T + timedelta(days=1), T) is None  # a proxy's own clock, a day off
    assert trusted_date(T - timedelta(minutes=6), T) is None
    assert trusted_date(None, T) is None
