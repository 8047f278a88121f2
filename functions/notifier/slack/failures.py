"""What Slack's answers mean: the SlackFailure classes and the classification of Web API and webhook answers.

Every failure leaves the Slack package as a SlackFailure whose text is safe to log: it names Slack's error code or
the kind of transport problem, never the webhook URL or the token. Any error code not listed below as a credential
or Slack-side problem (channel_not_found, not_in_channel, invalid_blocks, msg_too_long, missing_scope, ...) is a
configuration problem: permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.error import URLError

from notifier.core.errors import NotifierError
from notifier.core.redelivery import MAX_VISIBILITY_SECONDS


class SlackFailure(NotifierError):
    """A delivery that did not happen. ``reason`` is safe to log (no URL, no token)."""

    permanent: ClassVar[bool] = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableSlackFailure(SlackFailure):
    """Slack or the network may answer differently later: the message goes back to the queue."""


class NoAnswer(RetryableSlackFailure):
    """The request may have reached Slack, but no answer says whether it was done (timeout, dropped connection)."""


class OutOfTime(RetryableSlackFailure):
    """The invocation has too little time left to start another Slack call."""


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
# chat.update answers meaning the parent message was deleted in Slack.
PARENT_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message"})
# chat.postMessage answers meaning the thread's parent message was deleted in Slack.
THREAD_GONE_ERRORS = frozenset({"thread_not_found"})
# Incoming-webhook answers that mean the URL is no longer valid (a rotated secret may hold a new one).
WEBHOOK_CREDENTIAL_ERRORS = frozenset({"invalid_token", "no_service"})

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
