"""When a message the Slack function could not deliver comes back, and when it goes to the DLQ instead.

Driven as Lambda's event source would drive the function, against a real queue and DLQ in moto with the stack's
maxReceiveCount; time passes only when a test says so (``come_back``), so the hours of a retry window take none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from infra.constants import SLACK_MAX_RECEIVE_COUNT
from local.slack_standin import DEFAULT_CHANNEL, SlackStandIn
from notifier.core.observability import SLACK_MESSAGES_SENT, SLACK_PERMANENT_FAILURES, SLACK_RETRYABLE_FAILURES
from tests.conftest import FakeLambdaContext
from tests.fixtures.slack import metric_sums, notice_document, sns_body

JOB = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"


def secret_for(slack, mode: str) -> str:
    return slack.webhook_secret() if mode == "webhook" else slack.bot_secret()


@pytest.mark.parametrize("mode", ["webhook", "bot"])
@pytest.mark.parametrize(
    "fault", [{"status": 429, "retry_after": 1}, {"status": 503}, {"drop_connection": True}], ids=["429", "5xx", "drop"]
)
def test_hours_of_slack_trouble_use_up_the_retry_window_not_the_receives(slack, capsys, mode, fault):
    # Given a message in the Slack queue, and Slack failing every call, retryably
    deps = slack.dependencies(secret_for(slack, mode))
    queues = slack.queues(deps)
    queues.send(sns_body(notice_document()))
    slack.standin.fail_next(100_000, **fault)

    # When every receive but the last fails
    for receive in range(1, SLACK_MAX_RECEIVE_COUNT):
        response = slack.run_queue(queues, deps)
        assert len(response["batchItemFailures"]) == 1, f"receive {receive} did not see the message"
        queues.come_back()

    # Then the message was hidden longer after each failure, for six hours and more in all, and is still queued
    delays = queues.visibility_timeouts
    assert len(delays) == SLACK_MAX_RECEIVE_COUNT - 1
    assert delays[0] <= 3
    assert delays == sorted(delays) or max(delays) <= 990  # growing, up to the cap (jitter aside)
    assert max(delays) <= 990
    assert sum(delays) >= 6 * 3600
    assert queues.dead_letters() == []
    sums = metric_sums(capsys.readouterr().out)
    assert sums[SLACK_RETRYABLE_FAILURES] == SLACK_MAX_RECEIVE_COUNT - 1
    assert SLACK_PERMANENT_FAILURES not in sums

    # And when Slack is back, the last receive delivers it
    slack.standin.reset()
    assert slack.run_queue(queues, deps) == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 1
    assert queues.waiting() == 0


def test_a_rate_limited_message_waits_at_least_slacks_retry_after(slack, captured_logs):
    deps = slack.dependencies(slack.webhook_secret())
    queues = slack.queues(deps)
    queues.send(sns_body(notice_document()))
    slack.context.remaining_ms = 5_000  # too little to wait 120 s here
    slack.standin.fail_next(1, status=429, retry_after=120, target="webhook")

    slack.run_queue(queues, deps)

    assert queues.visibility_timeouts == [120]
    [warning] = [e for e in captured_logs.entries() if e["message"].startswith("Slack delivery failed")]
    assert (warning["retryAfterSeconds"], warning["visibilitySeconds"], warning["receiveCount"]) == (120, 120, 1)


@pytest.mark.parametrize(
    ("mode", "break_it", "reason"),
    [
        ("bot", lambda standin: standin.remove_channel(DEFAULT_CHANNEL), "channel_not_found"),
        (
            "webhook",
            lambda standin: standin.fail_next(1, error="invalid_blocks", target="webhook"),
            "webhook invalid_blocks (HTTP 400)",
        ),
    ],
)
def test_a_permanent_failure_goes_to_the_dlq_on_its_first_receive(slack, capsys, captured_logs, mode, break_it, reason):
    deps = slack.dependencies(secret_for(slack, mode))
    queues = slack.queues(deps)
    body = sns_body(notice_document())
    queues.send(body)
    break_it(slack.standin)

    response = slack.run_queue(queues, deps)

    # Then the function moved it to the DLQ itself, unchanged, with the reason beside it, and Lambda deletes it
    assert response == {"batchItemFailures": []}
    [dead] = queues.dead_letters()
    assert dead["Body"] == body
    assert dead["MessageAttributes"]["failureReason"]["StringValue"] == reason
    assert queues.waiting() == 0
    assert metric_sums(capsys.readouterr().out)[SLACK_PERMANENT_FAILURES] == 1
    [error] = [e for e in captured_logs.entries() if e["level"] == "ERROR"]
    assert error["message"] == "Slack delivery failed permanently; moved to the dead-letter queue"


def test_a_permanent_failure_returns_to_the_queue_when_the_dlq_cannot_be_reached(slack, captured_logs):
    # Given SQS refuses the function's SendMessage to the DLQ
    deps = slack.dependencies(slack.bot_secret())
    queues = slack.queues(deps)
    queues.send(sns_body(notice_document()))
    slack.standin.remove_channel(DEFAULT_CHANNEL)
    queues.sqs.delete_queue(QueueUrl=queues.dlq_url)

    response = slack.run_queue(queues, deps)

    # Then it is not lost: it returns to the queue, after a delay, to reach the DLQ through the redrive policy
    assert len(response["batchItemFailures"]) == 1
    assert queues.waiting() == 1
    assert len(queues.visibility_timeouts) == 1
    assert "Could not move the message to the dead-letter queue" in captured_logs.text


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (notice_document(status=7), "status is a int, not a string"),
        (notice_document(records={"total": "lots"}), "records.total"),
        (notice_document(jobName=["a", "list"]), "jobName is a list, not a string"),
        (notice_document(lastModifiedTime=1714565161), "lastModifiedTime is a int, not a string"),
        ("[" * 100_000 + "]" * 100_000, "the message cannot be read (RecursionError)"),
    ],
    ids=["status", "records", "jobName", "time", "nested"],
)
def test_a_notice_with_wrongly_typed_fields_goes_straight_to_the_dlq(slack, capsys, captured_logs, document, reason):
    deps = slack.dependencies(slack.webhook_secret())
    queues = slack.queues(deps)
    queues.send(sns_body(document))

    response = slack.run_queue(queues, deps)

    # Then it is a permanent failure naming the field, not an unexpected error retried; Slack is never called
    assert response == {"batchItemFailures": []}
    [dead] = queues.dead_letters()
    assert reason in dead["MessageAttributes"]["failureReason"]["StringValue"]
    [error] = [e for e in captured_logs.entries() if e["level"] == "ERROR"]
    assert error["reason"].startswith("not a notifier message: ")
    assert reason in error["reason"]
    assert "unexpected" not in captured_logs.text
    sums = metric_sums(capsys.readouterr().out)
    assert sums[SLACK_PERMANENT_FAILURES] == 1
    assert SLACK_RETRYABLE_FAILURES not in sums
    assert slack.standin.requests == []


# --- a slow Slack: no record starts that cannot finish before the timeout ------------------------------------


@dataclass
class SlowSlackContext(FakeLambdaContext):
    """The invocation's clock: each call Slack answers takes ``per_call_ms`` of the time left."""

    standin: SlackStandIn | None = None
    per_call_ms: int = 2_500
    lowest_ms: int | None = None

    def get_remaining_time_in_millis(self) -> int:
        assert self.standin is not None
        calls = sum(1 for request in self.standin.requests if request.kind != "admin")
        remaining = self.remaining_ms - self.per_call_ms * calls
        self.lowest_ms = remaining if self.lowest_ms is None else min(self.lowest_ms, remaining)
        return remaining


