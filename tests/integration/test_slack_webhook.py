"""Webhook mode over real HTTP: slack_sdk against the stand-in, the secret and state in moto."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from local.slack_standin import DEFAULT_WEBHOOK_PATH
from notifier.core.observability import SLACK_MESSAGES_SENT, SLACK_PERMANENT_FAILURES, SLACK_RETRYABLE_FAILURES
from tests.fixtures.slack import metric_sums, notice_document, sns_body, sqs_event


def test_a_transition_becomes_one_message(slack, captured_logs, capsys):
    # Given a webhook secret
    deps = slack.dependencies(slack.webhook_secret())

    # When one transition arrives
    response = slack.invoke(sqs_event(sns_body(notice_document())), deps)

    # Then Slack shows one readable message and nothing goes back to the queue
    assert response == {"batchItemFailures": []}
    [message] = slack.standin.channel_messages()
    assert message.source == "webhook"
    assert message.text == ":white_check_mark: Bedrock batch job nightly-eval-2024-05-01: InProgress → Completed"
    assert "98 succeeded · 2 failed · 100 total" in message.all_text
    assert metric_sums(capsys.readouterr().out)[SLACK_MESSAGES_SENT] == 1
    assert "Transition delivered to Slack" in captured_logs.text


def test_each_transition_is_its_own_message(slack):
    deps = slack.dependencies(slack.webhook_secret())
    first = notice_document(status="InProgress", previousStatus="Submitted", endTime=None)
    second = notice_document(status="Completed")

    response = slack.invoke(sqs_event(sns_body(first), sns_body(second)), deps)

    assert response == {"batchItemFailures": []}
    assert [m.text.split(": ")[-1] for m in slack.standin.channel_messages()] == [
        "Submitted → InProgress",
        "InProgress → Completed",
    ]


def test_a_redelivered_message_is_not_posted_twice(slack, captured_logs):
    deps = slack.dependencies(slack.webhook_secret())
    event = sqs_event(sns_body(notice_document()))

    slack.invoke(event, deps)
    response = slack.invoke(event, deps)  # SQS delivers it again

    assert response == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 1
    assert len(slack.standin.requests_to(DEFAULT_WEBHOOK_PATH)) == 1
    assert "Transition already delivered to Slack; not posting again" in captured_logs.text


def test_a_malformed_body_fails_alone_and_the_others_are_delivered(slack, captured_logs, capsys):
    deps = slack.dependencies(slack.webhook_secret())
    good_one = sns_body(notice_document(status="InProgress", previousStatus="Submitted", endTime=None))
    good_two = sns_body(notice_document(status="Completed"))
    event = sqs_event(good_one, "this is not JSON", good_two, json.dumps({"Type": "Notification", "Message": "{}"}))

    response = slack.invoke(event, deps)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-2"}, {"itemIdentifier": "msg-4"}]}
    assert len(slack.standin.channel_messages()) == 2
    errors = [entry for entry in captured_logs.entries() if entry["level"] == "ERROR"]
    assert [entry["reason"] for entry in errors] == [
        "not a notifier message: the SQS body is not JSON",
        "not a notifier message: schemaVersion is None, expected '1'",
    ]
    sums = metric_sums(capsys.readouterr().out)
    assert sums[SLACK_PERMANENT_FAILURES] == 2
    assert sums[SLACK_MESSAGES_SENT] == 2


def test_server_errors_are_retried_then_delivered(slack):
    deps = slack.dependencies(slack.webhook_secret())
    slack.standin.fail_next(2, status=500, target="webhook")

    response = slack.invoke(sqs_event(sns_body(notice_document())), deps)

    assert response == {"batchItemFailures": []}
    assert len(slack.standin.requests_to(DEFAULT_WEBHOOK_PATH)) == 3
    assert len(slack.sleeps) == 2  # two bounded backoffs
    assert len(slack.standin.channel_messages()) == 1


def test_a_dropped_connection_is_retried(slack):
    deps = slack.dependencies(slack.webhook_secret())
    slack.standin.fail_next(1, drop_connection=True, target="webhook")

    response = slack.invoke(sqs_event(sns_body(notice_document())), deps)

    assert response == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 1


def test_persistent_server_errors_send_the_message_back_to_the_queue(slack, captured_logs, capsys):
    deps = slack.dependencies(slack.webhook_secret())
    slack.standin.fail_next(3, status=503, target="webhook")
    event = sqs_event(sns_body(notice_document()))

    response = slack.invoke(event, deps)

    # Then the item failed after 1 + 2 attempts, as retryable
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert len(slack.standin.requests_to(DEFAULT_WEBHOOK_PATH)) == 3
    assert metric_sums(capsys.readouterr().out)[SLACK_RETRYABLE_FAILURES] == 1
    [warning] = [entry for entry in captured_logs.entries() if entry["message"].startswith("Slack delivery failed")]
    assert warning["level"] == "WARNING"
    assert warning["reason"] == "Slack answered HTTP 503"

    # And when SQS redelivers it once Slack is back, it is delivered (the failed attempt left no idempotency record)
    assert slack.invoke(event, deps) == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 1


def test_a_429_is_waited_for_when_the_invocation_has_time(slack):
    # Given Slack rate-limits the first call for one second, and the invocation has minutes left
    slack.real_sleep_cap = 5
    deps = slack.dependencies(slack.webhook_secret())
    slack.standin.fail_next(1, status=429, retry_after=1, target="webhook")

    started = time.monotonic()
    response = slack.invoke(sqs_event(sns_body(notice_document())), deps)

    # Then the function waited Retry-After and delivered
    assert response == {"batchItemFailures": []}
    assert slack.sleeps == [1.0]
    assert time.monotonic() - started >= 1.0
    assert len(slack.standin.channel_messages()) == 1


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda standin: standin.fail_next(1, error="invalid_payload", target="webhook"), "invalid_payload"),
        (lambda standin: standin.remove_webhook(DEFAULT_WEBHOOK_PATH), "no_service"),
        (lambda standin: standin.revoke_webhook(DEFAULT_WEBHOOK_PATH), "invalid_token"),
        (lambda standin: standin.add_channel("C0123456789", archived=True), "channel_is_archived"),
        (lambda standin: standin.fail_next(1, error="invalid_blocks", target="webhook"), "invalid_blocks"),
    ],
)
def test_a_permanent_webhook_error_is_a_failed_item_with_a_metric_and_a_log(
    slack, captured_logs, capsys, break_it, reason
):
    secret_arn = slack.webhook_secret()
    deps = slack.dependencies(secret_arn)
    break_it(slack.standin)

    response = slack.invoke(sqs_event(sns_body(notice_document())), deps)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert metric_sums(capsys.readouterr().out)[SLACK_PERMANENT_FAILURES] == 1
    [error] = [entry for entry in captured_logs.entries() if entry["level"] == "ERROR"]
    assert reason in error["reason"]
    assert "/services/" not in captured_logs.text


def test_a_rotated_webhook_is_picked_up_without_a_redeploy(slack):
    # Given the function has cached a webhook that has since been removed, and the secret now holds a new one
    secret_arn = slack.webhook_secret("/services/T000/B000/OLD0")
    slack.standin.add_webhook("/services/T000/B000/OLD0")
    deps = slack.dependencies(secret_arn)
    slack.invoke(sqs_event(sns_body(notice_document(status="InProgress", endTime=None))), deps)
    slack.standin.remove_webhook("/services/T000/B000/OLD0")
    slack.rotate_secret(secret_arn, {"webhookUrl": slack.standin.webhook_url(DEFAULT_WEBHOOK_PATH)})

    # When the next transition arrives
    response = slack.invoke(sqs_event(sns_body(notice_document())), deps)

    # Then Slack's no_service makes the function read the secret again, and the new webhook gets the message
    assert response == {"batchItemFailures": []}
    assert len(slack.standin.requests_to(DEFAULT_WEBHOOK_PATH)) == 1
    assert len(slack.standin.channel_messages()) == 2


def test_the_idempotency_record_keeps_the_key_earlier_versions_wrote(slack):
    """A message in flight during an upgrade must find the record the previous version wrote, or it posts twice."""
    deps = slack.dependencies(slack.webhook_secret())
    document = notice_document()
    assert document["transitionId"] == "5d41402abc4b2a76b9719d911017c592"

    slack.invoke(sqs_event(sns_body(document)), deps)

    items = boto3.client("dynamodb").scan(TableName=slack.table)["Items"]
    keys = {(item["pk"]["S"], item["sk"]["S"]) for item in items if item["pk"]["S"].startswith("IDEMPOTENCY#")}
    # md5 of the JSON string "5d41402abc4b2a76b9719d911017c592", under the prefix and partition of version 0.1.0
    assert keys == {("IDEMPOTENCY#slack", "slack-transition#62ee2e9c8080044a976204eeb1d7b7df")}
