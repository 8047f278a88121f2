"""The emulator's jobs through boto3: create, get, stop, statuses, record counts and the clock."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.bedrock_emulator import STATUSES, TERMINAL_STATUSES, BedrockEmulator
from tests.fixtures.aws import ACCOUNT_ID, REGION
from tests.fixtures.bedrock import assert_matches_shape

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/BatchRole"
ARN = re.compile(rf"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/[a-z0-9]{{12}}")


def submit(client: Any, name: str = "nightly-eval", **extra: Any) -> str:
    return str(
        client.create_model_invocation_job(
            jobName=name,
            roleArn=ROLE,
            modelId="anthropic.claude-3-haiku-20240307-v1:0",
            inputDataConfig={
                "s3InputDataConfig": {"s3Uri": "s3://team-batch/in/records.jsonl", "s3InputFormat": "JSONL"}
            },
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://team-batch/out/"}},
            **extra,
        )["jobArn"]
    )


def error_of(call: Any, **params: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def unvalidated_client() -> Any:
    """A client that sends what botocore would refuse, to see the service's own validation."""
    return boto3.client(
        "bedrock", region_name=REGION, config=Config(parameter_validation=False, retries={"total_max_attempts": 1})
    )


def test_create_then_get_returns_what_was_submitted(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given a stopped clock
    bedrock.set_now(T0)
    vpc = {"subnetIds": ["subnet-0a1b2c"], "securityGroupIds": ["sg-0a1b2c"]}

    # When a job is submitted with every optional member
    arn = submit(
        bedrock_client,
        vpcConfig=vpc,
        timeoutDurationInHours=48,
        modelInvocationType="Converse",
        tags=[{"key": "team", "value": "search"}],
    )

    # Then Get, by ARN and by job id, describes it
    assert ARN.fullmatch(arn)
    by_arn = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    by_id = bedrock_client.get_model_invocation_job(jobIdentifier=arn.rsplit("/", 1)[1])
    by_arn.pop("ResponseMetadata")
    by_id.pop("ResponseMetadata")
    assert by_arn == by_id
    assert by_arn["jobArn"] == arn
    assert by_arn["jobName"] == "nightly-eval"
    assert by_arn["roleArn"] == ROLE
    assert by_arn["status"] == "Submitted"
    assert by_arn["submitTime"] == by_arn["lastModifiedTime"] == T0
    assert by_arn["jobExpirationTime"] == T0 + timedelta(hours=48)
    assert by_arn["timeoutDurationInHours"] == 48
    assert by_arn["modelInvocationType"] == "Converse"
    assert by_arn["vpcConfig"] == vpc
    assert by_arn["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == "s3://team-batch/in/records.jsonl"
    assert "endTime" not in by_arn
    assert "totalRecordCount" not in by_arn


def test_get_answers_every_member_the_model_describes(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given a finished job with every member set
    arn = submit(bedrock_client, vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]})
    bedrock.set_status(
        arn, "PartiallyCompleted", "2 records failed", {"total": 10, "processed": 10, "success": 8, "error": 2}
    )
    operation = bedrock_client.meta.service_model.operation_model("GetModelInvocationJob")

    # When it is read through boto3 and as raw JSON
    parsed = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    with urllib.request.urlopen(f"{bedrock.url}/model-invocation-job/{arn.rsplit('/', 1)[1]}") as response:  # noqa: S310
        raw = json.load(response)

    # Then both match the model's output shape, with every member present
    assert_matches_shape(parsed, operation.output_shape)
    assert_matches_shape(raw, operation.output_shape, wire=True)
    assert set(operation.output_shape.members) == set(raw)


def test_the_same_client_request_token_creates_one_job(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    first = submit(bedrock_client, clientRequestToken="retry-1")
    again = submit(bedrock_client, clientRequestToken="retry-1")

    assert again == first
    assert bedrock.job_arns() == [first]
    assert bedrock.job(first)["clientRequestToken"] == "retry-1"
    assert error_of(submit, client=bedrock_client, name="other-name", clientRequestToken="retry-1") == (
        "ConflictException",
        400,
    )


def test_boto3_fills_in_a_client_request_token(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    submit(bedrock_client)
    submit(bedrock_client)

    tokens = [bedrock.job(arn)["clientRequestToken"] for arn in bedrock.job_arns()]
    assert len(set(tokens)) == 2


@pytest.mark.parametrize(
    ("extra", "member"),
    [
        ({"timeoutDurationInHours": 10}, "timeoutDurationInHours"),
        ({"timeoutDurationInHours": 169}, "timeoutDurationInHours"),
        ({"modelInvocationType": "Stream"}, "modelInvocationType"),
        ({"name": "no spaces allowed"}, "jobName"),
        ({"roleArn": "not-a-role"}, "roleArn"),
        ({"inputDataConfig": {}}, "inputDataConfig"),
    ],
)
def test_create_validates_against_the_model(bedrock: BedrockEmulator, extra: dict[str, Any], member: str) -> None:
    client = unvalidated_client()
    params: dict[str, Any] = {
        "jobName": extra.pop("name", "ok-name"),
        "roleArn": ROLE,
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://team-batch/in.jsonl"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://team-batch/out/"}},
        **extra,
    }

    with pytest.raises(ClientError) as caught:
        client.create_model_invocation_job(**params)

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert member in caught.value.response["Error"]["Message"]
    assert bedrock.job_arns() == []


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_of_the_model_reads_back(bedrock: BedrockEmulator, bedrock_client: Any, status: str) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("status-check")
    bedrock.advance(timedelta(hours=3))

    bedrock.set_status(arn, status)

    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    assert job["status"] == status
    assert job["lastModifiedTime"] == T0 + timedelta(hours=3)
    assert job.get("endTime") == (T0 + timedelta(hours=3) if status in TERMINAL_STATUSES else None)


def test_end_time_is_stamped_on_entering_a_terminal_status(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given a job that runs for two days
    bedrock.set_now(T0)
    arn = bedrock.create_job("long-run")
    bedrock.advance(timedelta(minutes=5))
    bedrock.set_status(arn, "InProgress", records={"total": 1000})
    bedrock.advance(timedelta(days=2))

    # When it completes, and later its counts are corrected
    bedrock.set_status(arn, "Completed", records={"processed": 1000, "success": 990, "error": 10})
    bedrock.advance(timedelta(minutes=1))
    bedrock.set_status(arn, "Completed", message="10 records were malformed")

    # Then endTime stays at the completion and lastModifiedTime follows each change
    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    assert job["submitTime"] == T0
    assert job["endTime"] == T0 + timedelta(days=2, minutes=5)
    assert job["lastModifiedTime"] == T0 + timedelta(days=2, minutes=6)
    assert job["message"] == "10 records were malformed"
    counts = [job[f"{kind}RecordCount"] for kind in ("total", "processed", "success", "error")]
    assert counts == [1000, 1000, 990, 10]


def test_a_status_outside_the_model_is_served_as_is(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("future-status")

    bedrock.set_status(arn, "Archived")

    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] == "Archived"
    assert "endTime" not in bedrock_client.get_model_invocation_job(jobIdentifier=arn)


def test_stop_shows_stopping_once_then_stopped(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given a running job
    bedrock.set_now(T0)
    arn = bedrock.create_job("to-stop", status="InProgress")
    bedrock.advance(timedelta(hours=1))

    # When it is stopped
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    # Then the next read sees Stopping and the one after sees Stopped, ended at the stop
    first = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    second = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    assert first["status"] == "Stopping"
    assert "endTime" not in first
    assert second["status"] == "Stopped"
    assert second["endTime"] == T0 + timedelta(hours=1)


def test_a_list_that_shows_stopping_counts_as_a_read(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("to-stop", status="Scheduled")
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    seen = [bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"][0]["status"] for _ in range(2)]

    assert seen == ["Stopping", "Stopped"]


def test_stop_can_wait_for_complete_stops(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.stop_after_reads = None
    arn = bedrock.create_job("slow-stop", status="InProgress")
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)
    statuses = [bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] for _ in range(3)]

    stopped = bedrock.complete_stops()

    assert statuses == ["Stopping"] * 3
    assert stopped == [arn]
    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] == "Stopped"


@pytest.mark.parametrize(("reads", "expected"), [(0, ["Stopped"]), (3, ["Stopping"] * 3 + ["Stopped"])])
def test_stop_after_reads_is_configurable(
    bedrock: BedrockEmulator, bedrock_client: Any, reads: int, expected: list[str]
) -> None:
    bedrock.stop_after_reads = reads
    arn = bedrock.create_job("configured-stop", status="Validating")
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    statuses = [bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] for _ in expected]

    assert statuses == expected


def test_stopping_a_stopping_job_changes_nothing(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.stop_after_reads = None
    arn = bedrock.create_job("twice", status="InProgress")
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)
    before = bedrock.job(arn)

    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    assert bedrock.job(arn) == before


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_stopping_a_finished_job_is_a_conflict(bedrock: BedrockEmulator, bedrock_client: Any, status: str) -> None:
    arn = bedrock.create_job("finished", status=status)

    assert error_of(bedrock_client.stop_model_invocation_job, jobIdentifier=arn) == ("ConflictException", 400)
    assert bedrock.job(arn)["status"] == status


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("abcdefghijkl", ("ResourceNotFoundException", 404)),
        (
            f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/abcdefghijkl",
            ("ResourceNotFoundException", 404),
        ),
        ("not-a-job-id", ("ValidationException", 400)),
        ("ABCDEFGHIJKL", ("ValidationException", 400)),
    ],
)
@pytest.mark.parametrize("operation", ["get_model_invocation_job", "stop_model_invocation_job"])
def test_unknown_or_malformed_identifiers(
    bedrock_client: Any, operation: str, identifier: str, expected: tuple[str, int]
) -> None:
    assert error_of(getattr(bedrock_client, operation), jobIdentifier=identifier) == expected


def test_a_job_arn_of_another_account_is_not_found(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("mine")
    elsewhere = arn.replace(ACCOUNT_ID, "210987654321")

    assert error_of(bedrock_client.get_model_invocation_job, jobIdentifier=elsewhere) == (
        "ResourceNotFoundException",
        404,
    )


def test_the_arn_in_the_path_arrives_decoded(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("encoded")

    bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert bedrock.requests == [("GetModelInvocationJob", {"jobIdentifier": arn})]


def test_jobs_are_stamped_with_the_emulator_clock_not_the_callers(
    bedrock: BedrockEmulator, bedrock_client: Any
) -> None:
    # Given an emulator clock running ten minutes ahead of the caller's
    bedrock.advance(timedelta(minutes=10))
    caller_now = datetime.now(UTC)

    # When a job is submitted
    arn = submit(bedrock_client)

    # Then its submitTime is on the emulator's clock, and a caller's "after now" finds it
    submitted = bedrock_client.get_model_invocation_job(jobIdentifier=arn)["submitTime"]
    assert timedelta(minutes=9) < submitted - caller_now < timedelta(minutes=11)
    listed = bedrock_client.list_model_invocation_jobs(submitTimeAfter=caller_now)["invocationJobSummaries"]
    assert [job["jobArn"] for job in listed] == [arn]


def test_the_clock_can_be_frozen_advanced_and_reset() -> None:
    emulator = BedrockEmulator(now=T0)

    assert emulator.now() == T0
    time.sleep(0.01)
    assert emulator.now() == T0
    emulator.advance(timedelta(days=3))
    assert emulator.now() == T0 + timedelta(days=3)
    emulator.set_now(T0 - timedelta(days=1))
    assert emulator.now() == T0 - timedelta(days=1)
    emulator.reset()
    assert emulator.now() == T0


def test_the_clock_can_follow_a_callable() -> None:
    moments = iter([T0, T0 + timedelta(seconds=30)])
    emulator = BedrockEmulator(clock=lambda: next(moments))

    assert emulator.now() == T0
    assert emulator.now() == T0 + timedelta(seconds=30)


def test_the_live_clock_ticks_at_millisecond_precision() -> None:
    emulator = BedrockEmulator()

    before = emulator.now()
    time.sleep(0.005)
    after = emulator.now()

    assert after > before
    assert before.microsecond % 1000 == 0
    assert abs(before - datetime.now(UTC)) < timedelta(seconds=1)


def test_create_jobs_makes_ten_thousand_in_submit_order(bedrock: BedrockEmulator) -> None:
    bedrock.set_now(T0)

    arns = bedrock.create_jobs(10_000, name_prefix="bench", step=timedelta(seconds=2))

    assert len(set(arns)) == 10_000
    assert all(ARN.fullmatch(arn) for arn in arns[:100])
    assert bedrock.job_arns() == arns
    first, last = bedrock.job(arns[0]), bedrock.job(arns[-1])
    assert first["jobName"] == "bench-000000"
    assert last["submitTime"] == T0
    assert first["submitTime"] == T0 - timedelta(seconds=2 * 9_999)


def test_create_job_takes_model_members_and_refuses_others(bedrock: BedrockEmulator) -> None:
    arn = bedrock.create_job(
        "with-fields",
        submit_time=T0,
        status="Failed",
        message="bad input",
        endTime=T0 + timedelta(minutes=3),
        totalRecordCount=5,
    )

    job = bedrock.job(arn)
    assert (job["status"], job["message"], job["endTime"], job["totalRecordCount"]) == (
        "Failed",
        "bad input",
        T0 + timedelta(minutes=3),
        5,
    )
    with pytest.raises(ValueError, match="tagz"):
        bedrock.create_job("typo", tagz=[])
    with pytest.raises(ValueError, match="record counts"):
        bedrock.set_status(arn, "Failed", records={"total": -1})
    with pytest.raises(KeyError):
        bedrock.set_status("abcdefghijkl", "Failed")


def test_job_returns_a_copy(bedrock: BedrockEmulator) -> None:
    arn = bedrock.create_job("copy")

    bedrock.job(arn)["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] = "s3://changed/"

    assert bedrock.job(arn)["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] != "s3://changed/"