def documents(count: int) -> list[dict[str, Any]]:
    """One first transition each of ``count`` jobs."""
    return [
        notice_document(jobArn=f"{JOB}slow{index}", jobName=f"slow-{index}", transitionId=f"slow-{index}")
        for index in range(count)
    ]


@pytest.mark.parametrize(
    ("mode", "seconds_left", "per_call_ms", "delivered"),
    [
        # One call a record, 11 s needed to start one (a 10 s HTTP timeout and the table's share): 30, 26.5, 23,
        # 19.5, 16 and 12.5 s left start a record, 9 s left does not. Ten records would need 35 s.
        ("webhook", 30, 3_500, 6),
        # A job's first notice is one call (its parent), but a bot delivery may need two (an update and a reply):
        # 21 s needed, at most half of the 40 s the batch started with, so 40, 37.5, ... 20 s left start a record,
        # 17.5 s does not. Ten records would need 25 s.
        ("bot", 40, 2_500, 9),
    ],
)
def test_a_slow_slack_stops_records_starting_and_hands_the_rest_back_at_once(
    slack, capsys, mode, seconds_left, per_call_ms, delivered
):
    # Given a slow Slack and a batch of ten records, more than the time left can deliver
    deps = slack.dependencies(secret_for(slack, mode), http_timeout_seconds=10)
    queues = slack.queues(deps)
    queues.send(*[sns_body(document) for document in documents(10)])
    context = SlowSlackContext(remaining_ms=seconds_left * 1000, standin=slack.standin, per_call_ms=per_call_ms)
    slack.context = context

    event = queues.receive()
    assert len(event["Records"]) == 10
    response = slack.invoke(event, deps)
    queues.settle(event, response)

    # Then the invocation never ran past its timeout: the records it had no time for were not started
    assert context.lowest_ms is not None
    assert context.lowest_ms >= 0
    assert len(response["batchItemFailures"]) == 10 - delivered
    posted = [m for m in slack.standin.channel_messages() if m.thread_ts is None]
    assert len(posted) == delivered
    # And they were handed back visible at once, and not counted as failures
    assert queues.visibility_timeouts == [0] * (10 - delivered)
    sums = metric_sums(capsys.readouterr().out)
    assert sums[SLACK_MESSAGES_SENT] == delivered
    assert SLACK_RETRYABLE_FAILURES not in sums
    assert SLACK_PERMANENT_FAILURES not in sums

    # And the next invocation receives them right away, without waiting for any visibility timeout
    slack.context = FakeLambdaContext()
    assert slack.run_queue(queues, deps) == {"batchItemFailures": []}
    assert len([m for m in slack.standin.channel_messages() if m.thread_ts is None]) == 10
    assert queues.waiting() == 0


