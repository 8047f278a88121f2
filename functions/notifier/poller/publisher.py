"""The only module that talks to SNS: publishes transition notices in paced batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from notifier.core.notice import Notice
from notifier.poller.sns_message import publish_entry

SNS_BATCH_LIMIT = 10
CLIENT_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=20)


@dataclass
class PublishOutcome:
    published: list[str] = field(default_factory=list)  # keys of the notices SNS accepted
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # error codes, for the log


class NoticePublisher:
    """Sends at most `max_per_second` messages in any second, because SNS suspends an email
    subscription that receives more than 10 a second; the rest wait for the next second or the next poll."""

    def __init__(
        self,
        topic_arn: str,
        max_per_second: float = 9,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topic_arn = topic_arn
        self.batch_size = max(1, min(SNS_BATCH_LIMIT, int(max_per_second)))
        self._client = client or boto3.client("sns", config=CLIENT_CONFIG)
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_batch_at: float | None = None
        self.calls = 0

    def publish(self, notices: list[tuple[str, Notice]], time_left: Callable[[], float]) -> PublishOutcome:
        """Publishes (key, notice) pairs in order while time_left() stays positive."""
        outcome = PublishOutcome()
        for start in range(0, len(notices), self.batch_size):
            batch = notices[start : start + self.batch_size]
            self._pace()
            if time_left() <= 0:
                break
            self._send(batch, outcome)
        return outcome

    def _pace(self) -> None:
        if self._last_batch_at is not None:
            wait = 1.0 - (self._monotonic() - self._last_batch_at)
            if wait > 0:
                self._sleep(wait)
        self._last_batch_at = self._monotonic()

    def _send(self, batch: list[tuple[str, Notice]], outcome: PublishOutcome) -> None:
        entries = [publish_entry(str(index), notice) for index, (_, notice) in enumerate(batch)]
        self.calls += 1
        try:
            response = self._client.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries)
        except (ClientError, BotoCoreError) as error:
            code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
            outcome.failed.extend(key for key, _ in batch)
            outcome.errors.append(code)
            return
        for success in response.get("Successful", []):
            outcome.published.append(batch[int(success["Id"])][0])
        for failure in response.get("Failed", []):
            outcome.failed.append(batch[int(failure["Id"])][0])
            outcome.errors.append(str(failure.get("Code", "unknown")))
