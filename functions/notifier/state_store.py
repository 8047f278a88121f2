"""The only module that talks to the state table: job states, the outbox and the poll cursor.

A status change and its outbox entry are written in one transaction, conditioned on the status the
poll diffed against, so two overlapping polls cannot both record it and a crash cannot separate them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from notifier import state_schema as schema
from notifier.errors import StateStoreError
from notifier.models import JobSnapshot, Notice, is_terminal, isoformat, parse_time
from notifier.rules import Change, StoredJob

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_LIMIT = 100
MESSAGE_LIMIT = 2000  # failure messages are kept short in the table; the notice carries the full text

CLIENT_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=20)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


@dataclass(frozen=True)
class Cursor:
    watermark: datetime | None
    baseline_complete: bool


@dataclass(frozen=True)
class OutboxEntry:
    sort_key: str
    notice: Notice


def _stored_job(values: dict[str, Any]) -> StoredJob:
    return StoredJob(
        job_arn=str(values["jobArn"]),
        status=str(values["status"]),
        submit_time=parse_time(str(values["submitTime"])) or datetime.min,
        last_modified_time=parse_time(values.get("lastModifiedTime")),
    )


class StateStore:
    def __init__(self, table_name: str, client: Any = None, sleep: Any = time.sleep) -> None:
        self.table_name = table_name
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)
        self._sleep = sleep
        self.calls: Counter[str] = Counter()
        self.consumed_capacity = 0.0
        self.items_written = 0

    # -- cursor ---------------------------------------------------------------------------------------------

    def load_cursor(self) -> Cursor | None:
        response = self._call("GetItem", Key=_to_item(schema.cursor_key()), ConsistentRead=True)
        if "Item" not in response:
            return None
        values = _from_item(response["Item"])
        return Cursor(
            watermark=parse_time(values.get("watermark")), baseline_complete=bool(values.get("baselineComplete"))
        )

    def save_cursor(self, cursor: Cursor, now: datetime) -> bool:
        """Moves the watermark forward only; False when an overlapping poll already moved it further."""
        watermark = isoformat(cursor.watermark)
        item = {**schema.cursor_key(), "watermark": watermark, "baselineComplete": cursor.baseline_complete}
        item["updatedAt"] = isoformat(now)
        condition = "attribute_not_exists(pk) OR attribute_not_exists(watermark)"
        values = None
        if watermark is not None:
            condition += " OR watermark <= :watermark"
            values = {":watermark": {"S": watermark}}
        try:
            request: dict[str, Any] = {"Item": _to_item(item), "ConditionExpression": condition}
            if values:
                request["ExpressionAttributeValues"] = values
            self._call("PutItem", **request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise StateStoreError(f"could not save the poll cursor: {error.response['Error']['Code']}") from error
        self.items_written += 1
        return True

    # -- job states -----------------------------------------------------------------------------------------

    def open_jobs(self) -> dict[str, StoredJob]:
        """Every tracked job that is not terminal, from the sparse open-jobs index."""
        jobs: dict[str, StoredJob] = {}
        query: dict[str, Any] = {
            "IndexName": schema.OPEN_INDEX,
            "KeyConditionExpression": "#p = :open",
            "ExpressionAttributeNames": {"#p": schema.OPEN_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":open": {"S": schema.OPEN_INDEX_PARTITION_VALUE}},
        }
        for item in self._query(query):
            job = _stored_job(_from_item(item))
            jobs[job.job_arn] = job
        return jobs

    def get_jobs(self, job_arns: Iterable[str]) -> dict[str, StoredJob]:
        """Stored states of these jobs (absent ones are simply missing), 100 keys a call."""
        arns = list(dict.fromkeys(job_arns))
        found: dict[str, StoredJob] = {}
        for start in range(0, len(arns), BATCH_GET_LIMIT):
            keys = [_to_item(schema.job_key(arn)) for arn in arns[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(8):
                response = self._call("BatchGetItem", RequestItems=request, table=False)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    job = _stored_job(_from_item(item))
                    found[job.job_arn] = job
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise StateStoreError("BatchGetItem kept returning unprocessed keys")
        return found

    def record(self, changes: list[Change], now: datetime, ttl: timedelta) -> tuple[list[Change], list[Change]]:
        """Writes each change with its outbox entry; returns (recorded, lost to an overlapping poll)."""
        recorded: list[Change] = []
        conflicts: list[Change] = []
        chunk: list[Change] = []
        size = 0
        for change in changes:
            items = 2 if change.notice else 1
            if size + items > TRANSACTION_LIMIT:
                self._record_chunk(chunk, now, ttl, recorded, conflicts)
                chunk, size = [], 0
            chunk.append(change)
            size += items
        if chunk:
            self._record_chunk(chunk, now, ttl, recorded, conflicts)
        return recorded, conflicts

    def _record_chunk(
        self, chunk: list[Change], now: datetime, ttl: timedelta, recorded: list[Change], conflicts: list[Change]
    ) -> None:
        try:
            self._transact([item for change in chunk for item in self._writes(change, now, ttl)])
        except _Cancelled:
            # Someone else recorded at least one of these: retry one by one to keep the rest.
            for change in chunk:
                try:
                    self._transact(self._writes(change, now, ttl))
                except _Cancelled:
                    conflicts.append(change)
                else:
                    recorded.append(change)
            return
        recorded.extend(chunk)

    def _writes(self, change: Change, now: datetime, ttl: timedelta) -> list[dict[str, Any]]:
        job = change.job
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_item(self._job_item(job, change, now, ttl))}
        if change.previous is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#s = :previous"
            put["ExpressionAttributeNames"] = {"#s": "status"}
            put["ExpressionAttributeValues"] = {":previous": {"S": change.previous.status}}
        writes = [{"Put": put}]
        if change.notice:
            outbox = {
                schema.PARTITION_KEY: schema.OUTBOX_PARTITION,
                schema.SORT_KEY: f"{change.notice.detected_at}#{change.notice.transition_id}",
                "jobArn": job.job_arn,
                "notice": json.dumps(change.notice.to_document()),
            }
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _to_item(outbox),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        return writes

    @staticmethod
    def _job_item(job: JobSnapshot, change: Change, now: datetime, ttl: timedelta) -> dict[str, Any]:
        records = {k: v for k, v in vars(job.records).items() if v is not None}
        item: dict[str, Any] = {
            **schema.job_key(job.job_arn),
            "jobArn": job.job_arn,
            "jobName": job.job_name,
            "modelId": job.model_id,
            "status": job.status,
            "previousStatus": change.previous_status,
            "submitTime": isoformat(job.submit_time),
            "lastModifiedTime": isoformat(job.last_modified_time),
            "endTime": isoformat(job.end_time),
            "message": job.message[:MESSAGE_LIMIT] if job.message else None,
            "records": records or None,
            "outputS3Uri": job.output_s3_uri,
            "updatedAt": isoformat(now),
        }
        if is_terminal(job.status):
            ended = job.end_time or job.last_modified_time or now
            item[schema.TTL_ATTRIBUTE] = int((max(ended, now) + ttl).timestamp())
        else:
            item[schema.OPEN_INDEX_PARTITION_KEY] = schema.OPEN_INDEX_PARTITION_VALUE
            item[schema.OPEN_INDEX_SORT_KEY] = f"{isoformat(job.submit_time)}#{job.job_arn}"
        return item

    def retire(self, job: StoredJob, now: datetime, ttl: timedelta) -> bool:
        """Stops tracking a job Bedrock no longer knows; the item expires like a finished job's."""
        try:
            self._call(
                "UpdateItem",
                Key=_to_item(schema.job_key(job.job_arn)),
                UpdateExpression="REMOVE #op, #os SET retired = :true, #ttl = :ttl, updatedAt = :now",
                ConditionExpression="#s = :status",
                ExpressionAttributeNames={
                    "#op": schema.OPEN_INDEX_PARTITION_KEY,
                    "#os": schema.OPEN_INDEX_SORT_KEY,
                    "#ttl": schema.TTL_ATTRIBUTE,
                    "#s": "status",
                },
                ExpressionAttributeValues=_to_item(
                    {":true": True, ":ttl": int((now + ttl).timestamp()), ":now": isoformat(now), ":status": job.status}
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise StateStoreError(f"could not retire {job.job_arn}: {error.response['Error']['Code']}") from error
        self.items_written += 1
        return True

    # -- outbox ---------------------------------------------------------------------------------------------

    def pending_notices(self) -> list[OutboxEntry]:
        """Transitions recorded but not yet published, oldest first."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :outbox",
            "ExpressionAttributeValues": {":outbox": {"S": schema.OUTBOX_PARTITION}},
            "ConsistentRead": True,
        }
        entries = []
        for item in self._query(query):
            values = _from_item(item)
            entries.append(
                OutboxEntry(str(values[schema.SORT_KEY]), Notice.from_document(json.loads(values["notice"])))
            )
        return entries

    def delete_outbox(self, sort_keys: list[str]) -> None:
        for start in range(0, len(sort_keys), BATCH_WRITE_LIMIT):
            deletes = [
                {
                    "DeleteRequest": {
                        "Key": _to_item({schema.PARTITION_KEY: schema.OUTBOX_PARTITION, schema.SORT_KEY: key})
                    }
                }
                for key in sort_keys[start : start + BATCH_WRITE_LIMIT]
            ]
            request: dict[str, Any] = {self.table_name: deletes}
            for attempt in range(8):
                response = self._call("BatchWriteItem", RequestItems=request, table=False)
                self.items_written += len(request.get(self.table_name, []))
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
                self.items_written -= len(request.get(self.table_name, []))
                self._sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise StateStoreError("BatchWriteItem kept returning unprocessed items")

    # -- plumbing -------------------------------------------------------------------------------------------

    def _query(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("Query", **query)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            query = {**query, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        try:
            self._call("TransactWriteItems", TransactItems=writes, table=False)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise _Cancelled from error
            raise StateStoreError(f"could not record transitions: {error.response['Error']['Code']}") from error
        self.items_written += len(writes)

    def _call(self, operation: str, table: bool = True, **params: Any) -> dict[str, Any]:
        self.calls[operation] += 1
        if table:
            params["TableName"] = self.table_name
        method = getattr(self._client, _snake(operation))
        try:
            response = dict(method(ReturnConsumedCapacity="TOTAL", **params))
        except ClientError as error:
            if error.response["Error"]["Code"] in {"ConditionalCheckFailedException", "TransactionCanceledException"}:
                raise
            raise StateStoreError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error
        except BotoCoreError as error:
            raise StateStoreError(f"DynamoDB {operation} failed: {error}") from error
        capacity = response.get("ConsumedCapacity")
        for entry in capacity if isinstance(capacity, list) else [capacity] if capacity else []:
            self.consumed_capacity += float(entry.get("CapacityUnits", 0))
        return response


class _Cancelled(Exception):
    """A transaction cancelled because a condition failed (another poll got there first)."""


def _snake(operation: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in operation).lstrip("_")
