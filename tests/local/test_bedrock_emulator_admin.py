"""The emulator's admin HTTP API (driven with urllib) and its command line."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.bedrock_emulator import LIST, BedrockEmulator
from tests.fixtures.aws import REGION, free_port

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def admin(bedrock: BedrockEmulator, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(  # noqa: S310 - the emulator's own http URL
        f"{bedrock.url}/_emulator{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def job_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def test_status_endpoint_sets_status_message_and_records(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("admin-driven", status="InProgress")
    body = {"status": "Failed", "message": "input is not JSONL", "records": {"total": 3, "processed": 1, "error": 1}}

    status, answer = admin(bedrock, "POST", f"/jobs/{job_id(arn)}/status", body)

    assert status == 200
    assert answer["status"] == "Failed"
    job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    assert (job["status"], job["message"]) == ("Failed", "input is not JSONL")
    assert (job["totalRecordCount"], job["processedRecordCount"], job["errorRecordCount"]) == (3, 1, 1)
    assert "successRecordCount" not in job
    assert "endTime" in job


def test_status_endpoint_takes_only_a_status(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("minimal")

    status, _ = admin(bedrock, "POST", f"/jobs/{job_id(arn)}/status", {"status": "Validating"})

    assert status == 200
    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] == "Validating"


def test_status_endpoint_accepts_any_status(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("grown-api")

    status, _ = admin(bedrock, "POST", f"/jobs/{job_id(arn)}/status", {"status": "Archived"})

    assert status == 200
    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["status"] == "Archived"


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/jobs/abcdefghijkl/status", {"status": "Completed"}, 404),
        ("/jobs/{job}/status", {}, 400),
        ("/jobs/{job}/status", {"status": ""}, 400),
        ("/jobs/{job}/status", {"status": "Completed", "records": {"done": 1}}, 400),
        ("/jobs/{job}/status", {"status": "Completed", "records": {"total": -1}}, 400),
        ("/jobs/{job}/status", {"status": "Completed", "records": [1]}, 400),
        ("/jobs/{job}/status", b"{not json", 400),
        ("/jobs/{job}/rewind", {}, 404),
    ],
)
def test_status_endpoint_rejects_bad_requests(bedrock: BedrockEmulator, path: str, body: Any, expected: int) -> None:
    arn = bedrock.create_job("untouched")

    status, answer = admin(bedrock, "POST", path.format(job=job_id(arn)), body)

    assert status == expected
    assert answer["message"]
    assert bedrock.job(arn)["status"] == "Submitted"


def test_jobs_can_be_created_read_and_deleted(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    status, created = admin(
        bedrock,
        "POST",
        "/jobs",
        {"jobName": "sandbox-job", "submitTime": "2025-03-01T12:00:00Z", "status": "InProgress", "totalRecordCount": 9},
    )
    arn = created["jobArn"]

    _, stored = admin(bedrock, "GET", f"/jobs/{job_id(arn)}")
    deleted, _ = admin(bedrock, "DELETE", f"/jobs/{job_id(arn)}")

    assert status == 200
    assert (stored["jobName"], stored["status"], stored["submitTime"]) == (
        "sandbox-job",
        "InProgress",
        "2025-03-01T12:00:00.000Z",
    )
    assert stored["totalRecordCount"] == 9
    assert deleted == 200
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        bedrock_client.get_model_invocation_job(jobIdentifier=arn)
    assert admin(bedrock, "DELETE", f"/jobs/{job_id(arn)}")[0] == 404


def test_faults_endpoint_fails_the_chosen_call(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    status, _ = admin(bedrock, "POST", "/faults", {"operation": LIST, "after": 1, "code": "InternalServerException"})

    bedrock_client.list_model_invocation_jobs()
    with pytest.raises(ClientError) as caught:
        bedrock_client.list_model_invocation_jobs()
    bedrock_client.list_model_invocation_jobs()

    assert status == 200
    assert caught.value.response["Error"]["Code"] == "InternalServerException"
    assert admin(bedrock, "POST", "/faults", {"operation": "Nope"})[0] == 400


def test_faults_endpoint_clears_faults(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    admin(bedrock, "POST", "/faults", {"operation": "*", "count": 10})
    admin(bedrock, "POST", "/latency", {"operation": LIST, "seconds": 5})

    status, _ = admin(bedrock, "DELETE", "/faults")

    assert status == 200
    assert bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"] == []


def test_latency_and_hide_endpoints(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    arn = bedrock.create_job("hidden-by-admin")

    assert admin(bedrock, "POST", "/latency", {"operation": LIST, "seconds": 0.01})[0] == 200
    assert admin(bedrock, "POST", f"/jobs/{job_id(arn)}/hide", {"listCalls": 1})[0] == 200
    first = bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]
    second = bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]

    assert first == []
    assert [job["jobArn"] for job in second] == [arn]
    assert admin(bedrock, "POST", f"/jobs/{job_id(arn)}/hide", {"listCalls": "many"})[0] == 400


def test_clock_endpoint_sets_and_advances_the_clock(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    set_status, set_answer = admin(bedrock, "POST", "/clock", {"now": "2025-03-01T12:00:00Z"})
    _, advanced = admin(bedrock, "POST", "/clock", {"advanceSeconds": 86400})
    _, read = admin(bedrock, "GET", "/clock")
    arn = bedrock.create_job("tomorrow")

    assert set_status == 200
    assert set_answer == {"now": "2025-03-01T12:00:00.000Z"}
    assert advanced == read == {"now": "2025-03-02T12:00:00.000Z"}
    assert bedrock_client.get_model_invocation_job(jobIdentifier=arn)["submitTime"] == T0 + timedelta(days=1)


def test_complete_stops_calls_and_reset_endpoints(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.stop_after_reads = None
    arn = bedrock.create_job("stopping", status="InProgress")
    bedrock_client.stop_model_invocation_job(jobIdentifier=arn)

    _, stopped = admin(bedrock, "POST", "/complete-stops")
    _, calls = admin(bedrock, "GET", "/calls")
    reset, _ = admin(bedrock, "POST", "/reset")

    assert stopped == {"jobArns": [arn]}
    assert calls == {"calls": {"StopModelInvocationJob": 1}}
    assert reset == 200
    assert bedrock.job_arns() == []
    assert admin(bedrock, "GET", "/calls")[1] == {"calls": {}}


def test_unknown_paths_are_not_operations(bedrock: BedrockEmulator) -> None:
    request = urllib.request.Request(f"{bedrock.url}/model-invocation-jobs/extra", method="GET")  # noqa: S310

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)  # noqa: S310

    assert caught.value.code == 404
    assert caught.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert admin(bedrock, "GET", "/reset")[0] == 404


@pytest.mark.parametrize(
    ("stop_signal", "fixed_port"), [(signal.SIGINT, False), (signal.SIGTERM, True)], ids=["SIGINT", "SIGTERM"]
)
def test_the_command_line_serves_until_signalled(stop_signal: signal.Signals, fixed_port: bool) -> None:
    # Given the emulator started as its own process, on a chosen port or one it picks
    port = free_port() if fixed_port else 0
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "local.bedrock_emulator", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert match, f"no URL in {banner!r}; stderr: {process.stderr.read() if process.stderr else ''}"
        if port:
            assert int(match.group(1)) == port

        # When boto3 calls it and it is signalled
        client = boto3.client(
            "bedrock",
            region_name=REGION,
            endpoint_url=match.group(0),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        page = client.list_model_invocation_jobs()
        process.send_signal(stop_signal)

        # Then it had answered, and exits cleanly
        assert page["invocationJobSummaries"] == []
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_answers_carry_a_date_header_on_the_emulators_clock(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.set_now(T0)
    response = bedrock_client.list_model_invocation_jobs()
    assert response["ResponseMetadata"]["HTTPHeaders"]["date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    bedrock.advance(timedelta(hours=3, seconds=1.5))
    response = bedrock_client.list_model_invocation_jobs()
    assert response["ResponseMetadata"]["HTTPHeaders"]["date"] == "Sat, 01 Mar 2025 15:00:01 GMT"
