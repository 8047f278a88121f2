"""The redelivery schedule of the Slack queue, and the maxReceiveCount the stack sizes with it."""

from __future__ import annotations

from infra.constants import SLACK_MAX_RECEIVE_COUNT
from notifier.core.redelivery import (
    MAX_DELAY_SECONDS,
    MAX_VISIBILITY_SECONDS,
    RETRY_WINDOW_SECONDS,
    base_delay,
    redelivery_delay,
    retry_window_seconds,
)


def test_the_delays_start_at_seconds_double_and_stop_growing_at_fifteen_minutes():
    assert [base_delay(count) for count in range(1, 12)] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert base_delay(1000) == MAX_DELAY_SECONDS


def test_the_stacks_max_receive_count_spans_at_least_six_hours_of_retries_and_no_more_receives_than_that_needs():
    assert RETRY_WINDOW_SECONDS == 6 * 3600
    assert retry_window_seconds(SLACK_MAX_RECEIVE_COUNT) >= 6 * 3600
    assert retry_window_seconds(SLACK_MAX_RECEIVE_COUNT - 1) < 6 * 3600
    assert SLACK_MAX_RECEIVE_COUNT == 33


def test_jitter_adds_at_most_a_tenth_and_never_shortens_the_delay():
    assert redelivery_delay(10, jitter=lambda: 0.0) == 900
    assert redelivery_delay(10, jitter=lambda: 1.0) == 990
    assert redelivery_delay(1, jitter=lambda: 0.0) == 2


def test_slacks_retry_after_is_a_floor_and_sqs_limit_a_ceiling():
    assert redelivery_delay(1, at_least=30, jitter=lambda: 0.0) == 30
    assert redelivery_delay(1, at_least=29.2, jitter=lambda: 0.0) == 30
    assert redelivery_delay(10, at_least=30, jitter=lambda: 0.0) == 900
    assert redelivery_delay(1, at_least=10**6, jitter=lambda: 0.0) == MAX_VISIBILITY_SECONDS
    assert redelivery_delay(0, jitter=lambda: 0.0) == 2  # a missing receive count counts as the first