def test_a_call_does_not_start_without_time_for_it(slack, capsys):
    # Given a job with its message, and a later transition that starts with enough time for the update of the
    # parent but not for its reply
    deps = slack.dependencies(slack.bot_secret(), http_timeout_seconds=10)
    queues = slack.queues(deps)
    first = documents(1)[0]
    queues.send(sns_body(first))
    assert slack.run_queue(queues, deps) == {"batchItemFailures": []}
    later = {**first, "status": "Stopped", "previousStatus": first["status"], "transitionId": "slow-0-stopped"}
    queues.send(sns_body(later))
    # 21 s left once the first notice's one call is counted
    slack.context = SlowSlackContext(remaining_ms=21_000 + 20_600, standin=slack.standin, per_call_ms=20_600)

    event = queues.receive()
    response = slack.invoke(event, deps)
    queues.settle(event, response)

    # Then the reply was not attempted (0.4 s left): the record is handed back at once, and its retry finishes
    # the job with one reply
    assert len(response["batchItemFailures"]) == 1
    assert queues.visibility_timeouts == [0]
    assert SLACK_RETRYABLE_FAILURES not in metric_sums(capsys.readouterr().out)
    slack.context = FakeLambdaContext()
    assert slack.run_queue(queues, deps) == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert len(parent.replies) == 1
    assert queues.waiting() == 0
