"""A test notice (kind "test") from python -m tools.test_notification, through the topic, to Slack.

moto's SNS delivers it to a queue subscribed as the stack subscribes the Slack queue (raw delivery off, a status
filter); the Slack function then receives that very SQS message, in each mode.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.topic import status_filter
from local.slack_standin import DEFAULT_CHANNEL
from notifier.core.notice import Notice
from tests.fixtures.aws import ACCOUNT_ID, REGION
from tests.fixtures.slack import SlackHarness, notice_document, sns_body, sqs_event, sqs_record
from tools.test_notice import build_test_notice
from tools.test_notification import main

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:BedrockBatchNotifier-notifications"


def a_test_notice_body() -> str:
    document = build_test_notice(TOPIC, datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "make test-notification")
    return sns_body(document)


def through_the_topic(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run the command against moto; return the SQS event the Slack queue's subscription produced."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="BedrockBatchNotifier-notifications")["TopicArn"]
    url = sqs.create_queue(QueueName="slack")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"FilterPolicy": json.dumps(status_filter(["Failed", "Expired"]))},
    )
    assert main(["--topic-arn", topic_arn], session=boto3.Session(region_name=REGION)) == 0
    capsys.readouterr()
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return {"Records": [sqs_record(message["Body"], receipt_handle=message["ReceiptHandle"], queue_arn=queue_arn)]}


def assert_one_test_message(slack: SlackHarness) -> None:
    (message,) = slack.standin.channel_messages(DEFAULT_CHANNEL)
    assert message.text is not None
    assert message.text.startswith(":test_tube: TEST")
    assert "No batch job changed status" in message.all_text
    assert message.replies == []


def test_the_test_notice_reaches_slack_through_the_topic_in_webhook_mode(
    slack: SlackHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    event = through_the_topic(capsys)

    response = slack.invoke(event, slack.dependencies(slack.webhook_secret()))

    assert response == {"batchItemFailures": []}
    assert_one_test_message(slack)


def test_the_test_notice_reaches_slack_through_the_topic_in_bot_mode(
    slack: SlackHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    event = through_the_topic(capsys)

    response = slack.invoke(event, slack.dependencies(slack.bot_secret()))

    assert response == {"batchItemFailures": []}
    assert_one_test_message(slack)


def test_in_bot_mode_a_test_notice_is_a_message_of_its_own_that_no_job_updates(slack: SlackHarness) -> None:
    deps = slack.dependencies(slack.bot_secret())

    slack.invoke(sqs_event(a_test_notice_body()), deps)
    slack.invoke(sqs_event(sns_body(notice_document(status="InProgress", previousStatus=None))), deps)
    slack.invoke(sqs_event(sns_body(notice_document(status="Completed"))), deps)

    test, job = slack.standin.channel_messages(DEFAULT_CHANNEL)
    assert test.text is not None
    assert test.text.startswith(":test_tube: TEST")
    assert test.edits == 0
    assert job.edits == 1  # the job's parent, updated for Completed
    assert len(job.replies) == 1  # Completed; the parent itself announced InProgress


def test_a_transition_document_has_no_kind_and_a_test_notice_keeps_its_own() -> None:
    transition = Notice.from_document(notice_document())
    test = Notice.from_document(json.loads(json.loads(a_test_notice_body())["Message"]))

    assert "kind" not in transition.to_document()
    assert not transition.is_test
    assert test.is_test
    assert test.to_document()["kind"] == "test"
