"""The slack_sdk adapter: webhook and bot-token delivery, bounded retries, and what each Slack error means.

Every failure leaves this module as a SlackFailure whose text is safe to log: it names Slack's error code or the
kind of transport problem, never the webhook URL or the token (slack_sdk and urllib put the URL in their exception
text, so those are caught here and replaced, ``from None``).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.client import HTTPException, RemoteDisconnected
from typing import Any, ClassVar
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from notifier.errors import NotifierError
from notifier.models import TERMINAL_STATUSES, Notice
from notifier.slack_blocks import SlackMessage, job_summary_message, thread_reply_message, transition_message
from notifier.slack_state import ParentMessage, SlackMessageStore

# --- failures --------------------------------------------------------------------------------------------------


class SlackFailure(NotifierError):
    """A delivery that did not happen. ``reason`` is safe to log (no URL, no token)."""

    permanent: ClassVar[bool] = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableSlackFailure(SlackFailure):
    """Slack or the network may answer differently later: the message goes back to the queue."""


class RateLimited(RetryableSlackFailure):
    """Slack said 429 and the wait did not fit in the invocation: retry after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSlackFailure(SlackFailure):
    """Retrying cannot help until someone fixes the configuration: no retry loop, straight to the DLQ path."""

    permanent = True


class CredentialsRejected(PermanentSlackFailure):
    """The token or webhook URL was refused: worth one re-read of the secret, in case it was rotated."""


# Web API errors that mean the token itself is bad (slack.com answers invalid_auth for an unknown token).
CREDENTIAL_ERRORS = frozenset(
    {"invalid_auth", "invalid_token", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
# Web API errors that are Slack's own trouble.
RETRYABLE_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# Known configuration errors; any other error code is treated the same way (permanent), these are listed to document.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "channel_is_archived",
        "is_archived",
        "not_in_channel",
        "no_service",
        "invalid_payload",
        "invalid_blocks",
        "invalid_attachments",
        "msg_too_long",
        "no_text",
        "missing_scope",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
    }
)
# chat.update answers meaning the parent message was deleted in Slack.
PARENT_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message"})
# Incoming-webhook answers that mean the URL is no longer valid (a rotated secret may hold a new one).
WEBHOOK_CREDENTIAL_ERRORS = frozenset({"invalid_token", "no_service"})

MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit for ChangeMessageVisibility
_ERROR_CODE = frozenset("abcdefghijklmnopqrstuvwxyz_")


def _safe_code(value: object) -> str | None:
    """Slack's error codes are short snake_case words; anything else (HTML, echoes) is not logged."""
    if isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _ERROR_CODE:
        return value
    return None


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float:
    """Slack's Retry-After (seconds); 1 when absent or unreadable, as slack_sdk assumes."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return min(max(float(first), 0.0), MAX_VISIBILITY_SECONDS)
            except (TypeError, ValueError):
                break
    return 1.0


def classify_api_error(error: str | None, status: int, headers: Mapping[str, Any] | None = None) -> SlackFailure:
    """What a failed Web API call means: retry later, re-read the secret, or give up."""
    code = _safe_code(error)
    if status == 429 or code == "ratelimited":
        return RateLimited("rate limited by Slack (HTTP 429)", retry_after_seconds(headers))
    if status >= 500:
        return RetryableSlackFailure(f"Slack answered HTTP {status}")
    if code in CREDENTIAL_ERRORS:
        return CredentialsRejected(code)
    if code in RETRYABLE_ERRORS:
        return RetryableSlackFailure(code)
    if code is not None:
        return PermanentSlackFailure(code)
    return PermanentSlackFailure(f"Slack answered HTTP {status} without an error code")


def classify_webhook_response(
    status: int, body: str | None, headers: Mapping[str, Any] | None = None
) -> SlackFailure | None:
    """None for success (200 "ok"); otherwise what the incoming webhook's answer means."""
    if status == 200:
        return None
    code = _safe_code((body or "").strip())
    if status == 429:
        return RateLimited("rate limited by Slack (HTTP 429)", retry_after_seconds(headers))
    if status >= 500:
        return RetryableSlackFailure(f"Slack answered HTTP {status}")
    if code in WEBHOOK_CREDENTIAL_ERRORS:
        return CredentialsRejected(f"webhook {code} (HTTP {status})")
    if code is not None:
        return PermanentSlackFailure(f"webhook {code} (HTTP {status})")
    return PermanentSlackFailure(f"webhook answered HTTP {status}")


