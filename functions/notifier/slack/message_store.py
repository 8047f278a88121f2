"""DynamoDB adapter of the Slack function: the job -> Slack message mapping, and the idempotency records.

Both live in the state table shared with the poller, under prefixes reserved for Slack (see notifier.core.table_layout):
  SLACK#<jobArn>  / <channel>                    the job's parent message in bot-token mode
  IDEMPOTENCY#slack / slack-transition#<hash>    Powertools Idempotency record of one delivered transition
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.exceptions import BotoCoreError, ClientError

from notifier.core.errors import StateStoreError
from notifier.core.notice import Notice
from notifier.core.table_layout import IDEMPOTENCY_PREFIX, PARTITION_KEY, SLACK_PREFIX, SORT_KEY, TTL_ATTRIBUTE

IDEMPOTENCY_PARTITION = IDEMPOTENCY_PREFIX + "slack"
IDEMPOTENCY_KEY_PREFIX = "slack-transition"


def idempotency_layer(table_name: str, client: Any) -> DynamoDBPersistenceLayer:
    """Powertools Idempotency records in the shared table: one partition, keyed by the transitionId's hash."""
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=PARTITION_KEY,
        sort_key_attr=SORT_KEY,
        static_pk_value=IDEMPOTENCY_PARTITION,
        expiry_attr=TTL_ATTRIBUTE,
        in_progress_expiry_attr="inProgressExpiresAt",
        status_attr="idempotencyStatus",
        data_attr="result",
        validation_key_attr="validation",
        boto3_client=client,
    )


@dataclass(frozen=True)
class ParentMessage:
    """What the table knows about a job's Slack message in one channel."""

    job_arn: str
    channel: str
    ts: str | None  # None while the first transition's delivery is posting it
    claimed_by: str | None
    latest_order: str | None
    latest_notice: Notice | None
    replied: frozenset[str]
    # Thread replies a delivery was about to post: one listed here but not in replied may have been posted.
    replying: frozenset[str] = frozenset()
    claimed_at: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ParentMessage:
        notice = item.get("latestNotice", {}).get("S")
        return cls(
            job_arn=item["pk"]["S"].removeprefix(SLACK_PREFIX),
            channel=item["sk"]["S"],
            ts=item.get("ts", {}).get("S"),
            claimed_by=item.get("claimedBy", {}).get("S"),
            latest_order=item.get("latestOrder", {}).get("S"),
            latest_notice=Notice.from_document(json.loads(notice)) if notice else None,
            replied=frozenset(item.get("repliedTransitions", {}).get("SS", [])),
            replying=frozenset(item.get("replyingTransitions", {}).get("SS", [])),
            claimed_at=int(item["claimedAt"]["N"]) if "claimedAt" in item else None,
        )


@dataclass(frozen=True)
class Claim:
    """A claim on posting the job's parent; ``replaced`` is the earlier claim it took over, if any."""

    replaced: ParentMessage | None


@dataclass(frozen=True)
class Refused:
    """The claim was refused: ``current`` is the job's item as the refusing write found it."""

    current: ParentMessage | None


def _document(notice: Notice) -> str:
    return json.dumps(notice.to_document(), separators=(",", ":"))


