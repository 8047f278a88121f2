"""One SQS batch of notices -> Slack: parse each body, deliver it once, and say what a failure means.

What counts as failed:
- retryable (429, 5xx, network, DynamoDB): back to the queue, hidden for a delay that grows with the message's
  receive count (notifier.core.redelivery: 2 s doubling to 15 minutes, never less than Slack's Retry-After), so
  the queue's maxReceiveCount spans hours of Slack trouble;
- permanent (Slack refuses the configuration, the secret is malformed, the body is not a notifier message):
  logged with the cause, counted in SlackPermanentFailures (alarmed), and moved straight to the queue's DLQ;
- not started: too little time left for one more delivery; handed back, visible again at once, not counted.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)

from notifier.core.errors import InvalidNotice, StateStoreError
from notifier.core.notice import Notice
from notifier.core.observability import (
    SLACK_MESSAGES_SENT,
    SLACK_PERMANENT_FAILURES,
    SLACK_RETRYABLE_FAILURES,
    logger,
    metrics,
)
from notifier.core.redelivery import redelivery_delay
from notifier.core.settings import SlackSettings
from notifier.slack.bot import BotMode, ClaimWait
from notifier.slack.clients import BotClient, WebhookSender
from notifier.slack.failures import CredentialsRejected, OutOfTime, RateLimited, SlackFailure
from notifier.slack.message_store import SlackMessageStore
from notifier.slack.queue import SlackQueue, queue_url, receive_count
from notifier.slack.retry import RetryPolicy, Sleep
from notifier.slack.secret import BotCredentials, SlackCredentials, SlackSecretSource
from notifier.slack.webhook import WebhookMode

__all__ = ["BatchDelivery", "SlackDependencies", "classify_failure", "parse_body", "queue_url"]

DeliveryMode = WebhookMode | BotMode


@dataclass
class SlackDependencies:
    """Everything the function talks to, built once per cold start (tests build their own)."""

    settings: SlackSettings
    secrets: SlackSecretSource
    store: SlackMessageStore
    idempotency_config: IdempotencyConfig
    deliver_once: Callable[..., dict[str, Any]]
    sqs: Any
    sleep: Sleep = time.sleep
    claim_wait: ClaimWait | None = None
    queue: SlackQueue = field(init=False)
    # The Slack clients, one per credentials, kept for the container's life and bound to each batch's clock.
    clients: dict[SlackCredentials, BotClient | WebhookSender] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.queue = SlackQueue(self.sqs)

    def client_for(
        self, credentials: SlackCredentials, remaining_seconds: Callable[[], float]
    ) -> BotClient | WebhookSender:
        client = self.clients.get(credentials)
        if client is None:
            settings = self.settings
            policy = RetryPolicy(settings.max_retries, settings.retry_backoff_seconds, settings.http_timeout_seconds)
            if isinstance(credentials, BotCredentials):
                client = BotClient(credentials.token, settings.api_url, policy, remaining_seconds, self.sleep)
            else:
                client = WebhookSender(credentials.url, policy, remaining_seconds, self.sleep)
            self.clients[credentials] = client
        client.bind(remaining_seconds)
        return client


# --- parsing ---------------------------------------------------------------------------------------------------


def parse_body(body: str) -> Notice:
    """The notice inside an SQS body; InvalidNotice names what is wrong.

    The body is the SNS envelope (raw message delivery off). A bare notifier document is accepted too, so
    enabling raw delivery on the subscription does not break delivery.
    """
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError):
        raise InvalidNotice("the SQS body is not JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidNotice("the SQS body is not a JSON object")
    if "schemaVersion" in envelope and "Type" not in envelope:
        document: Any = envelope
    else:
        if envelope.get("Type") != "Notification":
            raise InvalidNotice(f"the SQS body is not an SNS notification (Type is {envelope.get('Type')!r:.40})")
        message = envelope.get("Message")
        if not isinstance(message, str):
            raise InvalidNotice("the SNS notification has no Message string")
        try:
            document = json.loads(message)
        except ValueError:
            raise InvalidNotice("the SNS Message is not JSON (not a notifier document)") from None
    return Notice.from_document(document)  # raises InvalidNotice naming the field


def read_notice(body: str) -> Notice:
    """parse_body, where anything parsing raises is the body's fault: a permanent failure, never retried."""
    try:
        return parse_body(body)
    except InvalidNotice:
        raise
    except Exception as error:  # parsing does no I/O: whatever it raises comes from the body
        raise InvalidNotice(f"the message cannot be read ({type(error).__name__})") from None


