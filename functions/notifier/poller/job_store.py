"""The only module that talks to the state table: job states, their unpublished notices, the poll cursor.

A status change and its notice are written by one put, conditioned on the status the poll diffed
against, so two overlapping polls cannot both record it and no crash can separate the two.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from notifier.core import table_layout as schema
from notifier.core.errors import StateStoreError
from notifier.core.jobs import is_terminal
from notifier.core.notice import Notice
from notifier.core.timefmt import isoformat, parse_time
from notifier.poller.rules import MISSING, Change, StoredJob

BATCH_GET_LIMIT = 100
WRITE_CONCURRENCY = 8
MESSAGE_LIMIT = 2000  # failure messages are kept short in the table; the notice carries the full text


def client_config() -> Config:
    """A new Config for each client (botocore writes the resolved attempts into the retries dict it is given)."""
    return Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=20)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


@dataclass(frozen=True)
class Cursor:
    """Where the next listing of new jobs starts, and what the poll needs not redo.

    `finished` holds the job ids (the ARN's last part) of jobs inside the listing window already recorded in a
    terminal status, so the next poll does not read them again; `swept_at` is when every non-terminal status was
    last listed in full."""

    watermark: datetime | None
    baseline_complete: bool
    finished: frozenset[str] = frozenset()
    swept_at: datetime | None = None


@dataclass(frozen=True)
class PendingNotice:
    job_arn: str
    transition_id: str
    notice: Notice


@dataclass(frozen=True)
class Claim:
    """A run's hold on the pending notices of the jobs it publishes: while it lasts no other run publishes them
    and no other run rewrites the job item. It lapses after the run's own deadline, so a run that crashed holds
    nothing for long; another run then publishes what it left."""

    owner: str
    until: datetime

    def lapsed_at(self) -> int:
        return int(self.until.timestamp()) + 1


# A job item can be rewritten only while no other run's live claim is on it.
_CLAIM_FREE = f"(attribute_not_exists({schema.CLAIM_UNTIL_ATTRIBUTE}) OR {schema.CLAIM_UNTIL_ATTRIBUTE} < :now OR {schema.CLAIM_OWNER_ATTRIBUTE} = :owner)"
SEND_WINDOW_TTL = timedelta(hours=1)


def pending_after(change: Change) -> dict[str, Notice]:
    """The job's unpublished notices once this change is recorded: what was pending, plus its own."""
    pending = dict(change.previous.pending) if change.previous else {}
    if change.notice:
        pending[change.notice.transition_id] = change.notice
    return pending


def _outbox_item(pending: dict[str, Notice]) -> dict[str, str]:
    """The job item's outbox: each notice's document as JSON, keyed by transitionId."""
    return {tid: json.dumps(notice.to_document(), sort_keys=True) for tid, notice in pending.items()}


def _outbox_from_item(values: dict[str, Any]) -> dict[str, Notice]:
    outbox = values.get(schema.PENDING_ATTRIBUTE) or {}
    return {str(tid): Notice.from_document(json.loads(str(document))) for tid, document in outbox.items()}


def _previous_of(stored: StoredJob | None) -> str | None:
    return stored.previous_status if stored else None


def _stored_job(values: dict[str, Any]) -> StoredJob:
    status = str(values["status"])
    retired = values.get("retiredBecause") or (MISSING if values.get("retired") else None)
    return StoredJob(
        job_arn=str(values["jobArn"]),
        status=status,
        submit_time=parse_time(str(values["submitTime"])) or datetime.min.replace(tzinfo=UTC),
        last_modified_time=parse_time(values.get("lastModifiedTime")),
        pending=_outbox_from_item(values),
        previous_status=values.get("previousStatus"),
        statuses=frozenset(str(s) for s in values.get("statuses") or ()) | {status},
        misses=int(values.get("missedPolls") or 0),
        missing_since=parse_time(values.get("missingSince")),
        retired=str(retired) if retired else None,
    )


class StateStore:
    def __init__(self, table_name: str, client: Any = None, sleep: Any = time.sleep) -> None:
        self.table_name = table_name
        self._client = client or boto3.client("dynamodb", config=client_config())
        self._sleep = sleep
        self._lock = threading.Lock()  # guards the counters below, which parallel writes update
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
            watermark=parse_time(values.get("watermark")),
            baseline_complete=bool(values.get("baselineComplete")),
            finished=frozenset(str(job_id) for job_id in values.get("finishedJobs") or ()),
            swept_at=parse_time(values.get("sweptAt")),
        )

    def save_cursor(self, cursor: Cursor, now: datetime) -> bool:
        """Moves the watermark forward only; False when an overlapping poll already moved it further."""
        watermark = isoformat(cursor.watermark)
        item: dict[str, Any] = {
            **schema.cursor_key(),
            "watermark": watermark,
            "baselineComplete": cursor.baseline_complete,
        }
        item["finishedJobs"] = set(cursor.finished) or None  # a string set; DynamoDB has no empty one
        item["sweptAt"] = isoformat(cursor.swept_at)
        item["updatedAt"] = isoformat(now)
        condition = "attribute_not_exists(pk) OR attribute_not_exists(watermark)"
        values = None
        if watermark is not None:
            condition += " OR watermark <= :watermark"
            values = {":watermark": {"S": watermark}}
        request: dict[str, Any] = {"Item": _to_item(item), "ConditionExpression": condition}
        if values:
            request["ExpressionAttributeValues"] = values
        return self._write_if("PutItem", **request) is not None

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

    def record(
        self, changes: list[Change], now: datetime, ttl: timedelta, claim: Claim | None = None
    ) -> tuple[list[Change], list[Change]]:
        """Writes each change, its notice included, with one conditional put; returns (recorded, lost to an
        overlapping poll). With a claim, the job's pending notices are claimed by the same put, for the run
        that is about to publish them. Puts run in parallel: a first poll after an outage may record thousands."""
        recorded: list[Change] = []
        conflicts: list[Change] = []
        with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
            for change, written in zip(
                changes, pool.map(lambda c: self._put_change(c, now, ttl, claim), changes), strict=True
            ):
                (recorded if written else conflicts).append(change)
        return recorded, conflicts

    def _put_change(self, change: Change, now: datetime, ttl: timedelta, claim: Claim | None) -> bool:
        item = self._job_item(change, now, ttl)
        if claim and item.get(schema.PENDING_ATTRIBUTE):
            item[schema.CLAIM_OWNER_ATTRIBUTE] = claim.owner
            item[schema.CLAIM_UNTIL_ATTRIBUTE] = claim.lapsed_at()
        request: dict[str, Any] = {"Item": _to_item(item)}
        if change.previous is None:
            request["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            # The status it was diffed against, no other run's live claim, and every pending notice it carries
            # still pending: a notice another run published and cleared meanwhile must not come back.
            names = {"#s": "status", "#pending": schema.PENDING_ATTRIBUTE}
            carried = []
            for index, transition in enumerate(sorted(change.previous.pending)):
                names[f"#t{index}"] = transition
                carried.append(f"attribute_exists(#pending.#t{index})")
            request["ConditionExpression"] = " AND ".join(["#s = :previous", _CLAIM_FREE, *carried])
            request["ExpressionAttributeNames"] = names if carried else {"#s": "status"}
            request["ExpressionAttributeValues"] = _to_item(
                {
                    ":previous": change.previous.status,
                    ":now": int(now.timestamp()),
                    ":owner": claim.owner if claim else "",
                }
            )
        return self._write_if("PutItem", **request) is not None

    @staticmethod
    def _job_item(change: Change, now: datetime, ttl: timedelta) -> dict[str, Any]:
        job = change.job
        records = {k: v for k, v in vars(job.records).items() if v is not None}
        item: dict[str, Any] = {
            **schema.job_key(job.job_arn),
            "jobArn": job.job_arn,
            "jobName": job.job_name,
            "modelId": job.model_id,
            "status": job.status,
            "previousStatus": change.previous_status if change.is_transition else _previous_of(change.previous),
            # Every status recorded, so that a stale read can never record (and publish) one of them again.
            "statuses": sorted((change.previous.statuses if change.previous else frozenset()) | {job.status}),
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
        pending = pending_after(change)
        if pending:
            oldest = min(notice.detected_at for notice in pending.values())
            item[schema.PENDING_ATTRIBUTE] = _outbox_item(pending)
            item[schema.PENDING_INDEX_PARTITION_KEY] = schema.PENDING_INDEX_PARTITION_VALUE
            item[schema.PENDING_INDEX_SORT_KEY] = f"{isoformat(oldest)}#{job.job_arn}"
        return item

    def retire(self, job: StoredJob, now: datetime, ttl: timedelta, reason: str) -> bool:
        """Stops following a job (Bedrock no longer finds it, or it ended in a status this version does not
        know); the item expires like a finished job's. Seen again, a job Bedrock had lost is followed again."""
        written = self._write_if(
            "UpdateItem",
            Key=_to_item(schema.job_key(job.job_arn)),
            UpdateExpression=(
                "REMOVE #op, #os, missedPolls, missingSince "
                "SET retired = :true, retiredBecause = :reason, #ttl = :ttl, updatedAt = :now"
            ),
            ConditionExpression="#s = :status",
            ExpressionAttributeNames={
                "#op": schema.OPEN_INDEX_PARTITION_KEY,
                "#os": schema.OPEN_INDEX_SORT_KEY,
                "#ttl": schema.TTL_ATTRIBUTE,
                "#s": "status",
            },
            ExpressionAttributeValues=_to_item(
                {
                    ":true": True,
                    ":reason": reason,
                    ":ttl": int((now + ttl).timestamp()),
                    ":now": isoformat(now),
                    ":status": job.status,
                }
            ),
        )
        return written is not None

    def note_missing(self, job: StoredJob, now: datetime) -> bool:
        """Counts one more poll whose Get did not find the job; False when its status changed meanwhile."""
        written = self._write_if(
            "UpdateItem",
            Key=_to_item(schema.job_key(job.job_arn)),
            UpdateExpression=(
                "SET missedPolls = if_not_exists(missedPolls, :zero) + :one, "
                "missingSince = if_not_exists(missingSince, :now), updatedAt = :now"
            ),
            ConditionExpression="#s = :status",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_to_item({":zero": 0, ":one": 1, ":now": isoformat(now), ":status": job.status}),
        )
        return written is not None

    # -- outbox: the unpublished notices kept in job items ---------------------------------------------------

    def pending_notices(self) -> list[PendingNotice]:
        """Notices recorded but not yet published, from the sparse pending-notices index."""
        query: dict[str, Any] = {
            "IndexName": schema.PENDING_INDEX,
            "KeyConditionExpression": "#p = :pending",
            "ExpressionAttributeNames": {"#p": schema.PENDING_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":pending": {"S": schema.PENDING_INDEX_PARTITION_VALUE}},
        }
        found = []
        for item in self._query(query):
            values = _from_item(item)
            for transition, notice in _outbox_from_item(values).items():
                found.append(PendingNotice(str(values["jobArn"]), transition, notice))
        return found

    def claim(self, job_arns: list[str], claim: Claim, now: datetime) -> dict[str, dict[str, Notice]]:
        """Claims the pending notices of these jobs for one run; returns what each claimed job has pending now.
        A job whose notices another run holds, or that has nothing pending any more, is left out."""
        with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
            claimed = pool.map(lambda arn: self._claim_one(arn, claim, now), job_arns)
            return {arn: pending for arn, pending in zip(job_arns, claimed, strict=True) if pending}

    def _claim_one(self, job_arn: str, claim: Claim, now: datetime) -> dict[str, Notice] | None:
        response = self._write_if(
            "UpdateItem",
            Key=_to_item(schema.job_key(job_arn)),
            UpdateExpression="SET #owner = :owner, #until = :until",
            ConditionExpression=f"attribute_exists(#pending) AND {_CLAIM_FREE}",
            ExpressionAttributeNames={
                "#pending": schema.PENDING_ATTRIBUTE,
                "#owner": schema.CLAIM_OWNER_ATTRIBUTE,
                "#until": schema.CLAIM_UNTIL_ATTRIBUTE,
            },
            ExpressionAttributeValues=_to_item(
                {":owner": claim.owner, ":until": claim.lapsed_at(), ":now": int(now.timestamp())}
            ),
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None  # another run holds it, or nothing is pending any more
        return _outbox_from_item(_from_item(response.get("Attributes", {}))) or None

    def release(self, job_arns: list[str], claim: Claim) -> None:
        """Gives up this run's claim on jobs it leaves notices pending on, so the next run need not wait for it
        to lapse."""

        def release_one(job_arn: str) -> None:
            # Not held any more (cleared meanwhile, or lapsed and taken by another run): nothing to give up.
            self._write_if(
                "UpdateItem",
                Key=_to_item(schema.job_key(job_arn)),
                UpdateExpression="REMOVE #owner, #until",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#owner": schema.CLAIM_OWNER_ATTRIBUTE,
                    "#until": schema.CLAIM_UNTIL_ATTRIBUTE,
                },
                ExpressionAttributeValues=_to_item({":owner": claim.owner}),
            )

        with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
            list(pool.map(release_one, job_arns))

    def reserve(self, second: int, count: int, limit: int) -> bool:
        """The send window shared by every run: adds `count` to that second's tally unless it would pass `limit`."""
        added = self._write_if(
            "UpdateItem",
            Key=_to_item(schema.send_window_key(second)),
            UpdateExpression="ADD sent :count SET #ttl = :ttl",
            ConditionExpression="attribute_not_exists(sent) OR sent <= :room",
            ExpressionAttributeNames={"#ttl": schema.TTL_ATTRIBUTE},
            ExpressionAttributeValues=_to_item(
                {":count": count, ":room": limit - count, ":ttl": second + int(SEND_WINDOW_TTL.total_seconds())}
            ),
            item=False,
        )
        return added is not None

    def clear_published(self, job_arn: str, transition_ids: list[str], pending_count: int) -> None:
        """Drops published notices from the job item; the index keys and the run's claim go too when nothing
        else is pending."""
        names = {f"#t{i}": tid for i, tid in enumerate(transition_ids)}
        names["#pending"] = schema.PENDING_ATTRIBUTE
        exists = " AND ".join(f"attribute_exists(#pending.{alias})" for alias in names if alias != "#pending")
        key = _to_item(schema.job_key(job_arn))
        if pending_count == len(transition_ids):
            try:
                self._call(
                    "UpdateItem",
                    Key=key,
                    UpdateExpression="REMOVE #pending, #pp, #ps, #owner, #until",
                    ConditionExpression=f"attribute_exists(#pending) AND size(#pending) = :count AND {exists}",
                    ExpressionAttributeNames={
                        **names,
                        "#pp": schema.PENDING_INDEX_PARTITION_KEY,
                        "#ps": schema.PENDING_INDEX_SORT_KEY,
                        "#owner": schema.CLAIM_OWNER_ATTRIBUTE,
                        "#until": schema.CLAIM_UNTIL_ATTRIBUTE,
                    },
                    ExpressionAttributeValues={":count": {"N": str(pending_count)}},
                )
                self._wrote()
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        # Another notice arrived meanwhile: remove only what was published.
        removals = ", ".join(f"#pending.{alias}" for alias in names if alias != "#pending")
        try:
            self._call(
                "UpdateItem",
                Key=key,
                UpdateExpression=f"REMOVE {removals}",
                ConditionExpression="attribute_exists(#pending)",
                ExpressionAttributeNames=names,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return  # an overlapping poll cleared it already
            raise
        self._wrote()

    # -- plumbing -------------------------------------------------------------------------------------------

    def _write_if(self, operation: str, item: bool = True, **params: Any) -> dict[str, Any] | None:
        """One conditional write; None when its condition did not hold (another run changed the item first).
        Any other failure is a StateStoreError from _call."""
        try:
            response = self._call(operation, **params)
        except ClientError:  # _call lets only ConditionalCheckFailedException through
            return None
        if item:
            self._wrote()
        return response

    def _query(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("Query", **query)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            query = {**query, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def _wrote(self) -> None:
        with self._lock:
            self.items_written += 1

    def _call(self, operation: str, table: bool = True, **params: Any) -> dict[str, Any]:
        with self._lock:
            self.calls[operation] += 1
        if table:
            params["TableName"] = self.table_name
        method = getattr(self._client, _snake(operation))
        try:
            response = dict(method(ReturnConsumedCapacity="TOTAL", **params))
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise
            raise StateStoreError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error
        except BotoCoreError as error:
            raise StateStoreError(f"DynamoDB {operation} failed: {error}") from error
        capacity = response.get("ConsumedCapacity")
        with self._lock:
            for entry in capacity if isinstance(capacity, list) else [capacity] if capacity else []:
                self.consumed_capacity += float(entry.get("CapacityUnits", 0))
        return response


def _snake(operation: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in operation).lstrip("_")
