"""python -m tools.test_notification against moto server: a stack found by name, its topic, real subscribers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.topic import status_filter
from notifier.core.notice import Notice
from tests.fixtures.aws import ACCOUNT_ID, REGION, SessionWith
from tools.test_notice import build_test_notice, publish_request
from tools.test_notification import main

STACK = "BedrockBatchNotifier"
TRANSITION_FIELDS = {
    "schemaVersion", "transitionId", "jobArn", "jobName", "modelId", "region", "accountId", "previousStatus",
    "status", "submitTime", "lastModifiedTime", "endTime", "message", "records", "inputS3Uri", "outputS3Uri",
    "consoleUrl", "detectedAt", "outcome", "severity", "errorRate",
}  # fmt: skip


def deploy_stack(name: str = STACK, *, with_topic_output: bool = True) -> str:
    """A CloudFormation stack in moto with the notifier's topic and its TopicArn output."""
    template: dict[str, Any] = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{name}-notifications"}}}
    }
    if with_topic_output:
        template["Outputs"] = {"TopicArn": {"Value": {"Ref": "Topic"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName=name, TemplateBody=json.dumps(template))
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}-notifications"


def subscribed_queue(topic_arn: str, name: str, filter_policy: dict[str, Any] | None = None) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
    )
    return str(url)


def received(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    )
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def run(capsys: pytest.CaptureFixture[str], *argv: str, session: Any = None) -> tuple[int, str, str]:
    code = main(list(argv), session=session or boto3.Session(region_name=REGION))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_test_notice_reaches_the_stacks_subscribers_with_the_schema_and_its_attributes(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack whose topic has an unfiltered subscriber, one filtered as the stack filters its own
    # email and Slack subscriptions (statuses, or a test notice), and someone else's status-filtered subscriber
    topic_arn = deploy_stack()
    everything = subscribed_queue(topic_arn, "everything")
    stack_filtered = subscribed_queue(topic_arn, "stack-filtered", status_filter(["Failed"]))
    failures_only = subscribed_queue(topic_arn, "failures-only", {"status": ["Failed"]})

    # When the command runs with the stack's name
    code, out, err = run(capsys, "--stack", STACK)

    # Then the test notice is a schemaVersion 1 document of kind "test" with a fresh transitionId
    assert (code, err) == (0, "")
    (envelope,) = received(everything)
    document = json.loads(envelope["Message"])
    assert set(document) == TRANSITION_FIELDS | {"kind"}
    assert document["kind"] == "test"
    assert document["status"] == "Test"
    assert (document["region"], document["accountId"]) == (REGION, ACCOUNT_ID)
    assert document["transitionId"] in out
    assert envelope["Subject"].startswith("[TEST]")
    Notice.from_document(document)  # what the Slack function parses
    # and its attributes pass the stack's own filters, but not a subscriber's filter on status
    assert len(received(stack_filtered)) == 1
    assert received(failures_only) == []


def test_each_test_notice_has_a_new_transition_id(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    topic_arn = deploy_stack()
    queue = subscribed_queue(topic_arn, "everything")

    run(capsys, "--stack", STACK)
    run(capsys, "--topic-arn", topic_arn)

    ids = {json.loads(envelope["Message"])["transitionId"] for envelope in received(queue)}
    assert len(ids) == 2


def test_the_email_rendering_and_subject_say_it_is_a_test() -> None:
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{STACK}-notifications"
    document = build_test_notice(
        topic_arn, datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "make test-notification", "ab" * 16
    )

    request = publish_request(topic_arn, document)

    message = json.loads(request["Message"])
    assert request["MessageStructure"] == "json"
    assert json.loads(message["default"]) == document
    assert message["email"].startswith("TEST NOTIFICATION: no Bedrock batch job changed status.")
    assert "Transition id:  " + "ab" * 16 in message["email"]
    assert request["Subject"] == "[TEST] Bedrock batch notifier: test notification"
    assert {name: a["StringValue"] for name, a in request["MessageAttributes"].items()} == {
        "kind": "test",
        "status": "Test",
        "previousStatus": "none",
        "modelId": "none (test notification)",
        "jobName": "notifier-test-notification",
        "severity": "info",
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AuthorizationError", "permission denied (AuthorizationError): your credentials may not call sns:Publish"),
        ("KMSAccessDenied", "SNS could not use the KMS key of topic"),
        ("NotFound", "not found: check the stack's TopicArn output"),
    ],
)
def test_a_refused_publish_says_why(aws: str, capsys: pytest.CaptureFixture[str], code: str, expected: str) -> None:
    topic_arn = deploy_stack()
    sns = boto3.client("sns", region_name=REGION)
    stubber = Stubber(sns)
    stubber.add_client_error("publish", service_error_code=code, service_message="refused", http_status_code=403)
    with stubber:
        exit_code, out, err = run(capsys, "--stack", STACK, session=SessionWith(sns=sns))

    assert exit_code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert expected in err
    assert topic_arn in err


def test_a_stack_that_does_not_exist(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--stack", "NoSuchStack")

    assert code == 2
    assert f"error: stack 'NoSuchStack' not found in region {REGION}: deploy it first" in err


def test_a_stack_without_the_topic_output(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    deploy_stack("SomethingElse", with_topic_output=False)

    code, _, err = run(capsys, "--stack", "SomethingElse")

    assert code == 2
    assert "stack 'SomethingElse' has no TopicArn output" in err


def test_a_topic_that_does_not_exist(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:gone"

    code, _, err = run(capsys, "--topic-arn", missing)

    assert code == 2
    assert f"error: topic {missing} not found" in err


def test_a_topic_arn_that_is_not_one(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--topic-arn", "BedrockBatchNotifier-notifications")

    assert code == 2
    assert "is not an SNS topic ARN" in err


def test_no_credentials(
    aws: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code, _, err = run(capsys, "--stack", STACK)

    assert code == 2
    assert "error: no AWS credentials found" in err
