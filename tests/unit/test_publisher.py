"""Publishing: SNS's pace for email, its size limits, and a run that stops in time and clears as it goes."""

import json
from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from notifier.core.jobs import JobSnapshot
from notifier.core.notice import Notice
from notifier.poller.publisher import LocalSendWindow, NoticePublisher
from notifier.poller.sns_message import MESSAGE_SIZE_LIMIT, TRUNCATION_MARK, entry_size, sns_message

TOPIC = "arn:aws:sns:us-east-1:123456789012:transitions"
SNS_REQUEST_LIMIT = 256 * 1024


class Clock:
    """Wall clock and monotonic clock at once; only sleeping and sending move it."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.batches: list[tuple[float, int]] = []
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


def notices(count: int, message: str | None = None, prefix: str = "j") -> list[tuple[str, Notice]]:
    made = []
    for index in range(count):
        job = JobSnapshot(
            f"arn:aws:bedrock:us-east-1:1:model-invocation-job/{prefix}{index}",
            f"{prefix}{index}",
            "m",
            "Failed",
            datetime(2026, 1, 1, tzinfo=UTC),
            message=message,
        )
        notice = Notice.for_transition(job, None, "us-east-1", "1", datetime(2026, 1, 1, tzinfo=UTC))
        made.append((f"{prefix}k{index}", notice))
    return made


class RecordingSns:
    """Accepts a batch (but the ids in fail_ids) the way SNS does, and refuses one above SNS's request limits."""

    def __init__(self, clock: Clock, fail_ids: set[str] | None = None, seconds_per_call: float = 0.05) -> None:
        self.clock = clock
        self.fail_ids = fail_ids or set()
        self.seconds_per_call = seconds_per_call
        self.requests: list[list[dict]] = []

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        entries = PublishBatchRequestEntries
        assert len(entries) <= 10
        assert sum(entry_size(e) for e in entries) <= SNS_REQUEST_LIMIT, "SNS refuses this batch as too long"
        self.requests.append(entries)
        self.clock.batches.append((self.clock.now, len(entries)))
        self.clock.now += self.seconds_per_call
        ids = [e["Id"] for e in entries]
        return {
            "Successful": [{"Id": i, "MessageId": "m"} for i in ids if i not in self.fail_ids],
            "Failed": [{"Id": i, "Code": "InternalError", "SenderFault": False} for i in ids if i in self.fail_ids],
        }


def publisher_on(clock: Clock, sns: RecordingSns, limit: int = 9, window=None) -> NoticePublisher:
    return NoticePublisher(
        TOPIC, limit, client=sns, window=window, sleep=clock.sleep, wall_clock=clock.time, monotonic=clock.time
    )


def sent_per_second(clock: Clock) -> dict[int, int]:
    seconds: dict[int, int] = {}
    for at, size in clock.batches:
        seconds[int(at)] = seconds.get(int(at), 0) + size
    return seconds


def test_no_wall_clock_second_carries_more_than_the_limit():
    clock = Clock(start=1_000_000.7)  # starts late in a second: the first second has little room left
    outcome = publisher_on(clock, RecordingSns(clock)).publish(notices(40), time_left=lambda: 100)
    assert len(outcome.published) == 40
    assert max(sent_per_second(clock).values()) <= 9


def test_runs_publishing_at_once_share_one_pace():
    """Two overlapping runs (two publishers, one shared window) together stay under the email limit."""
    clock = Clock()
    window = LocalSendWindow()
    sns = RecordingSns(clock)
    first, second = publisher_on(clock, sns, window=window), publisher_on(clock, sns, window=window)
    first_batches, second_batches = notices(30, prefix="a"), notices(30, prefix="b")
    published: list[str] = []
    # Interleave them: each run publishes one batch of its own in turn.
    for start in range(0, 30, 9):
        published += first.publish(first_batches[start : start + 9], time_left=lambda: 100).published
        published += second.publish(second_batches[start : start + 9], time_left=lambda: 100).published
    assert len(published) == 60
    assert max(sent_per_second(clock).values()) <= 9


