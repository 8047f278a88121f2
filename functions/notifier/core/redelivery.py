"""When the Slack queue offers a message again after a retryable failure, and how many receives that allows.

The Slack function sets each failed message's visibility timeout from its ApproximateReceiveCount (exponential,
capped, with jitter); the stack sizes the queue's maxReceiveCount from the same schedule, so that Slack being
down or rate-limiting for hours uses up the retry window, not the receives. Both read it here.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

FIRST_DELAY_SECONDS = 2  # a blip clears in seconds: the first retry comes soon
MAX_DELAY_SECONDS = 900  # once Slack is back, a message waits at most 15 minutes (plus jitter)
JITTER = 0.1  # up to 10% on top, so the messages of one batch do not all return in the same second
RETRY_WINDOW_SECONDS = 6 * 3600  # a retryable failure is retried for at least this long before the DLQ
MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit for ChangeMessageVisibility


def base_delay(receive_count: int) -> int:
    """The delay before the next receive after a failed receive number ``receive_count`` (1 for the first)."""
    exponent = min(max(receive_count, 1) - 1, 20)
    return min(FIRST_DELAY_SECONDS * 2**exponent, MAX_DELAY_SECONDS)


def redelivery_delay(receive_count: int, *, at_least: float = 0, jitter: Callable[[], float] = random.random) -> int:
    """Whole seconds to hide a message that failed on receive ``receive_count``; never below ``at_least``
    (Slack's Retry-After), never below the schedule, never above what SQS accepts."""
    delay = base_delay(receive_count) * (1 + JITTER * jitter())
    return min(math.ceil(round(max(delay, at_least, 1), 6)), MAX_VISIBILITY_SECONDS)  # round: 900 * 1.1 is 990


def retry_window_seconds(max_receive_count: int) -> int:
    """The least time between a message's first receive and its last: the delays after receives 1..max-1."""
    return sum(base_delay(count) for count in range(1, max_receive_count))


def receives_for_window(window_seconds: int = RETRY_WINDOW_SECONDS) -> int:
    """The smallest maxReceiveCount whose retry window is at least ``window_seconds``."""
    count = 1
    while retry_window_seconds(count) < window_seconds:
        count += 1
    return count


MAX_RECEIVE_COUNT = receives_for_window()
