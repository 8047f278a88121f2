import json

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from notifier.core.errors import InvalidEvent
from notifier.poller.entry import is_queued_batch, job_arn_of, queued_event

ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456"


def test_a_scheduled_event_is_a_full_poll():
    assert job_arn_of({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}) is None


@pytest.mark.parametrize(
    "event",
    [
        {"detail-type": "Batch Inference Job State Change", "detail": {"batchJobArn": ARN}},
        {"detail-type": "Batch Inference Job State Change", "detail": {}, "resources": [ARN]},
    ],
)
def test_a_state_change_event_names_its_job(event):
    assert job_arn_of(event) == ARN


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        ("not an object", "not a JSON object"),
        ({"detail-type": "Object Created"}, "'Object Created' is not handled"),
    ],
)
def test_anything_else_is_rejected_with_a_reason(event, complaint):
    with pytest.raises(InvalidEvent, match=complaint):
        job_arn_of(event)


def test_a_state_change_event_naming_no_job_falls_back_to_a_full_poll():
    event = {"detail-type": "Batch Inference Job State Change", "resources": ["arn:aws:s3:::bucket"], "detail": {}}
    assert job_arn_of(event) is None


def sqs_record(body: str) -> SQSRecord:
    return SQSRecord({"messageId": "m-1", "body": body, "eventSource": "aws:sqs"})


def test_an_sqs_batch_is_told_apart_from_an_eventbridge_event():
    assert is_queued_batch({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    assert not is_queued_batch({"detail-type": "Scheduled Event", "detail": {}})
    assert not is_queued_batch({"Records": []})
    assert not is_queued_batch({"Records": [{"eventSource": "aws:sns"}]})
    assert not is_queued_batch([])


def test_a_queued_message_carries_the_eventbridge_event():
    event = {"detail-type": "Batch Inference Job State Change", "detail": {"batchJobArn": ARN}}
    assert job_arn_of(queued_event(sqs_record(json.dumps(event)))) == ARN


@pytest.mark.parametrize(
    ("body", "complaint"), [("{oops", "does not carry a JSON event"), ("[1]", "does not carry a JSON object")]
)
def test_a_queued_message_that_is_not_an_event_is_rejected_with_its_id(body, complaint):
    with pytest.raises(InvalidEvent, match=f"SQS message m-1 {complaint}"):
        queued_event(sqs_record(body))
