"""The manifest.json.out a job leaves in S3 (moto) when it ends, as Bedrock writes it."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local.bedrock_emulator import (
    DEFAULT_INPUT_TOKENS_PER_RECORD,
    DEFAULT_OUTPUT_TOKENS_PER_RECORD,
    TERMINAL_STATUSES,
    BedrockEmulator,
)
from tests.fixtures.aws import REGION
from tests.local.test_bedrock_emulator_admin import REPO, admin, job_id
from tests.local.test_bedrock_emulator_jobs import submit

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BUCKET = "team-batch"  # the output bucket of tests.local.test_bedrock_emulator_jobs.submit
MANIFEST_FIELDS = {
    "totalRecordCount",
    "processedRecordCount",
    "successRecordCount",
    "errorRecordCount",
    "inputTokenCount",
    "outputTokenCount",
}


@pytest.fixture
def s3(aws: str, bedrock: BedrockEmulator) -> Iterator[Any]:
    """moto's S3 with the output bucket, and the emulator writing manifests to it."""
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    bedrock.set_s3(client)
    yield client
    bedrock.set_s3(None)


def keys(client: Any, bucket: str = BUCKET) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def read_manifest(client: Any, arn: str) -> dict[str, Any]:
    body = client.get_object(Bucket=BUCKET, Key=f"out/{job_id(arn)}/manifest.json.out")["Body"].read()
    return dict(json.loads(body))


def test_a_job_that_completes_leaves_its_manifest_under_its_output_location(
    bedrock: BedrockEmulator, bedrock_client: Any, s3: Any
) -> None:
    bedrock.set_now(T0)
    arn = submit(bedrock_client, "with-manifest")
    bedrock.set_status(arn, "InProgress")
    bedrock.set_progress(arn, 100, total=250, error_share=0.2)

    bedrock.advance(timedelta(hours=2))
    running = keys(s3)
    bedrock.advance(timedelta(hours=1))
    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert running == []
    assert job["status"] == "Completed"
    assert keys(s3) == [f"out/{job_id(arn)}/manifest.json.out"]
    assert read_manifest(s3, arn) == {
        "totalRecordCount": 250,
        "processedRecordCount": 250,
        "successRecordCount": 200,
        "errorRecordCount": 50,
        "inputTokenCount": 250 * DEFAULT_INPUT_TOKENS_PER_RECORD,
        "outputTokenCount": 200 * DEFAULT_OUTPUT_TOKENS_PER_RECORD,
    }


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_every_terminal_status_writes_the_manifest(
    bedrock: BedrockEmulator, bedrock_client: Any, s3: Any, status: str
) -> None:
    arn = submit(bedrock_client, "ends")

    bedrock.set_status(arn, status, records={"total": 10, "processed": 4, "success": 3, "error": 1})

    manifest = read_manifest(s3, arn)
    assert set(manifest) == MANIFEST_FIELDS
    assert (manifest["processedRecordCount"], manifest["errorRecordCount"]) == (4, 1)
    assert manifest == bedrock.manifest(arn)


def test_a_job_that_is_still_running_has_no_manifest(bedrock: BedrockEmulator, bedrock_client: Any, s3: Any) -> None:
    arn = submit(bedrock_client, "running")

    for status in ("Validating", "Scheduled", "InProgress", "Stopping"):
        bedrock.set_status(arn, status)

    assert keys(s3) == []


def test_a_stopped_job_and_an_expired_one_write_theirs(bedrock: BedrockEmulator, bedrock_client: Any, s3: Any) -> None:
    bedrock.set_now(T0)
    stopped = submit(bedrock_client, "stopped")
    expired = submit(bedrock_client, "expired", timeoutDurationInHours=24)
    bedrock.set_expiry(True, expired)
    bedrock.set_status(stopped, "InProgress")
    bedrock.set_progress(stopped, 10, total=100)
    bedrock.advance(timedelta(hours=3))

    bedrock_client.stop_model_invocation_job(jobIdentifier=stopped)
    bedrock_client.get_model_invocation_job(jobIdentifier=stopped)  # Stopping shown once
    bedrock_client.get_model_invocation_job(jobIdentifier=stopped)  # then Stopped
    bedrock.advance(timedelta(days=1))  # the clock alone ends the other

    assert read_manifest(s3, stopped)["processedRecordCount"] == 30
    assert read_manifest(s3, expired) == dict.fromkeys(MANIFEST_FIELDS, 0)


