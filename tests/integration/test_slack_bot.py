"""Bot-token mode over real HTTP: one parent message per job updated in place, a thread reply per later transition."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from local.slack_standin import DEFAULT_CHANNEL, DEFAULT_TOKEN
from notifier.core.notice import Notice
from notifier.core.observability import SLACK_PERMANENT_FAILURES
from notifier.core.table_layout import SLACK_PREFIX
from notifier.slack.bot import BotMode
from notifier.slack.clients import BotClient
from notifier.slack.retry import RetryPolicy
from tests.fixtures.aws import REGION
from tests.fixtures.slack import metric_sums, notice_document, sns_body, sqs_event


def step(status: str, previous: str | None, minute: int, **extra: Any) -> dict[str, Any]:
    """One transition of the sample job, `minute` minutes after 10:00."""
    moment = f"2024-05-01T{10 + minute // 60:02d}:{minute % 60:02d}:00.000Z"
    terminal = status in {"Completed", "Failed", "Expired", "PartiallyCompleted", "Stopped"}
    fields: dict[str, Any] = {
        "status": status,
        "previousStatus": previous,
        "lastModifiedTime": moment,
        "detectedAt": moment,
        "endTime": moment if terminal else None,
        "records": {"total": 100, "processed": min(minute, 100), "success": min(minute, 100), "error": 0},
    }
    fields.update(extra)
    return notice_document(**fields)


SUBMITTED = step("Submitted", None, 0)
IN_PROGRESS = step("InProgress", "Submitted", 30)
COMPLETED = step("Completed", "InProgress", 125)
FAILED = step("Failed", "InProgress", 90, message="Model quota exceeded for anthropic.claude-3-haiku")


def deliver(slack, deps, *documents: dict[str, Any]) -> list[dict[str, Any]]:
    return [slack.invoke(sqs_event(sns_body(document)), deps) for document in documents]


def test_one_parent_per_job_updated_in_place_with_a_thread_reply_per_later_transition(slack, capsys):
    deps = slack.dependencies(slack.bot_secret())

    responses = deliver(slack, deps, SUBMITTED, IN_PROGRESS, COMPLETED)

    assert responses == [{"batchItemFailures": []}] * 3
    [parent] = slack.standin.channel_messages()
    # The parent shows the current state
    assert parent.edits == 2
    assert parent.text == ":white_check_mark: Bedrock batch job nightly-eval-2024-05-01 is Completed"
    assert "*Completed* (was InProgress)" in parent.all_text
    assert "100% · 100 of 100 records processed" in parent.all_text
    assert "2h 5m" in parent.all_text
    # The parent announced the job; the thread keeps the history after it, and nothing was broadcast
    assert [reply.text.split(": ")[-1] for reply in parent.replies] == [
        "Submitted → InProgress",
        "InProgress → Completed",
    ]
    assert not any(reply.reply_broadcast for reply in parent.replies)
    # Each call carried the bot token in the Authorization header
    assert {r.headers["authorization"] for r in slack.standin.requests_to("/api/chat.postMessage")} == {
        f"Bearer {DEFAULT_TOKEN}"
    }
    assert metric_sums(capsys.readouterr().out)["SlackMessagesSent"] == 1 + 2 * 2  # the parent, then update+reply
    # The first notice was one Slack call
    assert len(slack.standin.requests_to("/api/chat.postMessage")) == 1 + 2
    assert len(slack.standin.requests_to("/api/chat.update")) == 2


def test_a_failed_job_broadcasts_its_reply_to_the_channel(slack):
    deps = slack.dependencies(slack.bot_secret())

    deliver(slack, deps, IN_PROGRESS, FAILED)

    channel = slack.standin.channel_messages()
    parent, broadcast = channel
    assert parent.text == ":x: Bedrock batch job nightly-eval-2024-05-01 is Failed"
    assert "Model quota exceeded" in parent.all_text
    assert broadcast.reply_broadcast
    assert broadcast.thread_ts == parent.ts
    assert broadcast.text == ":x: nightly-eval-2024-05-01: InProgress → Failed"
    assert [reply.reply_broadcast for reply in parent.replies] == [True]


def test_broadcast_statuses_are_configurable(slack):
    deps = slack.dependencies(slack.bot_secret(), broadcast_statuses=frozenset({"Completed"}))

    deliver(slack, deps, IN_PROGRESS, COMPLETED)

    [_parent, broadcast] = slack.standin.channel_messages()
    assert broadcast.text.endswith("InProgress → Completed")


def test_a_completed_job_whose_every_record_failed_is_red_and_broadcast_as_a_failed_one_is(slack):
    deps = slack.dependencies(slack.bot_secret())
    every_record_failed = step(
        "Completed",
        "InProgress",
        125,
        records={"total": 100, "processed": 100, "success": 0, "error": 100},
        outcome="failed",
        severity="critical",
        errorRate=1.0,
    )

    deliver(slack, deps, IN_PROGRESS, every_record_failed)

    parent, broadcast = slack.standin.channel_messages()
    assert parent.text == ":x: Bedrock batch job nightly-eval-2024-05-01 is Completed: every record failed"
    assert broadcast.reply_broadcast
    assert broadcast.text == ":x: nightly-eval-2024-05-01: InProgress → Completed: every record failed"


def test_a_job_first_seen_failed_is_announced_once(slack):
    deps = slack.dependencies(slack.bot_secret())

    deliver(slack, deps, step("Failed", None, 5, message="bad input"))

    [parent] = slack.standin.channel_messages()
    assert parent.text.endswith("is Failed")
    assert parent.replies == []
    assert len(slack.standin.requests) == 1


def test_an_older_transition_arriving_late_does_not_overwrite_the_parent(slack):
    deps = slack.dependencies(slack.bot_secret())

    deliver(slack, deps, SUBMITTED, COMPLETED, IN_PROGRESS)  # InProgress delivered last

    [parent] = slack.standin.channel_messages()
    assert parent.text.endswith("is Completed")
    assert parent.edits == 1
    assert len(parent.replies) == 2  # the late one still joins the history


def test_a_redelivered_transition_neither_updates_nor_replies_again(slack, captured_logs):
    deps = slack.dependencies(slack.bot_secret())

    deliver(slack, deps, IN_PROGRESS, COMPLETED, COMPLETED)

    [parent] = slack.standin.channel_messages()
    assert parent.edits == 1
    assert len(parent.replies) == 1
    assert len(slack.standin.requests_to("/api/chat.update")) == 1
    assert "Transition already delivered to Slack; not posting again" in captured_logs.text


def test_a_failure_between_the_update_and_the_reply_does_not_double_the_reply_on_retry(slack):
    # Given the parent update succeeds but the thread reply keeps failing
    deps = slack.dependencies(slack.bot_secret())
    deliver(slack, deps, IN_PROGRESS)
    slack.standin.fail_next(3, status=500, method="chat.postMessage")
    [first] = deliver(slack, deps, COMPLETED)
    assert first == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}

    # When SQS redelivers it
    [second] = deliver(slack, deps, COMPLETED)

    # Then the parent is updated again (harmless) and the reply is posted once
    assert second == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert parent.text.endswith("is Completed")
    assert [reply.text.split(": ")[-1] for reply in parent.replies] == ["InProgress → Completed"]


def test_a_crash_after_the_reply_does_not_post_it_again(slack):
    # Given a delivery that got as far as the thread reply and then crashed (its idempotency record was not saved),
    # replayed here by running the bot mode twice without the idempotency layer in front
    deps = slack.dependencies(slack.bot_secret())
    client = BotClient(DEFAULT_TOKEN, slack.standin.api_url, RetryPolicy(), lambda: 60.0, slack.sleep)
    mode = BotMode(client, DEFAULT_CHANNEL, deps.store, {"Failed"}, on_sent=lambda: None)
    mode.deliver(Notice.from_document(IN_PROGRESS))

    mode.deliver(Notice.from_document(COMPLETED))
    again = mode.deliver(Notice.from_document(COMPLETED))

    assert again["replied"] is False
    [parent] = slack.standin.channel_messages()
    assert len(parent.replies) == 1


def test_a_parent_deleted_in_slack_is_posted_again(slack):
    # Given someone deleted the job's parent message
    deps = slack.dependencies(slack.bot_secret())
    deliver(slack, deps, IN_PROGRESS)
    [gone] = slack.standin.channel_messages()
    slack.standin.delete_message(DEFAULT_CHANNEL, gone.ts)

    # When the job's next transition arrives
    [response] = deliver(slack, deps, COMPLETED)

    # Then a new parent shows it, and the thread goes on under the new one
    assert response == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert parent.ts != gone.ts
    assert parent.text.endswith("is Completed")
    assert [reply.text.split(": ")[-1] for reply in parent.replies] == ["InProgress → Completed"]
    assert deps.store.load(IN_PROGRESS["jobArn"], DEFAULT_CHANNEL).ts == parent.ts


def test_concurrent_first_transitions_create_one_parent(slack):
    # Given two invocations that receive the first two transitions of a new job at the same moment
    deps = slack.dependencies(slack.bot_secret())
    barrier = threading.Barrier(2)
    responses: list[dict[str, Any]] = []

    def invoke(document: dict[str, Any]) -> None:
        barrier.wait()
        responses.append(slack.invoke(sqs_event(sns_body(document)), deps))

    threads = [threading.Thread(target=invoke, args=(document,)) for document in (SUBMITTED, IN_PROGRESS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # Then there is one parent, showing the later status, and the other transition in its thread
    assert responses == [{"batchItemFailures": []}] * 2
    [parent] = slack.standin.channel_messages()
    assert parent.text.endswith("is InProgress")
    assert len(parent.replies) == 1


def test_a_delivery_waits_for_the_one_posting_the_parent_then_goes_back_to_the_queue(slack):
    # Given another delivery has claimed the job's parent and not posted it yet
    deps = slack.dependencies(slack.bot_secret())
    deps.store.claim(
        SUBMITTED["jobArn"], DEFAULT_CHANNEL, SUBMITTED["transitionId"], "0|x|x", Notice.from_document(SUBMITTED), 60
    )

    [response] = deliver(slack, deps, IN_PROGRESS)

    # Then this one waited a little, posted nothing, and returns to the queue
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert slack.sleeps == [0.05, 0.1, 0.2]
    assert slack.standin.channel_messages() == []


def test_the_mapping_lives_under_the_slack_prefix(slack):
    deps = slack.dependencies(slack.bot_secret())

    deliver(slack, deps, IN_PROGRESS)

    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=slack.table)["Items"]
    mapping = [item for item in items if item["pk"]["S"].startswith(SLACK_PREFIX)]
    idempotency = [item for item in items if item["pk"]["S"].startswith("IDEMPOTENCY#")]
    assert len(mapping) == 1
    assert mapping[0]["sk"]["S"] == DEFAULT_CHANNEL
    assert mapping[0]["ts"]["S"] == slack.standin.channel_messages()[0].ts
    assert "expiresAt" in mapping[0]
    assert len(idempotency) == 1
    assert "expiresAt" in idempotency[0]
    assert len(items) == 2


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda standin: standin.remove_channel(DEFAULT_CHANNEL), "channel_not_found"),
        (lambda standin: standin.add_channel(DEFAULT_CHANNEL, member=False), "not_in_channel"),
        (lambda standin: standin.add_channel(DEFAULT_CHANNEL, archived=True), "is_archived"),
        (lambda standin: standin.fail_next(1, error="channel_is_archived"), "channel_is_archived"),
        (lambda standin: standin.fail_next(1, error="invalid_blocks"), "invalid_blocks"),
        (lambda standin: standin.fail_next(2, error="account_inactive"), "account_inactive"),
        (lambda standin: standin.fail_next(2, error="invalid_auth"), "invalid_auth"),
        (lambda standin: standin.revoke_token(DEFAULT_TOKEN), "token_revoked"),
    ],
)
def test_a_permanent_api_error_is_a_failed_item_with_a_metric_and_a_log(slack, captured_logs, capsys, break_it, reason):
    deps = slack.dependencies(slack.bot_secret())
    break_it(slack.standin)

    [response] = deliver(slack, deps, IN_PROGRESS)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert metric_sums(capsys.readouterr().out)[SLACK_PERMANENT_FAILURES] == 1
    [error] = [entry for entry in captured_logs.entries() if entry["level"] == "ERROR"]
    assert error["reason"] == reason
    assert DEFAULT_TOKEN not in captured_logs.text


def test_a_rotated_token_is_picked_up_after_invalid_token(slack, captured_logs):
    # Given the function cached token A, which was then revoked and replaced by token B in the secret
    secret_arn = slack.bot_secret(token="xoxb-token-a")
    slack.standin.add_token("xoxb-token-a")
    deps = slack.dependencies(secret_arn)
    deliver(slack, deps, IN_PROGRESS)
    slack.standin.revoke_token("xoxb-token-a")
    slack.standin.add_token("xoxb-token-b")
    slack.rotate_secret(secret_arn, {"botToken": "xoxb-token-b", "channel": DEFAULT_CHANNEL})

    # When the next transition arrives (well within the secret's cache age)
    [response] = deliver(slack, deps, COMPLETED)

    # Then token_revoked made the function read the secret again, and B delivered it
    assert response == {"batchItemFailures": []}
    assert slack.standin.requests[-1].headers["authorization"] == "Bearer xoxb-token-b"
    assert slack.standin.channel_messages()[0].text.endswith("is Completed")
    assert "reading the secret again" in captured_logs.text


def test_a_refused_token_is_re_read_only_once_per_batch(slack):
    # Given a token Slack refuses and a secret that still holds it
    secret_arn = slack.bot_secret(token="xoxb-not-known")
    deps = slack.dependencies(secret_arn)
    reads: list[str] = []
    deps.secrets._provider.client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kwargs: reads.append("read")
    )
    event = sqs_event(sns_body(SUBMITTED), sns_body(IN_PROGRESS), sns_body(COMPLETED))

    response = slack.invoke(event, deps)

    # Then every item failed; the secret was read twice (the second read found the same token, so Slack was not
    # asked again) and the later items failed without calling Slack
    assert len(response["batchItemFailures"]) == 3
    assert len(slack.standin.requests_to("/api/chat.postMessage")) == 1
    assert reads == ["read", "read"]


def test_a_late_older_transition_after_the_parent_was_deleted_posts_a_new_parent(slack):
    # Given the job's parent shows Completed, and someone deleted it in Slack
    deps = slack.dependencies(slack.bot_secret())
    deliver(slack, deps, SUBMITTED, COMPLETED)
    [gone] = slack.standin.channel_messages()
    slack.standin.delete_message(DEFAULT_CHANNEL, gone.ts)

    # When an older transition arrives late (it does not update the parent, only replies in its thread)
    [response] = deliver(slack, deps, IN_PROGRESS)

    # Then a new parent, showing the latest status, carries its reply; nothing goes to the DLQ
    assert response == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert parent.ts != gone.ts
    assert parent.text.endswith("is Completed")
    assert [reply.text.split(": ")[-1] for reply in parent.replies] == ["Submitted → InProgress"]
    assert deps.store.load(IN_PROGRESS["jobArn"], DEFAULT_CHANNEL).ts == parent.ts


def fail_once(deps, operation: str, expression: str) -> list[str]:
    """The next DynamoDB `operation` whose UpdateExpression starts with `expression` fails as a lost connection."""
    failed: list[str] = []

    def hook(params: dict[str, Any], **kwargs: Any) -> None:
        if not failed and str(params.get("UpdateExpression", "")).startswith(expression):
            failed.append(expression)
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    deps.store._client.meta.events.register(f"provide-client-params.dynamodb.{operation}", hook)
    return failed


def test_a_failure_to_record_the_parent_after_posting_it_does_not_post_a_second_parent(slack):
    # Given chat.postMessage posted the job's parent, then recording its ts failed
    deps = slack.dependencies(slack.bot_secret())
    failed = fail_once(deps, "UpdateItem", "SET ts = :ts")
    [first] = deliver(slack, deps, SUBMITTED)
    assert failed
    assert first == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert len(slack.standin.channel_messages()) == 1

    # When SQS redelivers the transition
    [second] = deliver(slack, deps, SUBMITTED)

    # Then the function found the parent by its metadata and kept it: one parent, which shows the transition
    assert second == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert parent.text.endswith("is Submitted")
    assert parent.replies == []
    assert deps.store.load(SUBMITTED["jobArn"], DEFAULT_CHANNEL).ts == parent.ts
    assert len(slack.standin.requests_to("/api/conversations.history")) == 1


def test_a_failure_to_record_a_reply_after_posting_it_does_not_post_it_twice(slack):
    # Given the thread reply was posted, then recording it failed
    deps = slack.dependencies(slack.bot_secret())
    deliver(slack, deps, IN_PROGRESS)
    failed = fail_once(deps, "UpdateItem", "ADD repliedTransitions")
    [first] = deliver(slack, deps, COMPLETED)
    assert failed
    assert first == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}

    # When SQS redelivers the transition
    [second] = deliver(slack, deps, COMPLETED)

    # Then the function found the reply in the thread and did not post it again
    assert second == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert [reply.text.split(": ")[-1] for reply in parent.replies] == ["InProgress → Completed"]
    assert COMPLETED["transitionId"] in deps.store.load(COMPLETED["jobArn"], DEFAULT_CHANNEL).replied
    assert len(slack.standin.requests_to("/api/conversations.replies")) == 1


def test_a_reply_that_never_reached_slack_is_posted_on_the_retry(slack):
    # Given the reply's post was dropped every time (its intent is noted, the reply is not in Slack)
    deps = slack.dependencies(slack.bot_secret())
    deliver(slack, deps, IN_PROGRESS)
    slack.standin.fail_next(3, drop_connection=True, method="chat.postMessage")
    [first] = deliver(slack, deps, COMPLETED)
    assert first == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}

    [second] = deliver(slack, deps, COMPLETED)

    assert second == {"batchItemFailures": []}
    [parent] = slack.standin.channel_messages()
    assert len(parent.replies) == 1


def test_without_the_history_scope_a_failed_write_means_a_second_post_not_a_lost_notice(slack, captured_logs):
    # Given a token that may post but not read the channel, and recording the parent's ts failing once
    slack.standin.add_token("xoxb-post-only", scopes={"chat:write"})
    deps = slack.dependencies(slack.bot_secret(token="xoxb-post-only"))
    fail_once(deps, "UpdateItem", "SET ts = :ts")
    deliver(slack, deps, SUBMITTED)

    [response] = deliver(slack, deps, SUBMITTED)

    # Then the look-up was refused, so the function posted again rather than lose the notice, and said why
    assert response == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 2
    [warning] = [e for e in captured_logs.entries() if e["message"].startswith("Could not check Slack")]
    assert warning["reason"] == "missing_scope"


def test_a_parent_post_without_an_answer_keeps_its_claim_and_is_looked_for_before_posting_again(slack):
    # Given the parent's post got no answer (connection dropped on every attempt)
    deps = slack.dependencies(slack.bot_secret())
    slack.standin.fail_next(3, drop_connection=True, method="chat.postMessage")
    [first] = deliver(slack, deps, SUBMITTED)
    assert first == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert deps.store.load(SUBMITTED["jobArn"], DEFAULT_CHANNEL).claimed_by == SUBMITTED["transitionId"]

    # When it is redelivered, the function looks first, finds nothing, and posts once
    [second] = deliver(slack, deps, SUBMITTED)

    assert second == {"batchItemFailures": []}
    assert len(slack.standin.channel_messages()) == 1
    assert len(slack.standin.requests_to("/api/conversations.history")) == 1


def test_one_slack_client_serves_every_batch_of_a_warm_container(slack):
    # Given one container's dependencies, and a secret rotated between two of its batches
    secret_arn = slack.bot_secret(token="xoxb-token-a")
    slack.standin.add_token("xoxb-token-a")
    slack.standin.add_token("xoxb-token-b")
    deps = slack.dependencies(secret_arn)

    deliver(slack, deps, SUBMITTED, IN_PROGRESS)
    [first] = deps.clients.values()
    slack.rotate_secret(secret_arn, {"botToken": "xoxb-token-b", "channel": DEFAULT_CHANNEL})
    deps.secrets.refresh()
    deliver(slack, deps, COMPLETED)

    # Then the batches before the rotation shared one client, and the new token got one of its own
    assert len(deps.clients) == 2
    assert next(iter(deps.clients.values())) is first
    assert slack.standin.requests[-1].headers["authorization"] == "Bearer xoxb-token-b"