def _key(job_arn: str, channel: str) -> dict[str, dict[str, str]]:
    return {PARTITION_KEY: {"S": SLACK_PREFIX + job_arn}, SORT_KEY: {"S": channel}}


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class SlackMessageStore:
    """Conditional reads and writes of SLACK# items; DynamoDB trouble becomes StateStoreError (retryable)."""

    def __init__(self, table_name: str, client: Any, ttl_days: int = 30, clock: Callable[[], float] = time.time):
        self._table = table_name
        self._client = client
        self._ttl_seconds = ttl_days * 86400
        self._clock = clock

    def _expires_at(self) -> dict[str, str]:
        return {"N": str(int(self._clock()) + self._ttl_seconds)}

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any] | None:
        """Run one DynamoDB call; None when its condition did not hold."""
        return self._conditional(operation, **arguments)[0]

    def _conditional(self, operation: str, **arguments: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Run one DynamoDB call: (its answer, None), or (None, the item as the failed condition found it, if asked
        for with ReturnValuesOnConditionCheckFailure and there was one)."""
        try:
            return dict(getattr(self._client, operation)(TableName=self._table, **arguments)), None
        except ClientError as error:
            if _is_condition_failure(error):
                item = error.response.get("Item")
                return None, item if isinstance(item, dict) and item else None
            code = error.response.get("Error", {}).get("Code", "unknown")
            raise StateStoreError(f"DynamoDB {operation} failed ({code})") from None
        except BotoCoreError as error:
            raise StateStoreError(f"DynamoDB {operation} failed ({type(error).__name__})") from None

    def load(self, job_arn: str, channel: str) -> ParentMessage | None:
        response = self._call("get_item", Key=_key(job_arn, channel), ConsistentRead=True)
        item = (response or {}).get("Item")
        return ParentMessage.from_item(item) if item else None

    def claim(
        self,
        job_arn: str,
        channel: str,
        transition_id: str,
        order: str,
        notice: Notice,
        stale_after_seconds: int,
    ) -> Claim | Refused:
        """Become the one delivery that posts the job's parent message, or learn who is (Refused, with the item).

        A claim without a ts is taken over by its own transition (a retry) or when older than stale_after_seconds
        (its delivery crashed). The claim it replaced is returned with the new one: that delivery may have posted
        the parent and failed before recording its ts. One write either way: a refused claim carries the item it
        found, so a job's first notice needs no read before it.
        """
        now = int(self._clock())
        result, current = self._conditional(
            "put_item",
            Item={
                **_key(job_arn, channel),
                "claimedBy": {"S": transition_id},
                "claimedAt": {"N": str(now)},
                "latestOrder": {"S": order},
                "latestNotice": {"S": _document(notice)},
                TTL_ATTRIBUTE: self._expires_at(),
            },
            ConditionExpression=(
                "attribute_not_exists(pk) OR (attribute_not_exists(ts) AND (claimedBy = :me OR claimedAt < :stale))"
            ),
            ExpressionAttributeValues={":me": {"S": transition_id}, ":stale": {"N": str(now - stale_after_seconds)}},
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            return Refused(ParentMessage.from_item(current) if current else None)
        old = result.get("Attributes")
        return Claim(replaced=ParentMessage.from_item(old) if old else None)

    def release_claim(self, job_arn: str, channel: str, transition_id: str) -> None:
        """Give the claim up after a failed post, so another transition need not wait for it to go stale."""
        self._call(
            "delete_item",
            Key=_key(job_arn, channel),
            ConditionExpression="attribute_not_exists(ts) AND claimedBy = :me",
            ExpressionAttributeValues={":me": {"S": transition_id}},
        )

    def record_parent(self, job_arn: str, channel: str, ts: str, shown: str | None) -> ParentMessage:
        """Store the posted parent's ts, and that it shows transition ``shown`` (which then needs no thread reply of
        its own); if another delivery stored a ts first (a stale claim taken over), keep theirs."""
        values: dict[str, Any] = {":ts": {"S": ts}, ":exp": self._expires_at()}
        expression = "SET ts = :ts, #exp = :exp REMOVE claimedAt"
        if shown is not None:
            values[":id"] = {"SS": [shown]}
            expression = "SET ts = :ts, #exp = :exp ADD repliedTransitions :id REMOVE claimedAt"
        result, current = self._conditional(
            "update_item",
            Key=_key(job_arn, channel),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(ts)",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return ParentMessage.from_item(result["Attributes"])
        if current is None:
            raise StateStoreError("the Slack message item disappeared while its ts was being recorded")
        return ParentMessage.from_item(current)

    def replace_parent(self, job_arn: str, channel: str, old_ts: str, new_ts: str) -> ParentMessage:
        """Point the mapping at a re-posted parent; if another delivery re-posted first, keep theirs."""
        result = self._call(
            "update_item",
            Key=_key(job_arn, channel),
            UpdateExpression="SET ts = :new, #exp = :exp",
            ConditionExpression="ts = :old",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":new": {"S": new_ts}, ":old": {"S": old_ts}, ":exp": self._expires_at()},
            ReturnValues="ALL_NEW",
        )
        if result is not None:
            return ParentMessage.from_item(result["Attributes"])
        existing = self.load(job_arn, channel)
        if existing is None:
            raise StateStoreError("the Slack message item disappeared while its ts was being replaced")
        return existing

    def advance(self, job_arn: str, channel: str, order: str, notice: Notice) -> bool:
        """Make this transition the one the parent shows, unless it already shows a later one.

        ``<=`` rather than ``<``: a retry of the transition shown re-applies its update, which is harmless.
        """
        result = self._call(
            "update_item",
            Key=_key(job_arn, channel),
            UpdateExpression="SET latestOrder = :order, latestNotice = :notice, #exp = :exp",
            ConditionExpression="attribute_exists(ts) AND (attribute_not_exists(latestOrder) OR latestOrder <= :order)",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":order": {"S": order},
                ":notice": {"S": _document(notice)},
                ":exp": self._expires_at(),
            },
        )
        return result is not None

    def mark_replying(self, job_arn: str, channel: str, transition_id: str) -> None:
        """Note that this transition's thread reply is about to be posted (checked for in Slack on a retry)."""
        self._call(
            "update_item",
            Key=_key(job_arn, channel),
            UpdateExpression="ADD replyingTransitions :id SET #exp = :exp",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":id": {"SS": [transition_id]}, ":exp": self._expires_at()},
        )

    def mark_replied(self, job_arn: str, channel: str, transition_id: str) -> None:
        self._call(
            "update_item",
            Key=_key(job_arn, channel),
            UpdateExpression="ADD repliedTransitions :id DELETE replyingTransitions :id SET #exp = :exp",
            ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":id": {"SS": [transition_id]}, ":exp": self._expires_at()},
        )
