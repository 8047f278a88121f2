"""Rate limits that do not fit in the invocation, and secrets that cannot be used."""

from __future__ import annotations

import boto3
import pytest

from local.slack_standin import DEFAULT_WEBHOOK_PATH
from notifier.core.observability import SLACK_PERMANENT_FAILURES, SLACK_RETRYABLE_FAILURES
from tests.fixtures.aws import REGION
from tests.fixtures.slack import metric_sums, notice_document, sns_body, sqs_record


@pytest.fixture
def queue(aws):
    """A real queue in moto holding two real messages, received so their receipt handles are valid."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="notifier-slack")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bodies = [sns_body(notice_document()), sns_body(notice_document(status="Failed", message="boom"))]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    # Visibility 0: without the function's ChangeMessageVisibility the messages would be visible right away.
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    records = [
        sqs_record(m["Body"], message_id=m["MessageId"], receipt_handle=m["ReceiptHandle"], queue_arn=arn)
        for m in received
    ]
    return sqs, url, {"Records": records}


def test_a_429_that_cannot_be_waited_for_returns_the_batch_with_retry_after_visibility(
    slack, queue, captured_logs, capsys
):
    sqs, url, event = queue
    # Given Slack asks for 30 s and the invocation has 5 s left
    slack.context.remaining_ms = 5_000
    deps = slack.dependencies(slack.webhook_secret())
    visibility_calls: list[dict] = []
    deps.sqs.meta.events.register(
        "provide-client-params.sqs.ChangeMessageVisibility", lambda params, **kw: visibility_calls.append(params)
    )
    slack.standin.fail_next(1, status=429, retry_after=30, target="webhook")

    response = slack.invoke(event, deps)

    # Then no sleep happened, both messages went back to the queue, and neither was lost
    assert slack.sleeps == []
    assert {item["itemIdentifier"] for item in response["batchItemFailures"]} == {
        record["messageId"] for record in event["Records"]
    }
    # The second message did not hit Slack again: the batch knew it was rate-limited
    assert len(slack.standin.requests_to(DEFAULT_WEBHOOK_PATH)) == 1
    # Both are hidden for Retry-After rather than the queue's whole visibility timeout
    assert [call["VisibilityTimeout"] for call in visibility_calls] == [30, 30]
    assert [call["QueueUrl"].rsplit("/", 1)[-1] for call in visibility_calls] == ["notifier-slack"] * 2
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    assert metric_sums(capsys.readouterr().out)[SLACK_RETRYABLE_FAILURES] == 2
    assert captured_logs.entries()[0]["retryAfterSeconds"] == 30


def test_a_429_in_bot_mode_that_cannot_be_waited_for_is_a_failed_item(slack, queue):
    _, _, event = queue
    slack.context.remaining_ms = 5_000
    deps = slack.dependencies(slack.bot_secret())
    slack.standin.fail_next(1, status=429, retry_after=20, target="api")

    response = slack.invoke({"Records": event["Records"][:1]}, deps)

    assert len(response["batchItemFailures"]) == 1
    assert slack.standin.channel_messages() == []
    # Nothing was claimed for good: the failed post released its claim, so the next attempt can post the parent
    assert slack.invoke({"Records": event["Records"][:1]}, deps) == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 1


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("not json at all", "the Slack secret is not valid JSON"),
        ("{}", "holds no credentials yet"),
        ("[]", "not a JSON object"),
        ('{"url": "https://hooks.slack.com/services/T0/B0/X"}', "neither webhookUrl nor botToken"),
        (
            '{"webhookUrl": "https://hooks.slack.com/services/T0/B0/X", "botToken": "xoxb-1", "channel": "C0123456789"}',
            "both webhookUrl and botToken",
        ),
        ('{"botToken": "xoxb-1", "channel": "general"}', "not a channel ID"),
    ],
)
def test_a_malformed_secret_is_a_permanent_failure_naming_the_problem(slack, captured_logs, capsys, secret, problem):
    deps = slack.dependencies(slack.create_secret(secret))

    response = slack.invoke({"Records": [sqs_record(sns_body(notice_document()))]}, deps)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert metric_sums(capsys.readouterr().out)[SLACK_PERMANENT_FAILURES] == 1
    [error] = [entry for entry in captured_logs.entries() if entry["level"] == "ERROR"]
    assert problem in error["reason"]
    assert "hooks.slack.com" not in captured_logs.text
    assert slack.standin.requests == []


def test_a_missing_secret_is_permanent(slack, captured_logs):
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:notifier/slack-AbCdEf"
    deps = slack.dependencies(missing)

    response = slack.invoke({"Records": [sqs_record(sns_body(notice_document()))]}, deps)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    [error] = [entry for entry in captured_logs.entries() if entry["level"] == "ERROR"]
    assert error["reason"] == "the Slack secret cannot be read (ResourceNotFoundException)"
