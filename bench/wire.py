"""What the functions cost on the wire: every HTTP request botocore sends, and DynamoDB's capacity units.

Requests are counted on botocore's `before-send` event, which fires once per attempt: a throttled call retried three
times counts four, as the service sees it. The hooks sit on boto3's default session, so every client the code under
test creates afterwards (boto3.client) is counted, and on any other client passed to `watch`.

Capacity units are computed from item sizes by DynamoDB's published rules, not taken from the local server (moto's
figures are not DynamoDB's): a read is 1 unit per 4 KB, strongly consistent, or half that eventually consistent,
rounded up per item for GetItem and BatchGetItem and over the items together for Query and Scan; a write is 1 unit
per 1 KB of the larger of the item before and after, rounded up per item, also when its condition fails; each
global secondary index the write adds the item to, changes or removes it from costs the same again (twice when the
index key changes). The item before and after a write is read with a client of its own, which is not counted.
Item size: the UTF-8 length of each attribute name plus its value (strings by UTF-8 length, numbers about one byte
per two digits plus one, lists and maps 3 bytes plus 1 per element); see
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode()) for item in data)
    if kind == "NS":
        return sum(value_size({"N": item}) for item in data)
    if kind == "BS":
        return sum(len(item) for item in data)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(item) for name, item in data.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    return max(1, math.ceil(max(item_size(before), item_size(after)) / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


@dataclass
class Tally:
    """Requests on the wire per (service, operation), and DynamoDB's read and write units."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0

    def calls(self, service: str, *operations: str) -> int:
        return sum(n for (s, op), n in self.requests.items() if s == service and (not operations or op in operations))

    def __sub__(self, other: Tally) -> Tally:
        return Tally(self.requests - other.requests, self.read_units - other.read_units,
                     self.write_units - other.write_units)  # fmt: skip

    def copy(self) -> Tally:
        return Tally(Counter(self.requests), self.read_units, self.write_units)


class WireCounter:
    """Counts every request of the clients created after ``install()`` and of those passed to ``watch``."""

    def __init__(self) -> None:
        self.total = Tally()
        self._indexes: dict[str, list[tuple[str, str | None]]] = {}
        self._table_keys: dict[str, list[str]] = {}
        self._peek: Any = None

    def install(self) -> WireCounter:
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        self._register(session._session)  # botocore's session: where events are registered
        self._peek = boto3.session.Session().client("dynamodb")  # its own session: not counted
        return self

    def watch(self, client: Any) -> Any:
        self._register(client.meta.events)
        return client

    def _register(self, events: Any) -> None:
        events.register("before-send", self._on_send)
        events.register("before-parameter-build.dynamodb", self._before_dynamodb)
        events.register("after-call.dynamodb", self._after_dynamodb)

    def snapshot(self) -> Tally:
        return self.total.copy()

    # --- hooks ------------------------------------------------------------------------------------------------

    def _on_send(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.total.requests[(service, operation)] += 1

    def _before_dynamodb(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        if operation in _WRITES:
            context["wire_before"] = [self._item(params["TableName"], self._key(params))]
        elif operation == "BatchWriteItem":
            context["wire_before"] = [
                self._item(table, request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])
                for table, requests in params["RequestItems"].items()
                for request in requests
            ]
        context["wire_params"] = params

    def _after_dynamodb(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
                        **_: Any) -> None:  # fmt: skip
        params = context.get("wire_params")
        if params is None or http_response.status_code >= 500 or _throttled(parsed):
            return  # neither a throttled nor a failed request consumes capacity
        operation = model.name
        if operation == "GetItem":
            self.total.read_units += read_units(item_size(parsed.get("Item")), consistent=_consistent(params))
        elif operation == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                consistent = bool(params["RequestItems"].get(table, {}).get("ConsistentRead"))
                self.total.read_units += sum(read_units(item_size(i), consistent=consistent) for i in items)
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            self.total.read_units += read_units(size, consistent=_consistent(params))
        elif operation in _WRITES:
            table = params["TableName"]
            [before] = context["wire_before"]
            after = self._item(table, self._key(params))
            self.total.write_units += write_units(before, after) + self._index_units(table, before, after)
        elif operation == "BatchWriteItem":
            befores = iter(context["wire_before"])
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    before = next(befores)
                    after = request.get("PutRequest", {}).get("Item")
                    self.total.write_units += write_units(before, after) + self._index_units(table, before, after)

    # --- items, keys and indexes ----------------------------------------------------------------------------------

    def _key(self, params: dict[str, Any]) -> dict[str, Any]:
        if "Key" in params:
            return dict(params["Key"])
        keys = self._key_names(params["TableName"])
        return {name: params["Item"][name] for name in keys}

    def _key_names(self, table: str) -> list[str]:
        self._describe(table)
        return self._table_keys[table]

    def _describe(self, table: str) -> None:
        if table in self._indexes:
            return
        description = self._peek.describe_table(TableName=table)["Table"]
        self._table_keys[table] = [k["AttributeName"] for k in description["KeySchema"]]
        self._indexes[table] = [
            (
                next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH"),
                next((k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "RANGE"), None),
            )
            for index in description.get("GlobalSecondaryIndexes", [])
        ]

    def _item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self._peek.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def _index_units(self, table: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
        """Each index projects every attribute (the stack's): the write of the item to it, as DynamoDB bills it."""
        self._describe(table)
        units = 0
        for partition, sort in self._indexes[table]:
            names = [partition] + ([sort] if sort else [])
            was = before is not None and all(n in before for n in names)
            now = after is not None and all(n in after for n in names)
            if was and now and before != after:
                same_key = all(before[n] == after[n] for n in names)  # type: ignore[index]
                units += write_units(None, after) if same_key else write_units(before, None) + write_units(None, after)
            elif now and not was:
                units += write_units(None, after)
            elif was and not now:
                units += write_units(before, None)
        return units


def _consistent(params: dict[str, Any]) -> bool:
    return bool(params.get("ConsistentRead")) and "IndexName" not in params


def _throttled(parsed: dict[str, Any]) -> bool:
    code = parsed.get("Error", {}).get("Code", "")
    return code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")
