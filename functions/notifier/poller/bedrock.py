"""The only module that talks to Bedrock: ListModelInvocationJobs pages and GetModelInvocationJob."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from notifier.core.errors import BedrockUnavailable, OutOfTime
from notifier.core.jobs import JobSnapshot

PAGE_SIZE = 1000  # the API's maximum: fewest calls per job listed

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
MIN_CALL_SECONDS = 1  # less time than this left: the call is not started
MAX_BACKOFF = 20  # botocore's cap on the backoff between two attempts


# Adaptive retries back off and rate-limit the client on ThrottlingException; the attempt count comes from
# boto3's own AWS_MAX_ATTEMPTS (the stack sets it), so the SDK, not this module, owns the retry loop.
def client_config() -> Config:
    """A new Config for each client: botocore writes the attempts it resolved into the retries dict it is given,
    so a shared Config would fix every later client at the first one's AWS_MAX_ATTEMPTS."""
    return Config(retries={"mode": "adaptive"}, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)


# The forms Bedrock sends (UTC with a Z, or an explicit offset; no fraction or up to microseconds). Hours 24 and
# leap seconds are left to botocore, which knows what it does with them.
_ISO_8601 = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)


def parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, fast for the ISO-8601 forms Bedrock returns.

    botocore parses each timestamp with dateutil, a third of the poller's CPU when it lists thousands of jobs;
    the standard library's fromisoformat reads these forms many times faster to the same moment and offset.
    Anything else (epoch numbers, RFC 822, other ISO forms) goes to botocore's own parser."""
    if isinstance(value, str) and _ISO_8601.fullmatch(value):
        try:
            return datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] == "Z" else value)
        except ValueError:
            pass  # a day the month does not have: botocore says so in its own words
    return botocore_parse_timestamp(value)


def bedrock_session(timestamp_parser: Callable[[Any], datetime] = parse_timestamp) -> boto3.Session:
    """A boto3 session whose clients parse timestamps with `timestamp_parser` (botocore's response-parser hook);
    a session of its own, so no other client of the process is affected."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=timestamp_parser)
    return boto3.Session(botocore_session=core)


@dataclass(frozen=True)
class CallLimits:
    """Timeouts and attempts of one call, so that every attempt and the backoff between them fit the time left."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int


def backoff_bound(retry: int) -> float:
    """The longest botocore sleeps before retry number `retry` (1, 2, ...): up to 2**(retry-1) s, capped."""
    return float(min(MAX_BACKOFF, 2 ** (retry - 1)))


def call_limits(seconds_left: float, max_attempts: int) -> CallLimits | None:
    """The limits of a call that must end within `seconds_left`, or None when too little time is left.

    Whole seconds only, so that the few distinct limits a run meets each need one client, made once."""
    budget = math.floor(seconds_left)
    if budget < MIN_CALL_SECONDS:
        return None
    per_attempt = min(CONNECT_TIMEOUT + READ_TIMEOUT, budget)
    attempts, used = 1, float(per_attempt)
    while attempts < max_attempts and used + backoff_bound(attempts) + per_attempt <= budget:
        used += backoff_bound(attempts) + per_attempt
        attempts += 1
    connect = min(CONNECT_TIMEOUT, per_attempt / 4)
    return CallLimits(connect_timeout=connect, read_timeout=per_attempt - connect, max_attempts=attempts)


class _NotFound(Exception):
    """GetModelInvocationJob answered ResourceNotFoundException."""


class BedrockJobs:
    def __init__(self, client: Any = None, timestamp_parser: Callable[[Any], datetime] = parse_timestamp) -> None:
        # An injected client keeps its own timeouts; the adapter's own clients are bounded by the time left.
        self._session = bedrock_session(timestamp_parser)
        self._client = client or self._session.client("bedrock", config=client_config())
        self._bounded = client is None
        self._max_attempts = int((self._client.meta.config.retries or {}).get("total_max_attempts", 3))
        self._clients: dict[CallLimits, Any] = {}
        self._time_left: Callable[[], float] | None = None
        self._server_time: datetime | None = None
        self.calls = 0

    def limit_calls_to(self, time_left: Callable[[], float] | None) -> None:
        """Every call from now on must end within `time_left()` seconds (the run's deadline), retries included."""
        self._time_left = time_left

    def list_pages(
        self,
        *,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        status: str | None = None,
    ) -> Iterator[list[JobSnapshot]]:
        """Every page of one query, oldest first. Raises BedrockUnavailable when a page cannot be read."""
        query: dict[str, Any] = {"maxResults": PAGE_SIZE, "sortBy": "CreationTime", "sortOrder": "Ascending"}
        if submitted_after is not None:
            query["submitTimeAfter"] = submitted_after
        if submitted_before is not None:
            query["submitTimeBefore"] = submitted_before
        if status is not None:
            query["statusEquals"] = status
        while True:
            response = self._call("ListModelInvocationJobs", **query)
            yield [JobSnapshot.from_bedrock(job) for job in response.get("invocationJobSummaries", [])]
            token = response.get("nextToken")
            if not token:
                return
            query["nextToken"] = token

    def server_time(self) -> datetime | None:
        """Bedrock's clock at its last answer, from the HTTP Date header (whole seconds, so never ahead of it)."""
        return self._server_time

    def get(self, job_arn: str) -> JobSnapshot | None:
        """The job now, or None when Bedrock does not find it (which may be transient)."""
        try:
            response = self._call("GetModelInvocationJob", jobIdentifier=job_arn)
        except _NotFound:
            return None
        return JobSnapshot.from_bedrock(response)

    def _client_now(self) -> Any:
        if self._time_left is None:
            return self._client
        limits = call_limits(self._time_left(), self._max_attempts)
        if limits is None:
            raise OutOfTime("too little time left before the Lambda timeout to call Bedrock")
        if not self._bounded:
            return self._client
        if limits not in self._clients:
            self._clients[limits] = (
                self._client
                if limits == CallLimits(CONNECT_TIMEOUT, READ_TIMEOUT, self._max_attempts)
                else self._session.client(
                    "bedrock",
                    config=client_config().merge(
                        Config(
                            connect_timeout=limits.connect_timeout,
                            read_timeout=limits.read_timeout,
                            retries={"mode": "adaptive", "total_max_attempts": limits.max_attempts},
                        )
                    ),
                )
            )
        return self._clients[limits]

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One call; any failure but a Get's not-found is BedrockUnavailable, so that the poll ends its listing,
        keeps what it recorded and still publishes."""
        method = getattr(self._client_now(), _snake(operation))
        self.calls += 1
        try:
            response = dict(method(**params))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            if code == "ResourceNotFoundException" and operation == "GetModelInvocationJob":
                raise _NotFound from error
            if code in {"ThrottlingException", "InternalServerException", "ServiceUnavailableException"}:
                raise BedrockUnavailable(f"{operation} kept failing with {code} after retries") from error
            if code == "AccessDeniedException":
                raise BedrockUnavailable(
                    f"{operation} was denied: the role needs bedrock:{operation} ({message})"
                ) from error
            raise BedrockUnavailable(f"{operation} failed with {code}: {message}") from error
        except BotoCoreError as error:
            raise BedrockUnavailable(f"{operation} failed: {error}") from error
        self._server_time = _date_header(response)
        return response


def _date_header(response: dict[str, Any]) -> datetime | None:
    date = (response.get("ResponseMetadata") or {}).get("HTTPHeaders", {}).get("date")
    try:
        moment = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _snake(operation: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in operation).lstrip("_")
