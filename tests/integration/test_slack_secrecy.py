"""The webhook URL and the bot token never show up in logs, metrics, exceptions, responses or traces.

A canary value is planted in both secrets; every failure mode runs; then everything captured is searched.
"""

from __future__ import annotations

import importlib
import json
import logging
import socket
from typing import Any

import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import patch, xray_recorder
from botocore.exceptions import EndpointConnectionError

from notifier.core.notice import Notice
from notifier.slack.blocks import transition_message
from notifier.slack.clients import BotClient, WebhookSender
from notifier.slack.failures import SlackFailure
from notifier.slack.retry import RetryPolicy
from tests.fixtures.slack import notice_document, sns_body, sqs_event

CANARY = "CANARY7f3a9d"
WEBHOOK_PATH = f"/services/T{CANARY}/B{CANARY}/{CANARY}"
BOT_TOKEN = f"xoxb-{CANARY}-token"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scenarios(slack) -> list[tuple[str, dict[str, Any], Any]]:
    """(name, secret, what to break at the stand-in) for every way a delivery can go."""
    standin = slack.standin
    unreachable = f"http://127.0.0.1:{closed_port()}{WEBHOOK_PATH}"
    bot = {"botToken": BOT_TOKEN, "channel": "C0123456789"}
    webhook = {"webhookUrl": standin.webhook_url(WEBHOOK_PATH)}
    return [
        ("webhook ok", webhook, lambda: None),
        ("webhook 5xx", webhook, lambda: standin.fail_next(3, status=502, target="webhook")),
        ("webhook dropped", webhook, lambda: standin.fail_next(3, drop_connection=True, target="webhook")),
        ("webhook 404", webhook, lambda: standin.remove_webhook(WEBHOOK_PATH)),
        ("webhook 429", webhook, lambda: standin.fail_next(1, status=429, retry_after=900, target="webhook")),
        ("webhook refused", {"webhookUrl": unreachable}, lambda: None),
        ("bot ok", bot, lambda: None),
        ("bot revoked", bot, lambda: standin.revoke_token(BOT_TOKEN)),
        ("bot 5xx", bot, lambda: standin.fail_next(3, status=500, target="api")),
        ("bot dropped", bot, lambda: standin.fail_next(3, drop_connection=True, target="api")),
        ("bot channel", bot, lambda: standin.remove_channel("C0123456789")),
    ]


@pytest.mark.parametrize("mode", ["webhook", "bot"])
def test_no_secret_in_anything_captured(slack, captured_logs, capsys, caplog, mode):
    captured: list[str] = []
    chosen = [scenario for scenario in scenarios(slack) if scenario[0].startswith(mode)]
    for index, (name, secret, break_it) in enumerate(chosen):
        slack.standin.reset()
        slack.standin.add_token(BOT_TOKEN)
        slack.standin.add_webhook(WEBHOOK_PATH)
        secret_arn = slack.create_secret(secret, name=f"slack-{index}")
        deps = slack.dependencies(secret_arn)
        break_it()
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            response = slack.invoke(sqs_event(sns_body(notice_document(transitionId=f"canary-{index}"))), deps)
        captured.append(json.dumps(response))
        # Everything the function's process logged, at every level, through any logger (moto's server-side
        # records are left out: they are the test's stand-in for AWS, not the function)
        captured.extend(
            f"{r.name} {r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if not r.name.startswith(("moto", "werkzeug"))
        )
        assert name
        assert response is not None

    out, err = capsys.readouterr()
    everything = "\n".join([*captured, captured_logs.text, out, err])
    assert CANARY not in everything
    assert "SlackPermanentFailures" in out  # the metrics were in what was searched
    assert "Slack delivery failed" in captured_logs.text


def test_adapter_exceptions_do_not_carry_the_url_or_token(slack):
    policy = RetryPolicy(max_retries=1, backoff_seconds=0.01, http_timeout_seconds=1)
    message = transition_message(Notice.from_document(notice_document()))
    unreachable = f"http://127.0.0.1:{closed_port()}{WEBHOOK_PATH}"
    failures: list[SlackFailure] = []

    for call in (
        lambda: WebhookSender(unreachable, policy, lambda: 60.0, slack.sleep).send(message),
        lambda: WebhookSender(slack.standin.webhook_url(WEBHOOK_PATH), policy, lambda: 60.0, slack.sleep).send(message),
        lambda: BotClient(BOT_TOKEN, f"http://127.0.0.1:{closed_port()}/api/", policy, lambda: 60.0, slack.sleep).post(
            "C0123456789", message
        ),
        lambda: BotClient(BOT_TOKEN, slack.standin.api_url, policy, lambda: 60.0, slack.sleep).post(
            "C0123456789", message
        ),
    ):
        with pytest.raises(SlackFailure) as raised:
            call()
        failures.append(raised.value)

    for failure in failures:
        assert CANARY not in str(failure)
        assert CANARY not in repr(failure)
        # The SDK's exception (whose text has the URL) is neither the cause nor shown as context in tracebacks
        assert failure.__cause__ is None
        assert failure.__context__ is None or failure.__suppress_context__
    assert CANARY not in repr(WebhookSender(unreachable, policy, lambda: 60.0, slack.sleep))