def describe_transport_error(error: BaseException) -> str:
    """Name a network failure by its kind only: urllib's messages may carry the URL."""
    cause = error.reason if isinstance(error, URLError) and isinstance(error.reason, BaseException) else error
    if isinstance(cause, TimeoutError):
        return "Slack did not answer in time"
    return f"could not reach Slack ({type(cause).__name__})"


# --- retries ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on slack_sdk's retries; each Slack call retries at most ``max_retries`` times per kind of failure."""

    max_retries: int = 2
    backoff_seconds: float = 0.5
    http_timeout_seconds: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with up to 50% jitter, so concurrent invocations spread out."""
        return self.backoff_seconds * (2**attempt) * (1 + random.random() / 2)

    def longest_backoff(self, attempt: int) -> float:
        return self.backoff_seconds * (2**attempt) * 1.5


RemainingSeconds = Callable[[], float]
Sleep = Callable[[float], None]


class _DeadlineAware:
    """Retry only when the wait plus one more request still fits in the invocation's remaining time."""

    def __init__(self, remaining_seconds: RemainingSeconds, reserve_seconds: float, sleep: Sleep) -> None:
        self._remaining_seconds = remaining_seconds
        self._reserve_seconds = reserve_seconds
        self._sleep = sleep

    def _fits(self, wait_seconds: float) -> bool:
        return wait_seconds + self._reserve_seconds <= self._remaining_seconds()

    def _wait_then_retry(self, state: RetryState, seconds: float) -> None:
        state.next_attempt_requested = True
        self._sleep(seconds)
        state.increment_current_attempt()


class DeadlineRateLimitRetryHandler(_DeadlineAware, RateLimitErrorRetryHandler):
    """Honours Retry-After exactly, but never sleeps past the Lambda's remaining time."""

    def __init__(
        self, max_retry_count: int, remaining_seconds: RemainingSeconds, reserve_seconds: float, sleep: Sleep
    ) -> None:
        RateLimitErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        _DeadlineAware.__init__(self, remaining_seconds, reserve_seconds, sleep)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not RateLimitErrorRetryHandler._can_retry(
            self, state=state, request=request, response=response, error=error
        ):
            return False
        return response is not None and self._fits(retry_after_seconds(response.headers))

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self._wait_then_retry(state, retry_after_seconds(response.headers if response is not None else None))


class _PolicyBackoff(_DeadlineAware):
    """Waits the policy's backoff between attempts (server errors and connection errors alike)."""

    _policy: RetryPolicy

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self._wait_then_retry(state, self._policy.backoff(state.current_attempt))


class DeadlineServerErrorRetryHandler(_PolicyBackoff, ServerErrorRetryHandler):
    """Retries every 5xx (slack_sdk's own handler covers only 500 and 503) with bounded backoff."""

    def __init__(self, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep) -> None:
        ServerErrorRetryHandler.__init__(self, max_retry_count=policy.max_retries)
        _DeadlineAware.__init__(self, remaining_seconds, policy.http_timeout_seconds, sleep)
        self._policy = policy

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and 500 <= response.status_code < 600
            and self._fits(self._policy.longest_backoff(state.current_attempt))
        )


class DeadlineConnectionErrorRetryHandler(_PolicyBackoff, ConnectionErrorRetryHandler):
    """Retries refused, reset and timed-out connections with bounded backoff."""

    def __init__(self, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep) -> None:
        ConnectionErrorRetryHandler.__init__(
            self,
            max_retry_count=policy.max_retries,
            error_types=[URLError, ConnectionError, RemoteDisconnected, TimeoutError, HTTPException],
        )
        _DeadlineAware.__init__(self, remaining_seconds, policy.http_timeout_seconds, sleep)
        self._policy = policy

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return ConnectionErrorRetryHandler._can_retry(
            self, state=state, request=request, response=response, error=error
        ) and self._fits(self._policy.longest_backoff(state.current_attempt))


