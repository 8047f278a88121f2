from datetime import UTC, datetime, timedelta

from notifier.core.jobs import DEFAULT_NOTIFY_STATUSES, JobSnapshot
from notifier.poller.rules import NotifyRule, StoredJob, advance_watermark, detect_change, listing_start

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
    assert listing_start(T, timedelta(minutes=10), T + timedelta(days=1), timedelta(days=8)) == T - timedelta(
        minutes=10
    )
    assert listing_start(None, timedelta(minutes=10), T, timedelta(days=8)) == T - timedelta(days=8)


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