class CapturingEmitter:
    """Stands in for the X-Ray daemon: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


def test_the_webhook_path_is_not_recorded_in_xray_traces(slack, monkeypatch):
    # Given X-Ray's http.client patch, as Tracer applies it in Lambda (the tests otherwise run with tracing off)
    httplib_patch = importlib.import_module("aws_xray_sdk.ext.httplib.patch")
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    was_enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    emitter = CapturingEmitter()
    xray_recorder.configure(emitter=emitter, sampling=False, context_missing="LOG_ERROR")
    patch(["httplib"])
    policy = RetryPolicy(max_retries=0, http_timeout_seconds=2)
    message = transition_message(Notice.from_document(notice_document()))
    slack.standin.add_webhook(WEBHOOK_PATH)
    slack.standin.add_token(BOT_TOKEN)
    try:
        # When the function posts to a webhook and to the Web API inside a traced segment
        xray_recorder.begin_segment("slack-function", sampling=1)
        WebhookSender(slack.standin.webhook_url(WEBHOOK_PATH), policy, lambda: 60.0, slack.sleep).send(message)
        api_via_localhost = slack.standin.api_url.replace("127.0.0.1", "localhost")
        BotClient(BOT_TOKEN, api_via_localhost, policy, lambda: 60.0, slack.sleep).post("C0123456789", message)
        xray_recorder.end_segment()
    finally:
        httplib_patch.unpatch()
        global_sdk_config.set_sdk_enabled(was_enabled)

    # Then the trace has the Web API call (tracing works) but neither the webhook path nor the token
    trace = "\n".join(emitter.sent)
    assert "chat.postMessage" in trace
    assert CANARY not in trace


def test_no_secret_in_what_the_look_ups_after_a_failed_write_leave(slack, captured_logs, capsys, caplog):
    """The conversations.history / conversations.replies path handles the token too: answered, failing, refused."""
    captured: list[str] = []
    cases = [
        ("answered", set(), lambda: None),
        ("5xx", set(), lambda: slack.standin.fail_next(3, status=500, method="conversations.history")),
        ("dropped", set(), lambda: slack.standin.fail_next(3, drop_connection=True, method="conversations.replies")),
        ("no scope", {"chat:write"}, lambda: None),
    ]
    for index, (name, scopes, break_it) in enumerate(cases):
        slack.standin.reset()
        slack.standin.add_token(BOT_TOKEN, **({"scopes": scopes} if scopes else {}))
        deps = slack.dependencies(slack.create_secret({"botToken": BOT_TOKEN, "channel": "C0123456789"}, f"l-{index}"))
        first = notice_document(transitionId=f"lookup-{index}-a", jobArn=f"arn:aws:bedrock:::job/{index}")
        second = notice_document(transitionId=f"lookup-{index}-b", jobArn=first["jobArn"], status="Failed")
        # Each write after a post fails once, so each redelivery looks in Slack first
        failing = {"SET ts = :ts", "ADD repliedTransitions"}

        def hook(params: dict[str, Any], failing: set[str] = failing, **kwargs: Any) -> None:
            for expression in list(failing):
                if str(params.get("UpdateExpression", "")).startswith(expression):
                    failing.discard(expression)
                    raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

        deps.store._client.meta.events.register("provide-client-params.dynamodb.UpdateItem", hook)
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            for document in (first, first, second, second, second):
                if document is second:
                    break_it()
                response = slack.invoke(sqs_event(sns_body(document)), deps)
                captured.append(json.dumps(response))
        captured.extend(
            f"{r.name} {r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if not r.name.startswith(("moto", "werkzeug"))
        )
        assert name
        assert slack.standin.requests_to("/api/conversations.history") or scopes

    out, err = capsys.readouterr()
    everything = "\n".join([*captured, captured_logs.text, out, err])
    assert CANARY not in everything
    assert "Could not check Slack" in captured_logs.text  # the refused look-up was in what was searched
    assert "Slack delivery failed" in captured_logs.text


def test_look_up_exceptions_do_not_carry_the_token(slack):
    policy = RetryPolicy(max_retries=1, backoff_seconds=0.01, http_timeout_seconds=1)
    slack.standin.add_token(BOT_TOKEN, scopes={"chat:write"})
    unreachable = BotClient(BOT_TOKEN, f"http://127.0.0.1:{closed_port()}/api/", policy, lambda: 60.0, slack.sleep)
    refused = BotClient(BOT_TOKEN, slack.standin.api_url, policy, lambda: 60.0, slack.sleep)
    failures: list[SlackFailure] = []

    for call in (
        lambda: unreachable.history("C0123456789"),
        lambda: unreachable.replies("C0123456789", "1700000000.000100"),
        lambda: refused.history("C0123456789"),
        lambda: refused.replies("C0123456789", "1700000000.000100"),
    ):
        with pytest.raises(SlackFailure) as raised:
            call()
        failures.append(raised.value)

    assert [failure.reason for failure in failures[2:]] == ["missing_scope", "missing_scope"]
    for failure in failures:
        assert CANARY not in str(failure)
        assert CANARY not in repr(failure)
        assert failure.__cause__ is None
        assert failure.__context__ is None or failure.__suppress_context__