class SlowWindow(LocalSendWindow):
    """A shared window whose every reservation takes a while (a DynamoDB call under load)."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        super().__init__()
        self.clock = clock
        self.seconds = seconds

    def reserve(self, second: int, count: int, limit: int) -> bool:
        granted = super().reserve(second, count, limit)
        self.clock.now += self.seconds
        return granted


def test_a_reservation_that_ends_in_the_next_second_is_not_sent_in_it():
    """Room taken in one second must not be spent in the next, beside the room taken there."""
    clock = Clock(start=1_000_000.7)  # the first reservation ends in the next second
    window = SlowWindow(clock, seconds=0.45)
    outcome = publisher_on(clock, RecordingSns(clock, seconds_per_call=0.02), window=window).publish(
        notices(60), time_left=lambda: 1000
    )
    assert len(outcome.published) == 60
    assert max(sent_per_second(clock).values()) <= 9


def test_a_warm_run_with_room_in_the_window_does_not_wait():
    """Back-to-back runs that each publish a notice or two never sleep: nothing is carried across invocations."""
    clock = Clock()
    publisher = publisher_on(clock, RecordingSns(clock))
    for batch in range(4):
        publisher.publish(notices(2, prefix=f"r{batch}-"), time_left=lambda: 100)
        clock.now += 0.3  # the next event arrives a moment later
    assert clock.slept == []
    assert len(clock.batches) == 4


def test_a_batch_starts_only_with_time_for_it_and_each_batch_is_settled_at_once():
    clock = Clock()
    sns = RecordingSns(clock, {"1"}, seconds_per_call=0.4)
    settled: list[list[str]] = []
    deadline = clock.now + 3.5
    outcome = publisher_on(clock, sns, limit=5).publish(
        notices(20), time_left=lambda: deadline - clock.now, settle=settled.append
    )
    # Two batches fit (the second waits for the next second); a third would have had 1.5 s of the 2 s a batch
    # is given until one has been timed, so it is not started.
    assert len(sns.requests) == 2
    for at, _ in clock.batches:
        assert deadline - at >= 2.0
    # Each batch is settled as soon as SNS accepted it, so a run killed later cannot send it again.
    assert settled == [["jk0", "jk2", "jk3", "jk4"], ["jk5", "jk7", "jk8", "jk9"]]
    assert outcome.failed == ["jk1", "jk6"]


def test_batches_respect_the_aggregate_byte_limit_with_long_non_ascii_messages():
    """A few failed jobs with long non-ASCII failure messages: every notice is published, no request too long."""
    clock = Clock()
    sns = RecordingSns(clock)
    long_message = "Échec de validation du fichier d'entrée — ligne 12 : « jeton inattendu » ✗ " * 300
    outcome = publisher_on(clock, sns).publish(notices(15, message=long_message), time_left=lambda: 100)
    assert len(outcome.published) == 15
    assert len(sns.requests) > 2  # the byte limit, not the count limit, cut the batches
    assert outcome.shortened == 0


def test_non_ascii_text_is_not_escaped_twice():
    [(_, notice)] = notices(1, message="ошибка проверки данных " * 100)
    message = sns_message(notice)
    assert len(message.encode()) < 3 * len(notice.message.encode()) + 4000
    document = json.loads(json.loads(message)["default"])
    assert document["message"] == notice.message


def test_a_notice_too_large_for_sns_is_shortened_not_retried_for_ever():
    clock = Clock()
    sns = RecordingSns(clock)
    huge = "失败" * 200_000  # about 1.2 MB of UTF-8
    outcome = publisher_on(clock, sns).publish(notices(1, message=huge), time_left=lambda: 100)
    assert outcome.published == ["jk0"]
    assert outcome.shortened == 1
    [[entry]] = sns.requests
    assert MESSAGE_SIZE_LIMIT - 8 * 1024 < entry_size(entry) <= MESSAGE_SIZE_LIMIT
    document = json.loads(json.loads(entry["Message"])["default"])
    assert document["message"].endswith(TRUNCATION_MARK)
    assert document["message"].startswith("失败失败")


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
                        "Subject": "[CRITICAL] Bedrock batch job Failed: j0",
                        "MessageAttributes": {
                            "status": {"DataType": "String", "StringValue": "Failed"},
                            "previousStatus": {"DataType": "String", "StringValue": "none"},
                            "modelId": {"DataType": "String", "StringValue": "m"},
                            "jobName": {"DataType": "String", "StringValue": "j0"},
                            "severity": {"DataType": "String", "StringValue": "critical"},
                            "outcome": {"DataType": "String", "StringValue": "failed"},
                        },
                    }
                ],
            },
        )
        outcome = NoticePublisher(TOPIC, 9, client=client).publish([("k", notice)], time_left=lambda: 10)
        stub.assert_no_pending_responses()
    assert outcome.published == ["k"]
