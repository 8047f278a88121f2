"""The slack_sdk adapter: posts to an incoming webhook, and chat.postMessage / chat.update with a bot token.

slack_sdk and urllib put the URL in their exception text, so every exception is caught here and replaced by a
SlackFailure ``from None``.
"""

from __future__ import annotations

import math
from typing import Any

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from notifier.slack.blocks import SlackMessage
from notifier.slack.failures import (
    RetryableSlackFailure,
    classify_api_error,
    classify_webhook_response,
    describe_transport_error,
)
from notifier.slack.retry import RemainingSeconds, RetryPolicy, Sleep, retry_handlers
from notifier.slack.secrecy import SDK_LOGGER, exclude_from_traces


def _timeout(policy: RetryPolicy) -> int:
    return max(1, math.ceil(policy.http_timeout_seconds))


class WebhookSender:
    """Posts to one incoming webhook."""

    def __init__(self, url: str, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep) -> None:
        exclude_from_traces(url)
        self._client = WebhookClient(
            url=url,
            timeout=_timeout(policy),
            logger=SDK_LOGGER,
            retry_handlers=retry_handlers(policy, remaining_seconds, sleep),
        )

    def __repr__(self) -> str:
        return "WebhookSender(url=***)"

    def send(self, message: SlackMessage) -> None:
        try:
            response = self._client.send_dict({**message.as_payload(), "unfurl_links": False})
        except Exception as exc:
            raise RetryableSlackFailure(describe_transport_error(exc)) from None
        failure = classify_webhook_response(response.status_code, response.body, response.headers)
        if failure is not None:
            raise failure


class BotClient:
    """chat.postMessage and chat.update with one bot token."""

    def __init__(
        self, token: str, api_url: str, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep
    ) -> None:
        self._client = WebClient(
            token=token,
            base_url=api_url,
            timeout=_timeout(policy),
            logger=SDK_LOGGER,
            retry_handlers=retry_handlers(policy, remaining_seconds, sleep),
        )

    def __repr__(self) -> str:
        return "BotClient(token=***)"

    def post(
        self,
        channel: str,
        message: SlackMessage,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        arguments: dict[str, Any] = {"channel": channel, **message.as_payload(), "unfurl_links": False}
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
            arguments["reply_broadcast"] = broadcast
        if metadata is not None:
            arguments["metadata"] = metadata
        data = self._call("chat.postMessage", arguments)
        ts = data.get("ts")
        if not isinstance(ts, str):
            raise RetryableSlackFailure("chat.postMessage answered ok without a ts")
        return ts

    def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        self._call("chat.update", {"channel": channel, "ts": ts, **message.as_payload()})

    def _call(self, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.api_call(method, json=arguments)
        except SlackApiError as exc:
            data = exc.response.data
            error = data.get("error") if isinstance(data, dict) else None
            raise classify_api_error(error, exc.response.status_code, exc.response.headers) from None
        except Exception as exc:
            raise RetryableSlackFailure(describe_transport_error(exc)) from None
        return response.data if isinstance(response.data, dict) else {}
