"""SQS adapter of the Slack function: when a received message is offered again, and its move to the DLQ.

- a retryable failure hides the message for a delay that grows with its receive count (notifier.core.redelivery);
- a record the invocation had no time to start is made visible again at once;
- a permanent failure is sent to the queue's own dead-letter queue (read from its redrive policy) and then
  reported as done, so Lambda deletes it: it does not spend the receives meant for Slack's outages.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from notifier.core.observability import logger

MAX_ATTRIBUTE_CHARS = 256


def queue_url(event_source_arn: str) -> str:
    """arn:aws:sqs:REGION:ACCOUNT:NAME -> the queue URL SQS APIs take."""
    parts = event_source_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError("not an SQS queue ARN")
    partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{suffix}/{account}/{name}"


def receive_count(record: SQSRecord) -> int:
    try:
        return max(int(record.attributes.approximate_receive_count), 1)
    except (TypeError, ValueError):
        return 1


class SlackQueue:
    """The Slack queue's messages, as received by this function. Keeps each queue's DLQ once found."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._dead_letter_urls: dict[str, str | None] = {}

    def hide(self, record: SQSRecord, seconds: int) -> bool:
        """Offer the message again in ``seconds`` (0: at once); False when SQS refused (the queue's own timeout
        applies then)."""
        try:
            self._client.change_message_visibility(
                QueueUrl=queue_url(record.event_source_arn),
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=seconds,
            )
        except (ClientError, BotoCoreError, ValueError) as error:
            logger.warning(
                "Could not set the message's visibility timeout; the queue's own applies",
                extra={"messageId": record.message_id, "error": type(error).__name__},
            )
            return False
        return True

    def dead_letter(self, record: SQSRecord, reason: str) -> bool:
        """Send the message, unchanged, to the queue's DLQ with the reason beside it; False when it could not be
        sent (no redrive policy, SQS refused): the message then returns to the queue instead."""
        target = self._dead_letter_url(record.event_source_arn)
        if target is None:
            return False
        try:
            self._client.send_message(
                QueueUrl=target,
                MessageBody=record.body,
                MessageAttributes={
                    "failureReason": {"DataType": "String", "StringValue": reason[:MAX_ATTRIBUTE_CHARS] or "unknown"},
                    "sourceMessageId": {"DataType": "String", "StringValue": record.message_id},
                },
            )
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "Could not move the message to the dead-letter queue",
                extra={"messageId": record.message_id, "error": type(error).__name__},
            )
            return False
        return True

    def _dead_letter_url(self, event_source_arn: str) -> str | None:
        if event_source_arn in self._dead_letter_urls:
            return self._dead_letter_urls[event_source_arn]
        try:
            attributes = self._client.get_queue_attributes(
                QueueUrl=queue_url(event_source_arn), AttributeNames=["RedrivePolicy"]
            ).get("Attributes", {})
            target = json_loads(attributes.get("RedrivePolicy", "{}")).get("deadLetterTargetArn")
            url = queue_url(target) if isinstance(target, str) else None
        except (ClientError, BotoCoreError, ValueError) as error:
            # Not remembered: the next permanent failure asks again.
            logger.warning(
                "Could not read the queue's redrive policy; the message returns to the queue instead",
                extra={"error": type(error).__name__},
            )
            return None
        self._dead_letter_urls[event_source_arn] = url  # a queue without a DLQ keeps none: remembered too
        return url


def json_loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
