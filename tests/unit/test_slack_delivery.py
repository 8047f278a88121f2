"""What each Slack answer means (retry, re-read the secret, give up) and how retries respect the deadline."""

from __future__ import annotations

import importlib
from urllib.error import URLError

import pytest
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState

from notifier.core.notice import Notice
from notifier.slack.bot import notice_order
from notifier.slack.failures import (
    CredentialsRejected,
    PermanentSlackFailure,
    RateLimited,
    RetryableSlackFailure,
    classify_api_error,
    classify_webhook_response,
    describe_transport_error,
    retry_after_seconds,
)
from notifier.slack.retry import (
    DeadlineConnectionErrorRetryHandler,
    DeadlineRateLimitRetryHandler,
    DeadlineServerErrorRetryHandler,
    RetryPolicy,
)
from notifier.slack.secrecy import exclude_from_traces
from tests.fixtures.slack import notice_document

REQUEST = HttpRequest(method="POST", url="https://hooks.slack.com/services/T000/B000/SECRET", headers={})


@pytest.mark.parametrize("error", ["invalid_auth", "invalid_token", "token_revoked", "account_inactive", "not_authed"])
def test_refused_tokens_are_permanent_and_worth_a_secret_refresh(error):
    failure = classify_api_error(error, 200)

    assert isinstance(failure, CredentialsRejected)
    assert failure.permanent
    assert failure.reason == error


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "is_archived", "channel_is_archived", "not_in_channel", "invalid_blocks", "msg_too_long"],
)
def test_configuration_errors_are_permanent(error):
    failure = classify_api_error(error, 200)

    assert type(failure) is PermanentSlackFailure
    assert failure.reason == error


def test_an_unknown_error_code_is_permanent_so_it_reaches_the_alarm():
    assert type(classify_api_error("something_new", 200)) is PermanentSlackFailure


@pytest.mark.parametrize(("error", "status"), [(None, 500), (None, 502), (None, 503), ("internal_error", 200)])
def test_slack_trouble_is_retryable(error, status):
    failure = classify_api_error(error, status)

    assert type(failure) is RetryableSlackFailure
    assert not failure.permanent


def test_a_429_carries_retry_after():
    failure = classify_api_error("ratelimited", 429, {"Retry-After": ["30"]})

    assert isinstance(failure, RateLimited)
    assert failure.retry_after == 30


def test_an_error_body_that_is_not_an_error_code_is_not_repeated():
    failure = classify_api_error("<html>https://hooks.slack.com/services/T/B/SECRET</html>", 400)

    assert "SECRET" not in failure.reason
    assert failure.permanent


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, "invalid_payload", PermanentSlackFailure),
        (400, "invalid_blocks", PermanentSlackFailure),
        (403, "invalid_token", CredentialsRejected),
        (404, "no_service", CredentialsRejected),
        (410, "channel_is_archived", PermanentSlackFailure),
        (403, "action_prohibited", PermanentSlackFailure),
        (429, "rate_limited", RateLimited),
        (500, "<html>oops</html>", RetryableSlackFailure),
        (504, "", RetryableSlackFailure),
    ],
)
def test_webhook_answers(status, body, kind):
    failure = classify_webhook_response(status, body, {"Retry-After": "7"})

    assert type(failure) is kind
    if kind is not RetryableSlackFailure and kind is not RateLimited:
        assert body in failure.reason


def test_webhook_ok_is_success():
    assert classify_webhook_response(200, "ok") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": ["12"]}, 12), ({"retry-after": "3"}, 3), ({}, 1), ({"Retry-After": "soon"}, 1), (None, 1)],
)
def test_retry_after_is_read_leniently(headers, expected):
    assert retry_after_seconds(headers) == expected


def test_transport_errors_are_named_without_the_url():
    error = URLError(ConnectionRefusedError("refused http://127.0.0.1/services/T/B/SECRET"))

    assert describe_transport_error(error) == "could not reach Slack (ConnectionRefusedError)"
    assert describe_transport_error(TimeoutError()) == "Slack did not answer in time"


