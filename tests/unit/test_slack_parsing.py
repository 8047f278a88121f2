"""Reading SQS bodies (SNS envelopes) and classifying what a record's delivery raised."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from notifier.core.errors import InvalidNotice, StateStoreError
from notifier.core.notice import Notice
from notifier.slack.batch import classify_failure, parse_body, queue_url
from notifier.slack.failures import CredentialsRejected, RateLimited
from tests.fixtures.slack import notice_document, sns_body


def test_an_sns_envelope_yields_the_notifier_document():
    document = notice_document()

    assert parse_body(sns_body(document)) == Notice.from_document(document)


def test_a_raw_delivered_document_is_accepted_too():
    document = notice_document()

    assert parse_body(json.dumps(document)) == Notice.from_document(document)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "the SQS body is not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"Type": "SubscriptionConfirmation", "Message": "{}"}), "not an SNS notification"),
        (json.dumps({"hello": "world"}), "not an SNS notification"),
        (json.dumps({"Type": "Notification", "Message": {"nested": True}}), "no Message string"),
        (sns_body("plain text, not JSON"), "the SNS Message is not JSON"),
        (sns_body(json.dumps(["a list"])), "not a JSON object"),
        (sns_body(json.dumps({"schemaVersion": "2"})), "schemaVersion is '2'"),
        (sns_body({**notice_document(), "transitionId": "", "jobArn": None}), "lacks transitionId, jobArn"),
    ],
)
def test_a_body_that_is_not_a_notifier_message_names_the_wrong_field(body, problem):
    with pytest.raises(InvalidNotice) as raised:
        parse_body(body)

    assert problem in str(raised.value)


def test_the_queue_url_derives_from_the_event_source_arn():
    assert (
        queue_url("arn:aws:sqs:eu-west-1:123456789012:slack")
        == "https://sqs.eu-west-1.amazonaws.com/123456789012/slack"
    )
    assert queue_url("arn:aws-cn:sqs:cn-north-1:123456789012:q").startswith("https://sqs.cn-north-1.amazonaws.com.cn/")
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        queue_url("arn:aws:sns:us-east-1:123456789012:topic")


@pytest.mark.parametrize(
    ("failure", "permanent"),
    [
        (InvalidNotice("the SQS body is not JSON"), True),
        (CredentialsRejected("invalid_auth"), True),
        (RateLimited("rate limited", 30), False),
        (StateStoreError("DynamoDB put_item failed (ProvisionedThroughputExceededException)"), False),
        (IdempotencyAlreadyInProgressError("in progress"), False),
        (KeyError("surprise"), False),
    ],
)
def test_failures_are_permanent_or_retryable(failure, permanent):
    assert classify_failure(failure)[0] is permanent