def retry_handlers(policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep) -> list[RetryHandler]:
    reserve = policy.http_timeout_seconds
    return [
        DeadlineRateLimitRetryHandler(policy.max_retries, remaining_seconds, reserve, sleep),
        DeadlineServerErrorRetryHandler(policy, remaining_seconds, sleep),
        DeadlineConnectionErrorRetryHandler(policy, remaining_seconds, sleep),
    ]


# --- keeping the secret out of logs and traces ----------------------------------------------------------------


def _silenced_logger() -> logging.Logger:
    """slack_sdk logs the full request URL (the webhook secret) at INFO and DEBUG; give it a logger that drops all."""
    silenced = logging.getLogger("notifier.slack_sdk")
    silenced.setLevel(logging.CRITICAL + 1)
    silenced.propagate = False
    silenced.disabled = True
    if not silenced.handlers:
        silenced.addHandler(logging.NullHandler())
    return silenced


_SDK_LOGGER = _silenced_logger()
_UNTRACED_HOSTS: set[str] = set()


def exclude_from_traces(url: str) -> None:
    """X-Ray's http.client patch (applied by Tracer) records each request's URL, and a webhook's path is its secret.

    Requests to this host are left out of traces instead. Slack Web API calls carry the token in a header, which
    X-Ray does not record, so only webhook hosts need this.
    """
    host = urlsplit(url).hostname
    if not host or host in _UNTRACED_HOSTS:
        return
    try:
        from aws_xray_sdk.ext.httplib import add_ignored
    except ImportError:  # tracing extras not installed: nothing records URLs
        return
    add_ignored(hostname=host)
    _UNTRACED_HOSTS.add(host)


# --- clients ---------------------------------------------------------------------------------------------------

OnSent = Callable[[str], None]


def _timeout(policy: RetryPolicy) -> int:
    return max(1, math.ceil(policy.http_timeout_seconds))


