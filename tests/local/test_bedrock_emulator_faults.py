"""Injected faults, hidden and deleted jobs, and call counting, seen through boto3."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.bedrock_emulator import GET, LIST, STOP, BedrockEmulator

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def error_of(call: Any, **params: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ValidationException", 400),
        ("ResourceNotFoundException", 404),
        ("ConflictException", 400),
        ("ThrottlingException", 429),
        ("InternalServerException", 500),
        ("AccessDeniedException", 403),
        ("ServiceQuotaExceededException", 400),
    ],
)
def test_each_modelled_error_surfaces_with_its_code_and_status(
    bedrock: BedrockEmulator, bedrock_client: Any, code: str, status: int
) -> None:
    arn = bedrock.create_job("faulty")
    bedrock.fail_next(GET, code=code, message=f"injected {code}")

    with pytest.raises(ClientError) as caught:
        bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    assert error["Error"]["Message"] == f"injected {code}"
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    assert isinstance(caught.value, getattr(bedrock_client.exceptions, code))


def test_a_code_outside_the_model_takes_the_status_given(bedrock_client: Any, bedrock: BedrockEmulator) -> None:
    bedrock.fail_next(LIST, code="ServiceUnavailableException", status=503)

    assert error_of(bedrock_client.list_model_invocation_jobs) == ("ServiceUnavailableException", 503)


def test_failures_last_for_count_calls_then_the_service_recovers(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.create_job("steady")
    bedrock.fail_next(LIST, count=2)

    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(len(bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]))
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    assert outcomes == ["ThrottlingException", "ThrottlingException", 1]
    assert bedrock.calls[LIST] == 3


def test_throttling_on_page_three_of_five_can_be_retried(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given five pages of jobs and the third list call from now throttled
    created = bedrock.create_jobs(50, start=T0)
    bedrock.fail_next(LIST, after=2)

    # When the pages are read, the throttled one retried with the same token
    seen: list[str] = []
    query: dict[str, Any] = {"maxResults": 10}
    throttled_on = []
    for page_number in range(1, 6):
        try:
            page = bedrock_client.list_model_invocation_jobs(**query)
        except ClientError as error:
            throttled_on.append((page_number, error.response["Error"]["Code"]))
            page = bedrock_client.list_model_invocation_jobs(**query)
        seen.extend(job["jobArn"] for job in page["invocationJobSummaries"])
        query["nextToken"] = page.get("nextToken")

    # Then only page three failed, once, and nothing was lost or repeated
    assert throttled_on == [(3, "ThrottlingException")]
    assert query["nextToken"] is None
    assert seen == created[::-1]
    assert bedrock.calls[LIST] == 6


def test_overlapping_rules_each_count_every_call(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.fail_next(LIST, code="InternalServerException", after=1)
    bedrock.fail_next(LIST, code="AccessDeniedException", after=3)

    outcomes = []
    for _ in range(5):
        try:
            bedrock_client.list_model_invocation_jobs()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    assert outcomes == ["ok", "InternalServerException", "ok", "AccessDeniedException", "ok"]


def test_any_operation_can_be_denied(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("denied")
    bedrock.fail_next("*", count=3, code="AccessDeniedException")

    assert error_of(bedrock_client.list_model_invocation_jobs) == ("AccessDeniedException", 403)
    assert error_of(bedrock_client.get_model_invocation_job, jobIdentifier=arn) == ("AccessDeniedException", 403)
    assert error_of(bedrock_client.stop_model_invocation_job, jobIdentifier=arn) == ("AccessDeniedException", 403)
    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] == "Submitted"


def test_a_failed_stop_changes_nothing(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("kept", status="InProgress")
    bedrock.fail_next(STOP, code="InternalServerException")

    assert error_of(bedrock_client.stop_model_invocation_job, jobIdentifier=arn) == ("InternalServerException", 500)
    assert bedrock.job(arn)["status"] == "InProgress"


def test_fault_rules_are_checked(bedrock: BedrockEmulator) -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        bedrock.fail_next("ListJobs")
    with pytest.raises(ValueError, match="count"):
        bedrock.fail_next(LIST, count=0)


def test_latency_slows_one_operation(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("slow")
    bedrock.add_latency(GET, 0.3)

    started = time.perf_counter()
    bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    slow = time.perf_counter() - started
    bedrock_client.list_model_invocation_jobs()
    bedrock.add_latency(GET, 0)
    bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    # Only the slowed Get waited (a lower bound only: a loaded machine is slower, never faster)
    assert slow >= 0.3
    assert bedrock.delays == [(GET, 0.3)]


def test_a_hidden_job_is_missing_from_lists_but_found_by_get(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given a job the listing has not caught up with for two calls
    visible = bedrock.create_job("visible", submit_time=T0)
    hidden = bedrock.create_job("lagging", submit_time=T0)
    bedrock.hide_from_list(hidden, list_calls=2)

    # When it is listed three times, and read directly
    listings = [
        {job["jobArn"] for job in bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]}
        for _ in range(3)
    ]
    direct = bedrock_client.get_model_invocation_job(jobIdentifier=hidden)

    # Then only the third listing shows it, while Get always did
    assert listings == [{visible}, {visible}, {visible, hidden}]
    assert direct["jobArn"] == hidden


def test_a_lag_bounded_in_time_ends_at_its_moment_with_list_calls_left(
    bedrock: BedrockEmulator, bedrock_client: Any
) -> None:
    bedrock.set_now(T0)
    hidden = bedrock.create_job("lagging", submit_time=T0)
    bedrock.hide_from_list(hidden, list_calls=10, until=T0 + timedelta(minutes=5))

    def listed() -> bool:
        return hidden in {
            job["jobArn"] for job in bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]
        }

    assert not listed()
    bedrock.advance(timedelta(minutes=4, seconds=59))
    assert not listed()
    bedrock.advance(timedelta(seconds=1))
    assert listed()
    assert listed()  # and it stays shown


def test_a_hidden_job_does_not_hold_a_token_open(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    first, second = bedrock.create_jobs(2, start=T0)
    bedrock.hide_from_list(second, list_calls=1)

    page = bedrock_client.list_model_invocation_jobs(maxResults=1)

    assert [job["jobArn"] for job in page["invocationJobSummaries"]] == [first]
    assert "nextToken" not in page


def test_a_deleted_job_is_gone(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    kept, deleted = bedrock.create_jobs(2, start=T0)

    bedrock.delete_job(deleted)

    assert error_of(bedrock_client.get_model_invocation_job, jobIdentifier=deleted) == (
        "ResourceNotFoundException",
        404,
    )
    listed = bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]
    assert [job["jobArn"] for job in listed] == [kept]
    with pytest.raises(KeyError):
        bedrock.job(deleted)


def test_every_call_is_counted_and_logged(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("counted", status="InProgress")
    bedrock.fail_next(GET)

    with pytest.raises(ClientError):
        bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    bedrock_client.list_model_invocation_jobs(statusEquals="InProgress", maxResults=5)
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    assert bedrock.calls == {GET: 2, LIST: 1, STOP: 1}
    assert bedrock.requests == [
        (GET, {"jobIdentifier": arn}),
        (GET, {"jobIdentifier": arn}),
        (LIST, {"statusEquals": "InProgress", "maxResults": "5"}),
        (STOP, {"jobIdentifier": arn}),
    ]


def test_reset_forgets_everything(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("forgotten")
    bedrock.fail_next(LIST, count=5)
    bedrock.add_latency(LIST, 0.05)
    bedrock.set_now(T0)
    bedrock.stop_after_reads = None
    with pytest.raises(ClientError):
        bedrock_client.list_model_invocation_jobs()

    bedrock.reset()

    assert bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"] == []
    assert error_of(bedrock_client.get_model_invocation_job, jobIdentifier=arn) == ("ResourceNotFoundException", 404)
    assert bedrock.calls == {LIST: 1, GET: 1}
    assert bedrock.now() > T0
    assert bedrock.stop_after_reads == 1


def test_clear_faults_keeps_jobs_and_counters(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("kept")
    bedrock.hide_from_list(arn, 10)
    bedrock.fail_next(GET, count=10)
    bedrock.add_latency("*", 1.0)

    bedrock.clear_faults()

    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["jobArn"] == arn
    assert [job["jobArn"] for job in bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]] == [arn]
    assert bedrock.calls == {GET: 1, LIST: 1}
