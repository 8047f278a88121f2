"""The slack_sdk adapter: posts to an incoming webhook; chat.postMessage, chat.update, conversations.history and
conversations.replies with a bot token.

slack_sdk and urllib put the URL in their exception text, so every exception is caught here and replaced by a
SlackFailure ``from None``. Each call's HTTP timeout is cut to the time the invocation has left, and no call starts
with less than a second (the retries wait only when a whole HTTP timeout still fits, notifier.slack.retry), so a
slow Slack cannot run the function past its timeout.
"""

from __future__ import annotations

import math
from typing import Any

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from notifier.slack.blocks import SlackMessage
from notifier.slack.failures import (
    NoAnswer,
    OutOfTime,
    classify_api_error,
    classify_webhook_response,
    describe_transport_error,
)
from notifier.slack.retry import RemainingSeconds, RetryPolicy, Sleep, retry_handlers
from notifier.slack.secrecy import SDK_LOGGER, exclude_from_traces

# Messages read per page, and pages read at most, when looking for a message already posted (rare: only after a
# delivery failed between posting and recording what it posted).
PAGE_SIZE = 200
MAX_PAGES = 3


def _timeout(policy: RetryPolicy) -> int:
    return max(1, math.ceil(policy.http_timeout_seconds))


# A call starts only with this much time left, and ends (by its timeout) this long before the invocation does.
MIN_CALL_SECONDS = 1
CALL_MARGIN_SECONDS = 0.5


def _call_timeout(policy: RetryPolicy, remaining_seconds: RemainingSeconds) -> int:
    """The HTTP timeout of the next call: the configured one, cut to the time the invocation has left."""
    seconds = min(float(_timeout(policy)), remaining_seconds() - CALL_MARGIN_SECONDS)
    if seconds < MIN_CALL_SECONDS:
        raise OutOfTime("too little time left in this invocation for another Slack call")
    return math.floor(seconds)


class _Bound:
    """Built once per warm container and bound to each invocation's remaining time (``bind``)."""

    def __init__(self, remaining_seconds: RemainingSeconds) -> None:
        self._bound = remaining_seconds

    def bind(self, remaining_seconds: RemainingSeconds) -> None:
        self._bound = remaining_seconds

    def _remaining_seconds(self) -> float:
        return self._bound()


class WebhookSender(_Bound):
    """Posts to one incoming webhook."""

    def __init__(self, url: str, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep) -> None:
        super().__init__(remaining_seconds)
        exclude_from_traces(url)
        self._policy = policy
        self._client = WebhookClient(
            url=url,
            timeout=_timeout(policy),
            logger=SDK_LOGGER,
            retry_handlers=retry_handlers(policy, self._remaining_seconds, sleep),
        )

    def __repr__(self) -> str:
        return "WebhookSender(url=***)"

    def send(self, message: SlackMessage) -> None:
        self._client.timeout = _call_timeout(self._policy, self._remaining_seconds)
        try:
            response = self._client.send_dict({**message.as_payload(), "unfurl_links": False})
        except Exception as exc:
            raise NoAnswer(describe_transport_error(exc)) from None
        failure = classify_webhook_response(response.status_code, response.body, response.headers)
        if failure is not None:
            raise failure


class BotClient(_Bound):
    """chat.postMessage, chat.update and the two history reads, with one bot token.

    slack_sdk's WebClient sends each call with urllib, which opens a connection per request and closes it after the
    answer (no keep-alive): reusing the client saves building it, not the TLS handshake of each call.
    """

    def __init__(
        self, token: str, api_url: str, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep
    ) -> None:
        super().__init__(remaining_seconds)
        self._policy = policy
        self._client = WebClient(
            token=token,
            base_url=api_url,
            timeout=_timeout(policy),
            logger=SDK_LOGGER,
            retry_handlers=retry_handlers(policy, self._remaining_seconds, sleep),
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
            raise NoAnswer("chat.postMessage answered ok without a ts")
        return ts

    def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        self._call("chat.update", {"channel": channel, "ts": ts, **message.as_payload()})

    def history(self, channel: str, *, oldest: str | None = None) -> list[dict[str, Any]]:
        """The channel's latest top-level messages with their metadata, newest first (at most a few pages)."""
        arguments: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": PAGE_SIZE}
        if oldest is not None:
            arguments["oldest"] = oldest
        return self._pages("conversations.history", arguments)

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A thread with its metadata: the parent, then the replies, oldest first (at most a few pages)."""
        return self._pages(
            "conversations.replies", {"channel": channel, "ts": ts, "include_all_metadata": True, "limit": PAGE_SIZE}
        )

    def _pages(self, method: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            data = self._call(method, {**arguments, **({"cursor": cursor} if cursor else {})}, form=True)
            messages += [m for m in data.get("messages") or [] if isinstance(m, dict)]
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not data.get("has_more") or not isinstance(cursor, str):
                break
        return messages

    def _call(self, method: str, arguments: dict[str, Any], *, form: bool = False) -> dict[str, Any]:
        self._client.timeout = _call_timeout(self._policy, self._remaining_seconds)
        try:
            if form:  # the read methods take form arguments, as slack_sdk's own conversations_* methods send them
                response = self._client.api_call(method, params=arguments)
            else:
                response = self._client.api_call(method, json=arguments)
        except SlackApiError as exc:
            data = exc.response.data
            error = data.get("error") if isinstance(data, dict) else None
            raise classify_api_error(error, exc.response.status_code, exc.response.headers) from None
        except Exception as exc:
            raise NoAnswer(describe_transport_error(exc)) from None
        return response.data if isinstance(response.data, dict) else {}