class WebhookSender:
    """Posts to one incoming webhook."""

    def __init__(self, url: str, policy: RetryPolicy, remaining_seconds: RemainingSeconds, sleep: Sleep) -> None:
        exclude_from_traces(url)
        self._client = WebhookClient(
            url=url,
            timeout=_timeout(policy),
            logger=_SDK_LOGGER,
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
            logger=_SDK_LOGGER,
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


# --- delivery modes --------------------------------------------------------------------------------------------


class WebhookMode:
    """One message per transition."""

    name = "webhook"

    def __init__(self, sender: WebhookSender, on_sent: OnSent) -> None:
        self._sender = sender
        self._on_sent = on_sent

    def deliver(self, notice: Notice) -> dict[str, Any]:
        self._sender.send(transition_message(notice))
        self._on_sent("webhook")
        return {"mode": self.name}


def notice_order(notice: Notice) -> str:
    """Sorts as the job's history does: terminal after non-terminal, then Bedrock's time, then detection time.

    ISO-8601 strings in UTC with a Z sort as the moments do; the poller writes them that way.
    """
    rank = "1" if notice.status in TERMINAL_STATUSES else "0"
    return f"{rank}|{notice.last_modified_time or notice.detected_at}|{notice.detected_at}"


@dataclass(frozen=True)
class ClaimWait:
    """How long a delivery waits for a concurrent one that is posting the job's parent message."""

    delays: tuple[float, ...] = (0.2, 0.4, 0.8)
    stale_after_seconds: int = 60  # a claimant this old without a ts crashed before posting: take over


class BotMode:
    """One parent message per job, updated in place, plus a thread reply per transition.

    Safe under SQS redelivery, out-of-order delivery and concurrent invocations (the state table holds the
    parent's ts, the latest transition shown and the transitions already replied in the thread):
    - the first transition of a job claims the parent with a conditional put; a concurrent one waits for the ts;
    - the parent is updated only by a transition at least as recent as the one it shows (conditional write);
    - a thread reply is recorded after posting, so a retry after a crash between the parent update and the reply
      posts the reply once.
    """

    name = "bot"

    def __init__(
        self,
        client: BotClient,
        channel: str,
        store: SlackMessageStore,
        broadcast_statuses: Iterable[str],
        on_sent: OnSent,
        sleep: Sleep = time.sleep,
        claim_wait: ClaimWait | None = None,
    ) -> None:
        self._client = client
        self._channel = channel
        self._store = store
        self._broadcast_statuses = frozenset(broadcast_statuses)
        self._on_sent = on_sent
        self._sleep = sleep
        self._claim_wait = claim_wait or ClaimWait()

    def deliver(self, notice: Notice) -> dict[str, Any]:
        parent = self._store.load(notice.job_arn, self._channel)
        created = False
        if parent is None or parent.ts is None:
            parent, created = self._ensure_parent(notice)
        if not created:
            parent = self._refresh_parent(notice, parent)
        replied = self._reply(notice, parent, broadcast=not created and notice.status in self._broadcast_statuses)
        return {"mode": self.name, "ts": parent.ts, "created": created, "replied": replied}

    def _ensure_parent(self, notice: Notice) -> tuple[ParentMessage, bool]:
        order = notice_order(notice)
        if self._store.claim(
            notice.job_arn,
            self._channel,
            notice.transition_id,
            order,
            notice.to_document(),
            self._claim_wait.stale_after_seconds,
        ):
            try:
                ts = self._client.post(self._channel, job_summary_message(notice), metadata=_metadata(notice))
            except SlackFailure:
                self._store.release_claim(notice.job_arn, self._channel, notice.transition_id)
                raise
            self._on_sent("parent")
            recorded = self._store.record_parent(notice.job_arn, self._channel, ts)
            # False only when a takeover of a stale claim recorded another parent first: that one is kept.
            return recorded, recorded.ts == ts
        for delay in self._claim_wait.delays:
            self._sleep(delay)
            posted = self._store.load(notice.job_arn, self._channel)
            if posted is not None and posted.ts is not None:
                return posted, False
        raise RetryableSlackFailure("another delivery is posting this job's parent message")

    def _refresh_parent(self, notice: Notice, parent: ParentMessage) -> ParentMessage:
        """Show this transition on the parent if it is the latest; returns the parent the thread continues on."""
        assert parent.ts is not None
        if not self._store.advance(notice.job_arn, self._channel, notice_order(notice), notice.to_document()):
            return parent  # the parent already shows a later transition; this one only gets its thread reply
        try:
            self._client.update(self._channel, parent.ts, job_summary_message(notice))
        except PermanentSlackFailure as failure:
            if failure.reason not in PARENT_GONE_ERRORS:
                raise
            return self._repost_parent(notice, parent)
        self._on_sent("update")
        # A later transition may have advanced the item between our write and our chat.update landing: show it.
        latest = self._store.load(notice.job_arn, self._channel)
        if (
            latest is not None
            and latest.latest_notice is not None
            and latest.latest_order is not None
            and latest.latest_order > notice_order(notice)
        ):
            self._client.update(
                self._channel, parent.ts, job_summary_message(Notice.from_document(latest.latest_notice))
            )
            self._on_sent("update")
        return parent

    def _repost_parent(self, notice: Notice, gone: ParentMessage) -> ParentMessage:
        """Someone deleted the parent message: post a new one, so the job's later transitions still show."""
        assert gone.ts is not None
        ts = self._client.post(self._channel, job_summary_message(notice), metadata=_metadata(notice))
        self._on_sent("parent")
        return self._store.replace_parent(notice.job_arn, self._channel, gone.ts, ts)

    def _reply(self, notice: Notice, parent: ParentMessage, *, broadcast: bool) -> bool:
        assert parent.ts is not None
        if notice.transition_id in parent.replied:
            return False
        self._client.post(
            self._channel,
            thread_reply_message(notice),
            thread_ts=parent.ts,
            broadcast=broadcast,
            metadata=_metadata(notice),
        )
        self._on_sent("reply")
        self._store.mark_replied(notice.job_arn, self._channel, notice.transition_id)
        return True


def _metadata(notice: Notice) -> dict[str, Any]:
    """Slack message metadata: lets tooling find a job's messages without parsing text."""
    return {
        "event_type": "bedrock_batch_job_transition",
        "event_payload": {"transitionId": notice.transition_id, "jobArn": notice.job_arn, "status": notice.status},
    }