def rate_limited(retry_after: str) -> HttpResponse:
    return HttpResponse(status_code=429, headers={"Retry-After": retry_after})


def test_a_429_is_waited_for_exactly_when_it_fits_in_the_remaining_time():
    sleeps: list[float] = []
    handler = DeadlineRateLimitRetryHandler(2, remaining_seconds=lambda: 60.0, reserve_seconds=10, sleep=sleeps.append)
    state = RetryState()

    assert handler.can_retry(state=state, request=REQUEST, response=rate_limited("5"))
    handler.prepare_for_next_attempt(state=state, request=REQUEST, response=rate_limited("5"))

    assert sleeps == [5.0]
    assert state.current_attempt == 1


def test_a_429_is_not_waited_for_past_the_lambda_timeout():
    handler = DeadlineRateLimitRetryHandler(2, remaining_seconds=lambda: 20.0, reserve_seconds=10, sleep=print)

    assert not handler.can_retry(state=RetryState(), request=REQUEST, response=rate_limited("30"))


def test_retries_are_bounded():
    handler = DeadlineRateLimitRetryHandler(2, remaining_seconds=lambda: 600.0, reserve_seconds=10, sleep=print)

    assert not handler.can_retry(state=RetryState(current_attempt=2), request=REQUEST, response=rate_limited("1"))


@pytest.mark.parametrize(("status", "retried"), [(500, True), (502, True), (503, True), (504, True), (404, False)])
def test_every_5xx_is_retried(status, retried):
    handler = DeadlineServerErrorRetryHandler(RetryPolicy(), remaining_seconds=lambda: 60.0, sleep=print)
    response = HttpResponse(status_code=status, headers={})

    assert handler.can_retry(state=RetryState(), request=REQUEST, response=response) is retried


def test_server_errors_are_not_retried_when_the_invocation_is_nearly_over():
    handler = DeadlineServerErrorRetryHandler(RetryPolicy(), remaining_seconds=lambda: 5.0, sleep=print)

    assert not handler.can_retry(
        state=RetryState(), request=REQUEST, response=HttpResponse(status_code=500, headers={})
    )


def test_connection_errors_are_retried_with_backoff():
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=2, backoff_seconds=0.1)
    handler = DeadlineConnectionErrorRetryHandler(policy, remaining_seconds=lambda: 60.0, sleep=sleeps.append)
    state = RetryState()

    for _ in range(2):
        assert handler.can_retry(state=state, request=REQUEST, error=ConnectionResetError())
        handler.prepare_for_next_attempt(state=state, request=REQUEST, error=ConnectionResetError())

    assert not handler.can_retry(state=state, request=REQUEST, error=ConnectionResetError())
    assert 0.1 <= sleeps[0] <= 0.15
    assert 0.2 <= sleeps[1] <= 0.3


def test_later_transitions_sort_after_earlier_ones_and_terminal_after_all():
    running = Notice.from_document(
        notice_document(status="InProgress", lastModifiedTime="2024-05-01T11:00:00.000Z", endTime=None)
    )
    completed = Notice.from_document(notice_document(status="Completed"))
    # Bedrock's clock says a later InProgress; the job cannot leave a terminal status, so that is not newer.
    odd = Notice.from_document(notice_document(status="InProgress", lastModifiedTime="2024-05-02T00:00:00.000Z"))

    assert notice_order(running) < notice_order(completed)
    assert notice_order(odd) < notice_order(completed)


def test_webhook_hosts_are_left_out_of_xray_traces():
    httplib_patch = importlib.import_module("aws_xray_sdk.ext.httplib.patch")

    exclude_from_traces("https://hooks.example.test/services/T000/B000/SECRET")

    assert any(rule.hostname == "hooks.example.test" for rule in httplib_patch._XRAY_IGNORE)
