"""The only module that talks to SNS: publishes notices in batches that fit SNS's limits, at a pace email allows.

SNS suspends an email subscription that receives more than 10 messages a second. The pace is kept per
wall-clock second in a send window that every running poller shares (the state table), so overlapping or
concurrent runs together stay under the limit, and a run waits only when the current second is full: nothing
is carried over from an earlier invocation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from notifier.core.errors import StateStoreError
from notifier.core.notice import Notice
from notifier.poller.sns_message import MESSAGE_SIZE_LIMIT, entry_size, fitted_entry

SNS_BATCH_LIMIT = 10
BATCH_SIZE_LIMIT = MESSAGE_SIZE_LIMIT  # the aggregate of one PublishBatch request has the same 256 KiB limit


# Short timeouts and few attempts: one slow call must not carry the run past its deadline.
def client_config() -> Config:
    """A new Config for each client (botocore writes the resolved attempts into the retries dict it is given)."""
    return Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5)


# Until a batch has been timed, a batch is assumed to take this long; a batch is started only with room for it.
FIRST_BATCH_ESTIMATE = 2.0


class SendWindow(Protocol):
    """Messages sent in each wall-clock second, shared by every run."""

    def reserve(self, second: int, count: int, limit: int) -> bool:
        """Adds `count` to that second's tally if it stays within `limit`; False (and no change) otherwise."""
        ...


class LocalSendWindow:
    """A send window for one process (tests, the read-only preview)."""

    def __init__(self) -> None:
        self.sent: dict[int, int] = {}

    def reserve(self, second: int, count: int, limit: int) -> bool:
        if self.sent.get(second, 0) + count > limit:
            return False
        self.sent = {second: self.sent.get(second, 0) + count}  # older seconds are of no further use
        return True


@dataclass
class PublishOutcome:
    published: list[str] = field(default_factory=list)  # keys of the notices SNS accepted
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # error codes, for the log
    shortened: int = 0  # notices whose failure message was cut to fit SNS's size limit


Settle = Callable[[list[str]], None]  # told the keys of each batch SNS accepted, as soon as it accepted them


class NoticePublisher:
    def __init__(
        self,
        topic_arn: str,
        max_per_second: float = 9,
        client: Any = None,
        window: SendWindow | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topic_arn = topic_arn
        self.limit = max(1, int(max_per_second))
        self.batch_size = min(SNS_BATCH_LIMIT, self.limit)
        self._client = client or boto3.client("sns", config=client_config())
        self.window: SendWindow = window or LocalSendWindow()
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self.calls = 0

    def publish(
        self, notices: list[tuple[str, Notice]], time_left: Callable[[], float], settle: Settle | None = None
    ) -> PublishOutcome:
        """Publishes (key, notice) pairs in order. A batch starts only while time_left() leaves room for it
        (the slowest batch so far), so the run is not killed halfway; `settle` hears each batch's accepted keys
        at once, so a run that stops anyway has cleared what it sent."""
        outcome = PublishOutcome()
        estimate = FIRST_BATCH_ESTIMATE
        for batch in self._batches(notices, outcome):
            started = self._monotonic()
            if time_left() < estimate or not self._wait_for_room(len(batch), time_left, estimate):
                break
            accepted = self._send(batch, outcome)
            if accepted and settle:
                settle(accepted)
            estimate = max(estimate, self._monotonic() - started)
        return outcome

    def _batches(
        self, notices: list[tuple[str, Notice]], outcome: PublishOutcome
    ) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """Batches of at most batch_size entries whose sizes add up to at most SNS's aggregate limit."""
        batch: list[tuple[str, dict[str, Any]]] = []
        size = 0
        for key, notice in notices:
            entry, shortened = fitted_entry(notice)
            outcome.shortened += shortened
            entry_bytes = entry_size(entry)
            if batch and (len(batch) == self.batch_size or size + entry_bytes > BATCH_SIZE_LIMIT):
                yield batch
                batch, size = [], 0
            batch.append((key, entry))
            size += entry_bytes
        if batch:
            yield batch

    def _wait_for_room(self, count: int, time_left: Callable[[], float], estimate: float) -> bool:
        """Takes `count` sends from the shared window, waiting for the next second only while this one is full."""
        while True:
            now = self._wall_clock()
            try:
                reserved = self.window.reserve(int(now), count, self.limit)
            except StateStoreError:
                return False  # no pace can be kept: what is left waits for the next poll
            if reserved and int(self._wall_clock()) == int(now):
                return True
            if reserved:
                continue  # the reservation itself took us into the next second: take room in that one instead
            wait = int(now) + 1 - now
            if time_left() - wait < estimate:
                return False
            self._sleep(wait)

    def _send(self, batch: list[tuple[str, dict[str, Any]]], outcome: PublishOutcome) -> list[str]:
        entries = [{**entry, "Id": str(index)} for index, (_, entry) in enumerate(batch)]
        self.calls += 1
        try:
            response = self._client.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries)
        except (ClientError, BotoCoreError) as error:
            code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
            outcome.failed.extend(key for key, _ in batch)
            outcome.errors.append(code)
            return []
        accepted = [batch[int(success["Id"])][0] for success in response.get("Successful", [])]
        outcome.published.extend(accepted)
        for failure in response.get("Failed", []):
            outcome.failed.append(batch[int(failure["Id"])][0])
            outcome.errors.append(str(failure.get("Code", "unknown")))
        return accepted
