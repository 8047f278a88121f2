"""Publishing pace: SNS suspends an email subscription that receives more than 10 messages a second."""

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from notifier.core.jobs import JobSnapshot
from notifier.core.notice import Notice
from notifier.poller.publisher import NoticePublisher
from notifier.poller.sns_message import sns_message

TOPIC = "arn:aws:sns:us-east-1:123456789012:transitions"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.batches: list[tuple[float, int]] = []

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def notices(count: int) -> list[tuple[str, Notice]]:
    made = []
    for index in range(count):
        job = JobSnapshot(
            f"arn:aws:bedrock:us-east-1:1:model-invocation-job/j{index}",
            f"j{index}",
            "m",
            "Failed",
            datetime(2026, 1, 1, tzinfo=UTC),
        )
        made.append((f"k{index}", Notice.for_transition(job, None, "us-east-1", "1", datetime(2026, 1, 1, tzinfo=UTC))))
    return made


class RecordingSns:
    def __init__(self, clock: Clock, fail_ids: set[str] | None = None) -> None:
        self.clock = clock
        self.fail_ids = fail_ids or set()

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        self.clock.batches.append((self.clock.now, len(PublishBatchRequestEntries)))
        ids = [e["Id"] for e in PublishBatchRequestEntries]
        return {
            "Successful": [{"Id": i, "MessageId": "m"} for i in ids if i not in self.fail_ids],
            "Failed": [{"Id": i, "Code": "InternalError", "SenderFault": False} for i in ids if i in self.fail_ids],
        }


def test_no_second_carries_more_than_the_limit():
    clock = Clock()
    publisher = NoticePublisher(TOPIC, 9, client=RecordingSns(clock), sleep=clock.sleep, monotonic=clock.monotonic)
    outcome = publisher.publish(notices(40), time_left=lambda: 100)
    assert len(outcome.published) == 40
    for start, _ in clock.batches:
        in_window = sum(size for at, size in clock.batches if start <= at < start + 1)
        assert in_window <= 9


def test_stops_when_time_runs_out_and_reports_partial_failures():
    clock = Clock()
    publisher = NoticePublisher(
        TOPIC, 5, client=RecordingSns(clock, {"1"}), sleep=clock.sleep, monotonic=clock.monotonic
    )
    outcome = publisher.publish(notices(20), time_left=lambda: 2.5 - clock.now)
    assert len(clock.batches) == 3
    assert outcome.failed == ["k1", "k6", "k11"]
    assert len(outcome.published) == 12


def test_the_request_is_a_json_structured_batch():
    client = boto3.client("sns", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    [(_, notice)] = notices(1)
    with Stubber(client) as stub:
        stub.add_response(
            "publish_batch",
            {"Successful": [{"Id": "0", "MessageId": "m-1"}], "Failed": []},
            {
                "TopicArn": TOPIC,
                "PublishBatchRequestEntries": [
                    {
                        "Id": "0",
                        "Message": sns_message(notice),
                        "MessageStructure": "json",
                        "Subject": "Bedrock batch job Failed: j0",
                        "MessageAttributes": {
                            "status": {"DataType": "String", "StringValue": "Failed"},
                            "previousStatus": {"DataType": "String", "StringValue": "none"},
                            "modelId": {"DataType": "String", "StringValue": "m"},
                            "jobName": {"DataType": "String", "StringValue": "j0"},
                        },
                    }
                ],
            },
        )
        outcome = NoticePublisher(TOPIC, 9, client=client).publish([("k", notice)], time_left=lambda: 10)
        stub.assert_no_pending_responses()
    assert outcome.published == ["k"]
