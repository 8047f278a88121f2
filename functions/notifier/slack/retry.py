"""Bounded retries for slack_sdk: retry handlers that never wait past the Lambda's remaining time."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException, RemoteDisconnected
from urllib.error import URLError

from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from notifier.slack.failures import retry_after_seconds


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