# Left for the state table's reads and writes of one delivery, beside its Slack calls.
STORE_RESERVE_SECONDS = 1.0


class NotStarted(Exception):
    """The invocation has too little time left to deliver this record: handed back untouched."""


# --- one batch -------------------------------------------------------------------------------------------------


class BatchDelivery:
    """Delivers the records of one batch; the secret is read once per batch (from Powertools' cache)."""

    def __init__(self, dependencies: SlackDependencies, remaining_seconds: Callable[[], float]) -> None:
        self._deps = dependencies
        self._remaining_seconds = remaining_seconds
        self._credentials: SlackCredentials | None = None
        self._mode: DeliveryMode | None = None
        self._refreshed = False
        # A failure that every later record of this batch would hit too (bad secret, refused credentials).
        self._batch_failure: SlackFailure | None = None
        self._rate_limited_until: float | None = None
        self._started_with: float | None = None  # seconds left when the first record started
        self.counts: Counter[str] = Counter()

    def handle(self, record: SQSRecord) -> dict[str, Any]:
        fields: dict[str, Any] = {"messageId": record.message_id, "receiveCount": receive_count(record)}
        try:
            if self._mode is None and self._batch_failure is None:
                self._current_mode()  # the mode (from the secret) says how many Slack calls a delivery makes
            if self._remaining_seconds() < self.delivery_budget_seconds():
                raise NotStarted("too little time left in this invocation for another delivery")
            notice = read_notice(record.body)
            fields.update(transitionId=notice.transition_id, jobArn=notice.job_arn, status=notice.status)
            result = self._deliver(notice)
        except Exception as failure:
            if self._settle(record, failure, fields):
                return {"deadLettered": True}  # done with here: Lambda deletes it from the queue
            raise
        if result.get("replayed"):
            logger.info("Transition already delivered to Slack; not posting again", extra=fields)
        else:
            logger.info("Transition delivered to Slack", extra={**fields, "mode": result.get("mode")})
        return result

    def delivery_budget_seconds(self) -> float:
        """What one more delivery needs: an HTTP timeout for each of its Slack calls (their retries wait only when
        they fit in the time left, see notifier.slack.retry), and the table's reads and writes. Without a mode (the
        secret could not be read) the larger budget applies.

        At most half the time the batch started with: with a function timeout shorter than two deliveries' worth,
        the batch still delivers while time is left, since each call is cut to the time left anyway (clients).
        """
        if self._started_with is None:
            self._started_with = self._remaining_seconds()
        calls = self._mode.calls_per_delivery if self._mode is not None else BotMode.calls_per_delivery
        return min(calls * self._deps.settings.http_timeout_seconds + STORE_RESERVE_SECONDS, self._started_with / 2)

    def _deliver(self, notice: Notice) -> dict[str, Any]:
        if self._batch_failure is not None:
            raise self._batch_failure
        if self._rate_limited_until is not None:
            wait = self._rate_limited_until - time.monotonic()
            if wait > 0:
                raise RateLimited("Slack rate limit hit earlier in this batch", wait)
        mode = self._current_mode()
        try:
            return self._deps.deliver_once(notice=notice, mode=mode)
        except CredentialsRejected as rejected:
            if self._refreshed:
                self._batch_failure = rejected
                raise
            self._refreshed = True
            logger.warning("Slack refused the credentials; reading the secret again", extra={"reason": rejected.reason})
            fresh = self._read_secret(refresh=True)
            if fresh == self._credentials:
                self._batch_failure = rejected
                raise
            self._use(fresh)
            try:
                return self._deps.deliver_once(notice=notice, mode=self._current_mode())
            except CredentialsRejected as again:
                self._batch_failure = again
                raise

    def _current_mode(self) -> DeliveryMode:
        if self._mode is None:
            self._use(self._read_secret(refresh=False))
        assert self._mode is not None
        return self._mode

    def _read_secret(self, *, refresh: bool) -> SlackCredentials:
        try:
            return self._deps.secrets.refresh() if refresh else self._deps.secrets.get()
        except SlackFailure as failure:
            self._batch_failure = failure
            raise

    def _use(self, credentials: SlackCredentials) -> None:
        settings = self._deps.settings
        self._credentials = credentials
        client = self._deps.client_for(credentials, self._remaining_seconds)
        if isinstance(client, BotClient) and isinstance(credentials, BotCredentials):
            self._mode = BotMode(
                client,
                credentials.channel,
                self._deps.store,
                settings.broadcast_statuses,
                self._count_sent,
                sleep=self._deps.sleep,
                claim_wait=self._deps.claim_wait,
            )
        else:
            assert isinstance(client, WebhookSender)
            self._mode = WebhookMode(client, self._count_sent)

    def _count_sent(self) -> None:
        self.counts["sent"] += 1

    def _settle(self, record: SQSRecord, failure: Exception, fields: dict[str, Any]) -> bool:
        """Log, count and place a record that was not delivered; True when it now sits in the DLQ."""
        if isinstance(failure, NotStarted | OutOfTime):
            # Not Slack's fault nor the message's: offered again at once, to the next invocation.
            self.counts["not_started"] += 1
            self._deps.queue.hide(record, 0)
            logger.info("Handed back for lack of time; visible again at once", extra=fields)
            return False
        permanent, reason = classify_failure(failure)
        fields = {**fields, "reason": reason, "error": type(failure).__name__}
        if permanent:
            self.counts["permanent"] += 1
            if self._deps.queue.dead_letter(record, reason):
                logger.error("Slack delivery failed permanently; moved to the dead-letter queue", extra=fields)
                return True
            fields["visibilitySeconds"] = self._back_off(record, 0)
            logger.error(
                "Slack delivery failed permanently; the message returns to the queue and, after maxReceiveCount, "
                "to the dead-letter queue",
                extra=fields,
            )
            return False
        self.counts["retryable"] += 1
        retry_after = 0.0
        if isinstance(failure, RateLimited):
            self._rate_limited_until = time.monotonic() + failure.retry_after
            retry_after = failure.retry_after
            fields["retryAfterSeconds"] = failure.retry_after
        fields["visibilitySeconds"] = self._back_off(record, retry_after)
        if reason == UNEXPECTED:
            logger.exception("Slack delivery failed unexpectedly; the message returns to the queue", extra=fields)
        else:
            logger.warning("Slack delivery failed; the message returns to the queue", extra=fields)
        return False

    def _back_off(self, record: SQSRecord, retry_after: float) -> int:
        """Hide the message for its next delay (growing with its receives, at least Slack's Retry-After)."""
        seconds = redelivery_delay(receive_count(record), at_least=retry_after)
        self._deps.queue.hide(record, seconds)
        return seconds

    def publish_metrics(self) -> None:
        if self.counts["not_started"]:
            logger.info("Records handed back for lack of time", extra={"notStarted": self.counts["not_started"]})
        # Messages sent is published even when zero, so a dashboard shows a quiet batch rather than no data.
        metrics.add_metric(name=SLACK_MESSAGES_SENT, unit=MetricUnit.Count, value=self.counts["sent"])
        for key, name in (("retryable", SLACK_RETRYABLE_FAILURES), ("permanent", SLACK_PERMANENT_FAILURES)):
            if self.counts[key]:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=self.counts[key])


UNEXPECTED = "unexpected error"


def classify_failure(failure: Exception) -> tuple[bool, str]:
    """(permanent, a reason safe to log) for anything a record's delivery raised."""
    if isinstance(failure, InvalidNotice):
        return True, f"not a notifier message: {failure}"
    if isinstance(failure, SlackFailure):
        return failure.permanent, failure.reason
    if isinstance(failure, StateStoreError):
        return False, str(failure)
    if isinstance(failure, IdempotencyAlreadyInProgressError | IdempotencyInconsistentStateError):
        return False, "the same transition is being delivered by another invocation"
    if isinstance(failure, IdempotencyPersistenceLayerError):
        return False, "the idempotency records cannot be read or written now"
    return False, UNEXPECTED