def test_a_job_created_as_ended_has_its_manifest(bedrock: BedrockEmulator, s3: Any) -> None:
    arn = bedrock.create_job(
        "already-done",
        status="Completed",
        totalRecordCount=3,
        processedRecordCount=3,
        successRecordCount=3,
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}"}},
    )

    assert keys(s3) == [f"{job_id(arn)}/manifest.json.out"]
    assert bedrock.manifest_location(arn) == (BUCKET, f"{job_id(arn)}/manifest.json.out")


def test_a_job_refused_at_creation_leaves_no_manifest(bedrock: BedrockEmulator, s3: Any) -> None:
    output = {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}}
    with pytest.raises(ValueError, match="non-negative"):
        bedrock.create_job("refused", status="Completed", records_per_hour=-1, outputDataConfig=output)

    accepted = bedrock.create_job("accepted", status="Failed", outputDataConfig=output)

    assert keys(s3) == [f"out/{job_id(accepted)}/manifest.json.out"]


def test_token_counts_follow_the_emulator_rates(bedrock: BedrockEmulator, bedrock_client: Any, s3: Any) -> None:
    bedrock.input_tokens_per_record, bedrock.output_tokens_per_record = 7, 3
    try:
        arn = submit(bedrock_client, "priced")
        bedrock.set_status(arn, "Completed", records={"total": 5, "processed": 5, "success": 4, "error": 1})
    finally:
        bedrock.input_tokens_per_record = DEFAULT_INPUT_TOKENS_PER_RECORD
        bedrock.output_tokens_per_record = DEFAULT_OUTPUT_TOKENS_PER_RECORD

    manifest = read_manifest(s3, arn)
    assert (manifest["inputTokenCount"], manifest["outputTokenCount"]) == (35, 12)


def test_without_an_s3_client_nothing_is_written(bedrock: BedrockEmulator, bedrock_client: Any, aws: str) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    arn = submit(bedrock_client, "no-s3")

    bedrock.set_status(arn, "Completed")

    assert keys(client) == []
    assert bedrock.manifest(arn)["totalRecordCount"] == 0


def test_a_missing_bucket_is_logged_and_the_job_still_ends(
    bedrock: BedrockEmulator, bedrock_client: Any, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    arn = submit(bedrock_client, "no-bucket")
    bedrock.overwrite_job(arn, outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://nowhere/out/"}})
    bedrock.set_status(arn, "InProgress")

    with caplog.at_level(logging.WARNING, logger="local.bedrock_emulator"):
        bedrock_client.stop_model_invocation_job(jobIdentifier=arn)
        job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)

    assert job["status"] == "Stopping"
    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] == "Stopped"
    assert "s3://nowhere/out/" in caplog.text
    assert "NoSuchBucket" in caplog.text


def test_the_admin_api_points_the_emulator_at_s3_and_reads_a_manifest(
    bedrock: BedrockEmulator, bedrock_client: Any, aws: str
) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    arn = submit(bedrock_client, "over-http")

    try:
        assert admin(bedrock, "POST", "/s3", {"endpoint": aws}) == (200, {"endpoint": aws})
        admin(bedrock, "POST", f"/jobs/{job_id(arn)}/status", {"status": "Failed", "records": {"total": 2}})
    finally:
        admin(bedrock, "POST", "/s3", {})

    status, manifest = admin(bedrock, "GET", f"/jobs/{job_id(arn)}/manifest")
    assert status == 200
    assert read_manifest(client, arn) == manifest
    assert manifest["totalRecordCount"] == 2


def test_reset_forgets_the_s3_client(bedrock: BedrockEmulator, bedrock_client: Any, s3: Any) -> None:
    bedrock.reset()
    arn = submit(bedrock_client, "after-reset")

    bedrock.set_status(arn, "Completed")

    assert keys(s3) == []


def test_the_command_line_expires_jobs_and_writes_manifests_when_asked(aws: str) -> None:
    # Given the emulator as its own process, expiring jobs and writing manifests to moto's S3
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "local.bedrock_emulator", "--port", "0", "--expire-jobs", "--s3-endpoint", aws],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, f"no URL in {banner!r}"
        url = match.group(0)

        # When a job submitted long ago with a 24-hour timeout is added
        created = _post(
            f"{url}/_emulator/jobs",
            {
                "jobName": "long-ago",
                "submitTime": "2020-01-01T00:00:00Z",
                "timeoutDurationInHours": 24,
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
            },
        )
        job = json.load(urllib.request.urlopen(f"{url}/_emulator/jobs/{job_id(created['jobArn'])}"))  # noqa: S310

        # Then it expired when its time ran out, and left its manifest
        assert (job["status"], job["endTime"]) == ("Expired", "2020-01-02T00:00:00.000Z")
        assert read_manifest(client, created["jobArn"])["processedRecordCount"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the emulator's own loopback URL
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        return dict(json.load(response))
