"""Jobs whose records advance with the emulator's clock, and jobs that time out, read through boto3."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from local.bedrock_emulator import BedrockEmulator
from tests.local.test_bedrock_emulator_admin import admin, job_id

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def counts(job: dict[str, Any]) -> tuple[int, int, int]:
    return job["processedRecordCount"], job["successRecordCount"], job["errorRecordCount"]


def test_records_advance_with_the_clock_while_in_progress(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job(
        "steady", status="InProgress", totalRecordCount=1000, records_per_hour=400, error_share=0.1
    )

    first = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    bedrock.advance(timedelta(minutes=90))
    later = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert (first["status"], counts(first)) == ("InProgress", (0, 0, 0))
    assert (later["status"], counts(later)) == ("InProgress", (600, 540, 60))
    assert later["totalRecordCount"] == 1000
    assert later["lastModifiedTime"] == T0 + timedelta(minutes=90)
    assert "endTime" not in later
    listed = bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]
    assert [counts(job) for job in listed] == [(600, 540, 60)]


def test_the_job_completes_at_the_moment_its_last_record_finished(
    bedrock: BedrockEmulator, bedrock_client: Any
) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("finishing", status="InProgress", totalRecordCount=7, records_per_hour=3)
    finished = T0 + timedelta(hours=7) / 3  # 2 h 20 min

    bedrock.set_now(finished - timedelta(milliseconds=1))
    almost = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    bedrock.set_now(finished + timedelta(days=2))  # read long after: the job still ended when it did
    done = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert (almost["status"], almost["processedRecordCount"]) == ("InProgress", 6)
    assert (done["status"], counts(done)) == ("Completed", (7, 7, 0))
    assert done["endTime"] == done["lastModifiedTime"] == finished
    assert (
        bedrock_client.list_model_invocation_jobs(statusEquals="Completed")["invocationJobSummaries"][0]["jobArn"]
        == arn
    )


def test_a_job_that_completed_unread_cannot_be_stopped(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("quick", status="InProgress", totalRecordCount=10, records_per_hour=10)
    bedrock.advance(timedelta(hours=2))

    with pytest.raises(ClientError) as raised:
        bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    assert raised.value.response["Error"]["Code"] == "ConflictException"
    assert bedrock.job(arn)["endTime"] == T0 + timedelta(hours=1)


def test_records_advance_only_while_the_job_is_in_progress(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("queued", totalRecordCount=100, records_per_hour=10)
    bedrock.advance(timedelta(hours=5))
    queued = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    bedrock.set_status(arn, "InProgress")
    bedrock.advance(timedelta(hours=2))
    running = bedrock.job(arn)
    bedrock.set_status(arn, "Stopping")
    bedrock.advance(timedelta(hours=3))
    stopping = bedrock.job(arn)
    bedrock.set_status(arn, "InProgress")
    bedrock.advance(timedelta(hours=1))

    assert (queued["status"], queued["processedRecordCount"]) == ("Submitted", 0)
    assert running["processedRecordCount"] == 20
    assert stopping["processedRecordCount"] == 20
    assert bedrock.job(arn)["processedRecordCount"] == 30


def test_a_stalled_job_stays_in_progress_with_its_counts_frozen(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job(
        "stuck", status="InProgress", totalRecordCount=100, records_per_hour=20, stall_at=T0 + timedelta(hours=2)
    )
    bedrock.advance(timedelta(days=3))
    stalled = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    bedrock.set_progress(arn, 30)  # it picks up again from now, at a new rate
    bedrock.advance(timedelta(hours=1))
    resumed = bedrock.job(arn)

    assert (stalled["status"], stalled["processedRecordCount"]) == ("InProgress", 40)
    assert stalled["lastModifiedTime"] == T0 + timedelta(hours=2)
    assert resumed["processedRecordCount"] == 70


def test_stall_stops_records_from_now(bedrock: BedrockEmulator) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("stalls-now", status="InProgress", totalRecordCount=100, records_per_hour=10)
    bedrock.advance(timedelta(hours=1))

    bedrock.stall(arn)
    bedrock.advance(timedelta(hours=5))

    assert bedrock.job(arn)["processedRecordCount"] == 10
    with pytest.raises(ValueError, match="before the emulator's now"):
        bedrock.stall(arn, at=T0)


def test_explicit_counts_set_where_progress_goes_on_from(bedrock: BedrockEmulator) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("reset-counts", status="InProgress", totalRecordCount=100, records_per_hour=10)
    bedrock.advance(timedelta(hours=1))

    bedrock.set_status(arn, "InProgress", records={"processed": 50})
    bedrock.advance(timedelta(hours=1))

    assert bedrock.job(arn)["processedRecordCount"] == 60


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"records_per_hour": -1}, "non-negative number"),
        ({"records_per_hour": 1, "error_share": 1.5}, "between 0 and 1"),
        ({"records_per_hour": 1, "total": None}, "toward a total"),
    ],
)
def test_progress_refuses_what_cannot_advance(
    bedrock: BedrockEmulator, arguments: dict[str, Any], message: str
) -> None:
    arn = bedrock.create_job("bad-progress", status="InProgress")
    rate = arguments.pop("records_per_hour")

    with pytest.raises(ValueError, match=message):
        bedrock.set_progress(arn, rate, **arguments)
    creation = {name: value for name, value in arguments.items() if name != "total"}
    with pytest.raises(ValueError, match=message):
        bedrock.create_job("refused", status="InProgress", records_per_hour=rate, **creation)

    assert len(bedrock.job_arns()) == 1  # the refused job was not kept


def test_progress_through_the_admin_api(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    created = admin(
        bedrock,
        "POST",
        "/jobs",
        {"jobName": "by-http", "status": "InProgress", "progress": {"recordsPerHour": 100, "total": 300}},
    )
    arn = created[1]["jobArn"]
    later = bedrock.create_job("later", totalRecordCount=50)

    bedrock.advance(timedelta(hours=1))
    moved = admin(
        bedrock,
        "POST",
        f"/jobs/{job_id(later)}/status",
        {"status": "InProgress", "progress": {"recordsPerHour": 10, "errorShare": 0.3}},
    )
    stalled = admin(bedrock, "POST", f"/jobs/{job_id(arn)}/stall", {})
    bedrock.advance(timedelta(hours=1))
    faster = admin(bedrock, "POST", f"/jobs/{job_id(arn)}/progress", {"recordsPerHour": 200})
    bedrock.advance(timedelta(hours=1))

    assert created[0] == moved[0] == stalled[0] == faster[0] == 200
    assert stalled[1]["processedRecordCount"] == 100
    assert faster[1]["processedRecordCount"] == 100
    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    assert (job["status"], job["endTime"]) == ("Completed", T0 + timedelta(hours=3))
    assert counts(bedrock.job(later)) == (20, 14, 6)


@pytest.mark.parametrize(
    "progress",
    [{"errorShare": 0.1}, {"recordsPerHour": "fast"}, {"recordsPerHour": 1, "speed": 2}, "fast"],
)
def test_the_admin_api_refuses_bad_progress(bedrock: BedrockEmulator, progress: Any) -> None:
    arn = bedrock.create_job("admin-bad", status="InProgress", totalRecordCount=10)

    status, answer = admin(
        bedrock, "POST", f"/jobs/{job_id(arn)}/status", {"status": "InProgress", "progress": progress}
    )

    assert status == 400, answer
    assert "message" in answer


def test_jobs_do_not_time_out_unless_asked(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job("forever", timeoutDurationInHours=24)
    bedrock.advance(timedelta(days=30))

    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert job["status"] == "Submitted"
    assert job["jobExpirationTime"] == T0 + timedelta(hours=24)


def test_a_job_that_never_began_expires_at_its_expiration_time(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    bedrock.set_expiry(True)
    arn = bedrock_client.create_model_invocation_job(
        jobName="queued-too-long",
        roleArn="arn:aws:iam::123456789012:role/BatchRole",
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://team-batch/in/records.jsonl"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://team-batch/out/"}},
        timeoutDurationInHours=36,
    )["jobArn"]
    default = bedrock.create_job("default-timeout", status="Scheduled")
    deadline = T0 + timedelta(hours=36)

    bedrock.set_now(deadline - timedelta(milliseconds=1))
    before = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    bedrock.set_now(deadline + timedelta(hours=5))
    listed = bedrock_client.list_model_invocation_jobs(statusEquals="Expired")["invocationJobSummaries"]

    assert before["status"] == "Submitted"
    assert [job["jobArn"] for job in listed] == [arn]
    assert listed[0]["endTime"] == listed[0]["lastModifiedTime"] == listed[0]["jobExpirationTime"] == deadline
    assert bedrock.job(default)["jobExpirationTime"] == T0 + timedelta(hours=168)
    bedrock.advance(timedelta(hours=168))
    assert bedrock.job(default)["status"] == "Expired"


def test_a_job_with_records_done_when_time_runs_out_is_partially_completed(
    bedrock: BedrockEmulator, bedrock_client: Any
) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job(
        "too-big",
        status="InProgress",
        totalRecordCount=1000,
        records_per_hour=10,
        error_share=0.5,
        timeoutDurationInHours=24,
        expires=True,
    )
    bedrock.advance(timedelta(days=3))

    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert job["status"] == "PartiallyCompleted"
    assert counts(job) == (240, 120, 120)
    assert job["endTime"] == T0 + timedelta(hours=24)


def test_a_job_finished_before_its_deadline_is_completed(bedrock: BedrockEmulator) -> None:
    bedrock.set_now(T0)
    arn = bedrock.create_job(
        "in-time", status="InProgress", totalRecordCount=24, records_per_hour=1, timeoutDurationInHours=24, expires=True
    )
    bedrock.advance(timedelta(days=3))

    assert (bedrock.job(arn)["status"], bedrock.job(arn)["endTime"]) == ("Completed", T0 + timedelta(hours=24))


def test_expiry_can_be_chosen_per_job_and_through_the_admin_api(bedrock: BedrockEmulator) -> None:
    bedrock.set_now(T0)
    kept = bedrock.create_job("kept", timeoutDurationInHours=24, expires=False)
    timed = bedrock.create_job("timed", timeoutDurationInHours=24)
    plain = bedrock.create_job("plain", timeoutDurationInHours=24)

    assert admin(bedrock, "POST", f"/jobs/{job_id(timed)}/expiry", {"enabled": True})[0] == 200
    bedrock.advance(timedelta(hours=25))
    statuses_before = [bedrock.job(arn)["status"] for arn in (kept, timed, plain)]
    assert admin(bedrock, "POST", "/expiry", {"enabled": True}) == (200, {"enabled": True})

    assert statuses_before == ["Submitted", "Expired", "Submitted"]
    assert [bedrock.job(arn)["status"] for arn in (kept, timed, plain)] == ["Submitted", "Expired", "Expired"]
    assert bedrock.job(plain)["endTime"] == T0 + timedelta(hours=24)
    assert admin(bedrock, "POST", "/expiry", {"enabled": "yes"})[0] == 400


def test_reset_turns_expiry_back_off(bedrock: BedrockEmulator) -> None:
    bedrock.set_expiry(True)

    bedrock.reset()

    assert bedrock.expire_jobs is False


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(min_value=1, max_value=5000),
    rate=st.one_of(st.integers(min_value=1, max_value=2000), st.floats(min_value=0.5, max_value=2000)),
    share=st.sampled_from([0, 0.05, 0.1, 0.3, 1]),
    steps=st.lists(st.integers(min_value=1, max_value=6 * 3600 * 1000), min_size=1, max_size=12),
)
def test_counts_follow_the_clock_exactly_and_never_go_back(
    total: int, rate: float, share: float, steps: list[int]
) -> None:
    emulator = BedrockEmulator(now=T0)
    arn = emulator.create_job(
        "property", status="InProgress", totalRecordCount=total, records_per_hour=rate, error_share=share
    )
    exact_rate = Fraction(repr(rate)) if isinstance(rate, float) else Fraction(rate)
    finish = T0 + timedelta(milliseconds=math.ceil(total * 3_600_000 / exact_rate))
    elapsed = 0
    seen = 0
    for step in steps:
        elapsed += step
        emulator.advance(timedelta(milliseconds=step))
        job = emulator.job(arn)
        processed, success, errors = counts(job)
        expected = min(total, math.floor(exact_rate * elapsed / 3_600_000))
        assert processed == expected
        assert processed >= seen
        assert success + errors == processed
        assert errors == math.floor(processed * Fraction(repr(float(share))))
        seen = processed
        if T0 + timedelta(milliseconds=elapsed) >= finish:
            assert (job["status"], job["endTime"]) == ("Completed", finish)
        else:
            assert (job["status"], processed < total) == ("InProgress", True)
