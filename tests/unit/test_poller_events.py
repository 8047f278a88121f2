import pytest

from notifier.core.errors import InvalidEvent
from notifier.poller.entry import job_arn_of

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
