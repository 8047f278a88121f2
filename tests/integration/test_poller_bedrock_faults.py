"""The poller against a Bedrock that answers badly: transient 404s, rejected tokens, slow calls, stale reads,
statuses from a newer API; and a quiet account whose items expire by TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.errors import BedrockUnavailable, InvalidEvent
from notifier.poller import bedrock as bedrock_adapter
from notifier.poller import handler
from notifier.poller.rules import FULL_SWEEP_EVERY
from tests.conftest import FakeLambdaContext
from tests.fixtures.aws import ACCOUNT_ID, REGION
from tests.integration.poller_harness import Harness

LIST = "ListModelInvocationJobs"
GET = "GetModelInvocationJob"
LISTS_PER_POLL = 6  # the most one poll lists: the new-jobs window and, in a full sweep, each non-terminal status
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def frozen(harness: Harness) -> Harness:
    """The emulator's clock (the Lambda's too, in the harness) stands still until a test moves it."""
    harness.bedrock.set_now(T0)
    return harness


def job_item(harness: Harness, job: str) -> dict:
    return next(i for i in harness.table_items() if i["pk"]["S"] == f"JOB#{job}")


def lose_for_one_poll(harness: Harness, job: str) -> None:
    """Listings lag and Get answers 404 for one poll, as Bedrock now and then does for a running job."""
    harness.bedrock.hide_from_list(job, list_calls=LISTS_PER_POLL)
    harness.bedrock.fail_next(GET, code="ResourceNotFoundException")


def test_a_transient_404_does_not_retire_a_running_job(frozen):
    bedrock = frozen.bedrock
    frozen.poll()  # baseline
    job = bedrock.create_job("flaky", status="InProgress", submit_time=T0 - timedelta(hours=2))
    frozen.poll()
    lose_for_one_poll(frozen, job)
    frozen.poll()
    assert bedrock.calls[GET] == 1
    assert "openPk" in job_item(frozen, job)
    bedrock.advance(timedelta(minutes=5))
    frozen.poll()  # visible again: the count of misses starts over
    assert "missedPolls" not in job_item(frozen, job)
    bedrock.set_status(job, "Completed")
    frozen.poll()
    assert frozen.transitions() == [("flaky", None, "InProgress"), ("flaky", "InProgress", "Completed")]


def test_a_retired_job_seen_running_again_is_followed_to_its_end(frozen):
    bedrock = frozen.bedrock
    frozen.poll()
    job = bedrock.create_job("lost-and-found", status="InProgress", submit_time=T0 - timedelta(hours=2))
    frozen.poll()
    for _ in range(3):  # three polls over an hour miss it: it is retired
        lose_for_one_poll(frozen, job)
        frozen.poll()
        bedrock.advance(timedelta(minutes=30))
    assert job_item(frozen, job)["retired"]["BOOL"] is True
    assert "openPk" not in job_item(frozen, job)
    bedrock.advance(FULL_SWEEP_EVERY)
    frozen.poll()  # no longer tracked: the next full sweep of the running statuses shows it again
    item = job_item(frozen, job)
    assert "openPk" in item
    assert "retired" not in item
    assert "expiresAt" not in item
    bedrock.set_status(job, "Completed")
    frozen.poll()
    assert frozen.transitions() == [
        ("lost-and-found", None, "InProgress"),
        ("lost-and-found", "InProgress", "Completed"),
    ]


def test_with_no_lookback_a_job_that_starts_and_ends_between_two_polls_is_published(frozen, monkeypatch):
    monkeypatch.setenv("BASELINE_LOOKBACK_DAYS", "0")
    bedrock = frozen.bedrock
    frozen.poll()  # an account with no recent job: nothing seen, so no watermark from Bedrock
    bedrock.advance(timedelta(minutes=2))
    job = bedrock.create_job("quick")
    bedrock.advance(timedelta(minutes=1))
    bedrock.set_status(job, "Completed")
    bedrock.advance(timedelta(minutes=2))
    frozen.poll()
    assert frozen.transitions() == [("quick", None, "Completed")]


def test_a_next_token_rejected_mid_listing_ends_the_listing_and_still_publishes(harness, monkeypatch):
    monkeypatch.setattr(bedrock_adapter, "PAGE_SIZE", 10)  # pages of 10 rather than 1,000 keep the test short
    bedrock = harness.bedrock
    harness.poll()
    arns = bedrock.create_jobs(15, step=timedelta(milliseconds=10), status="InProgress")
    bedrock.fail_next(LIST, code="ValidationException", after=1, message="The nextToken is not valid.")
    with pytest.raises(BedrockUnavailable, match="ValidationException"):
        harness.poll()
    published = {d["jobArn"] for d in harness.notices()}
    assert published == set(arns[:10])  # page 1, recorded and published in the same run
    harness.poll()
    assert {d["jobArn"] for d in harness.notices()} == set(arns)


def test_a_bedrock_call_slower_than_the_time_left_is_cut_off_at_the_deadline(harness, monkeypatch):
    monkeypatch.setenv("TIMEOUT_RESERVE_SECONDS", "3")
    harness.poll()
    harness.bedrock.create_job("waiting", status="InProgress")
    harness.bedrock.add_latency(LIST, 3.5)
    harness.bedrock.calls.clear()
    # 5 s left and 3 s kept in reserve: a call may take 2 s, so a 3.5 s answer is not waited for
    with pytest.raises(BedrockUnavailable, match="timeout"):
        harness.poll(context=FakeLambdaContext(remaining_ms=5_000))
    assert harness.bedrock.calls[LIST] == 1  # no retry that the time left could not hold


def test_a_quiet_account_does_not_announce_its_last_jobs_again_when_their_items_expire(frozen):
    bedrock = frozen.bedrock
    frozen.poll()
    job = bedrock.create_job("last-for-a-while", status="InProgress")
    bedrock.advance(timedelta(hours=1))
    bedrock.set_status(job, "Completed")
    frozen.poll()
    assert frozen.transitions() == [("last-for-a-while", None, "Completed")]
    for _ in range(8):  # no job submitted for a month; polls go on, the watermark does not move
        bedrock.advance(timedelta(days=4))
        assert frozen.expire_items() in (0, 1)  # as DynamoDB's TTL would
        frozen.poll()
    assert f"JOB#{job}" not in {i["pk"]["S"] for i in frozen.table_items()}  # its item did expire
    assert frozen.transitions() == [("last-for-a-while", None, "Completed")]
    bedrock.create_job("back-to-work", status="InProgress")
    frozen.poll()  # a job submitted after the quiet month is still found
    assert frozen.transitions() == [("last-for-a-while", None, "Completed"), ("back-to-work", None, "InProgress")]


def test_a_get_answering_an_older_status_without_a_modification_time_changes_nothing(frozen):
    bedrock = frozen.bedrock
    frozen.poll()
    job = bedrock.create_job("stale-read", status="Scheduled", submit_time=T0 - timedelta(hours=2))
    bedrock.advance(timedelta(minutes=1))
    bedrock.set_status(job, "InProgress")
    frozen.poll()
    # the listings miss it, and Get answers the older status with no lastModifiedTime
    bedrock.overwrite_job(job, status="Scheduled", lastModifiedTime=None)
    bedrock.hide_from_list(job, list_calls=LISTS_PER_POLL)
    bedrock.calls.clear()
    frozen.poll()
    assert bedrock.calls[GET] == 1
    assert job_item(frozen, job)["status"]["S"] == "InProgress"
    bedrock.overwrite_job(job, status="InProgress", lastModifiedTime=T0 + timedelta(minutes=1))
    frozen.poll()
    assert frozen.transitions() == [("stale-read", None, "InProgress")]


def test_jobs_ended_in_an_unknown_status_are_published_once_then_cost_no_get(frozen):
    bedrock = frozen.bedrock
    arns = bedrock.create_jobs(30, start=T0 - timedelta(hours=6), step=timedelta(minutes=1), status="InProgress")
    bedrock.create_job("recent", status="Completed")  # keeps the new-jobs window away from the others
    frozen.poll()  # baseline: 30 running jobs
    for arn in arns:  # a newer API ends them in a status this version does not know
        bedrock.overwrite_job(arn, status="Cancelled", lastModifiedTime=bedrock.now(), endTime=bedrock.now())
    frozen.poll()
    assert sorted(d["status"] for d in frozen.notices()) == ["Cancelled"] * 30
    bedrock.advance(timedelta(hours=2))
    frozen.poll()  # unchanged for two hours, with an endTime: they are over
    bedrock.calls.clear()
    frozen.poll()
    assert bedrock.calls[GET] == 0
    assert bedrock.calls[LIST] == 1  # the new-jobs window: nothing tracked is older than it
    assert len(frozen.notices()) == 30


def test_jobs_in_an_unknown_status_without_an_end_are_read_until_they_would_have_expired(frozen):
    bedrock = frozen.bedrock
    arns = bedrock.create_jobs(3, start=T0 - timedelta(hours=6), step=timedelta(minutes=1), status="InProgress")
    bedrock.create_job("recent", status="Completed")  # keeps the new-jobs window away from the others
    frozen.poll()  # baseline: 3 running jobs
    for arn in arns:  # a status this version does not know, and no endTime
        bedrock.overwrite_job(arn, status="Cancelled", lastModifiedTime=bedrock.now())
    frozen.poll()
    bedrock.advance(timedelta(hours=2))
    bedrock.calls.clear()
    frozen.poll()
    assert bedrock.calls[GET] == 3  # they may still be running, in a status yet to come
    expires = max(bedrock.job(arn)["jobExpirationTime"] for arn in arns)
    bedrock.advance(expires + timedelta(hours=1) - bedrock.now())
    frozen.poll()  # an hour past the time Bedrock would have ended them: they are over
    bedrock.calls.clear()
    frozen.poll()
    assert bedrock.calls[GET] == 0
    assert sorted(d["status"] for d in frozen.notices()) == ["Cancelled"] * 3


def state_change(job_arn: str) -> dict:
    return {
        "detail-type": "Batch Inference Job State Change",
        "source": "aws.bedrock",
        "detail": {"batchJobArn": job_arn, "status": "Completed"},
    }


def test_a_malformed_job_arn_in_an_event_is_rejected_by_name_before_any_call(harness, lambda_context):
    bad = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/Not-A-Job"
    with pytest.raises(InvalidEvent, match="is not a Bedrock batch job ARN"):
        handler(state_change(bad), lambda_context, dependencies=harness.dependencies())
    assert harness.bedrock.calls[GET] == 0


def test_a_job_of_another_account_is_rejected_as_such_not_as_a_missing_permission(harness, lambda_context):
    other = f"arn:aws:bedrock:{REGION}:210987654321:model-invocation-job/abc123def456"
    harness.bedrock.fail_next(GET, code="AccessDeniedException")  # what Bedrock answers for it
    with pytest.raises(InvalidEvent, match="belongs to account 210987654321"):
        handler(state_change(other), lambda_context, dependencies=harness.dependencies())
    assert harness.bedrock.calls[GET] == 0
