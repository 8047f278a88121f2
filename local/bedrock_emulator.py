"""A stand-in for Amazon Bedrock's batch inference API (ModelInvocationJobs), served over real HTTP.

boto3 reaches it through ``AWS_ENDPOINT_URL_BEDROCK``. It speaks the REST-JSON protocol of botocore's
``bedrock`` service model, which it loads at import: routes, query parameter names, enums, limits,
patterns and error status codes all come from that model.

Operations: CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs and
StopModelInvocationJob. Behaviours the model leaves open, chosen here:

- ``submitTimeAfter`` and ``submitTimeBefore`` are strict: a job submitted exactly at either bound
  is not listed.
- ``maxResults`` defaults to 1000 (``default_max_results``) and must be within 1..1000.
- ``nameContains`` is a case-sensitive substring match.
- Results are sorted by (submitTime, jobId), Descending unless ``sortOrder=Ascending``. ``nextToken``
  holds the sort key of the last job returned and a digest of the query (filters and sort, not
  ``maxResults``), so paging is stable while jobs are created or change status between pages; a
  token used with another query is a ValidationException. A token is returned only while more
  matching jobs exist.
- Stop moves a job to Stopping; it becomes Stopped once ``stop_after_reads`` Get or List responses
  have shown it as Stopping (default 1; 0 stops at once; None waits for ``complete_stops()``).
  Stopping a job in a terminal status is a ConflictException; stopping a Stopping job is a no-op.
- Timestamps are kept in UTC at millisecond precision and sent as ISO-8601 strings.
- Statuses change only when told to (``set_status`` or the admin endpoint), through Stop, and in two
  opt-in ways driven by the emulated clock (no threads, no wall time; worked out on each read and each
  clock move, stamped with the moment it happened):

  - Progress (``set_progress``, or ``records_per_hour`` on ``create_job``): while InProgress, a job's
    processedRecordCount grows at that many records per emulated hour toward totalRecordCount, an
    ``error_share`` of them counted in errorRecordCount, the rest in successRecordCount;
    lastModifiedTime follows the last record done. When the last one is done the job is Completed, with
    endTime the moment it finished. ``stall`` (or ``stall_at``) stops records finishing from a moment on.
  - Expiry (``expire_jobs``, or ``set_expiry`` for all jobs or one): a job not ended by its
    jobExpirationTime (submitTime + timeoutDurationInHours, 168 when the request gives none) ends then,
    as the model describes: Expired when no record was processed, PartiallyCompleted when some were.

- Manifests, once an S3 client is given (``s3_client``, ``s3_endpoint``, ``set_s3``): a job that ends, in
  any terminal status, leaves ``<s3Uri>/<jobId>/manifest.json.out`` with Bedrock's record and token counts,
  written before the answer that showed it ended is sent. A failed write is logged, never answered.
- A status set from outside the model (such as "Archived") is accepted from then on by
  ``statusEquals``, as a service whose model has grown would.

The admin API (JSON bodies, answers ``{"message": ...}`` with 400 or 404 on bad input):

- ``POST /_emulator/jobs/{jobId}/status`` ``{"status", "message"?, "records"?: {"total", "processed",
  "success", "error"}, "progress"?}``: any status string.
- ``POST /_emulator/jobs`` ``{"jobName", "modelId"?, "submitTime"?, "status"?, "progress"?, "expires"?,
  ...model fields}`` -> ``{"jobArn"}``; ``GET`` / ``DELETE /_emulator/jobs/{jobId}``.
- ``POST /_emulator/jobs/{jobId}/progress`` ``{"recordsPerHour", "errorShare"?, "total"?, "stallAt"?}``
  (the ``progress`` object above); ``POST /_emulator/jobs/{jobId}/stall`` ``{"at"?}``.
- ``POST /_emulator/expiry`` ``{"enabled"}`` for every job, ``POST /_emulator/jobs/{jobId}/expiry``
  ``{"enabled"}`` for one.
- ``POST /_emulator/s3`` ``{"endpoint"?}``; ``GET /_emulator/jobs/{jobId}/manifest``.
- ``POST /_emulator/jobs/{jobId}/hide`` ``{"listCalls": n}``.
- ``POST /_emulator/faults`` ``{"operation", "count"?, "code"?, "after"?, "message"?, "httpStatus"?}``;
  ``DELETE /_emulator/faults`` clears faults, latency and hidden jobs.
- ``POST /_emulator/latency`` ``{"operation", "seconds"}``.
- ``GET /_emulator/clock``; ``POST /_emulator/clock`` ``{"now": ISO-8601}`` or ``{"advanceSeconds": n}``.
- ``POST /_emulator/complete-stops``, ``POST /_emulator/reset``, ``GET /_emulator/calls``.

Run it with ``python -m local.bedrock_emulator --host 127.0.0.1 --port 5050``.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import copy
import hashlib
import json
import logging
import math
import random
import re
import signal
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from operator import itemgetter
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape

_LOG = logging.getLogger(__name__)

MODEL = ServiceModel(Loader().load_service_model("bedrock", "service-2"), "bedrock")

CREATE = "CreateModelInvocationJob"
GET = "GetModelInvocationJob"
LIST = "ListModelInvocationJobs"
STOP = "StopModelInvocationJob"
OPERATIONS = (CREATE, GET, LIST, STOP)
ANY_OPERATION = "*"

STATUSES: tuple[str, ...] = tuple(MODEL.shape_for("ModelInvocationJobStatus").enum)
TERMINAL_STATUSES = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})

DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
DEFAULT_MAX_RESULTS = 1000
DEFAULT_TIMEOUT_HOURS = 168
_HOUR_MS = 3_600_000
# Tokens a manifest counts per processed record (input) and per successful one (output).
DEFAULT_INPUT_TOKENS_PER_RECORD = 500
DEFAULT_OUTPUT_TOKENS_PER_RECORD = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_LIST_INPUT = MODEL.operation_model(LIST).input_shape
_JOB_SHAPE = MODEL.operation_model(GET).output_shape
_JOB_MEMBERS = frozenset(_JOB_SHAPE.members)
_TIMESTAMP_MEMBERS = frozenset(name for name, shape in _JOB_SHAPE.members.items() if shape.type_name == "timestamp")
# Set through create_job's own parameters, or derived from the job id.
_FIXED_MEMBERS = frozenset({"jobArn", "jobName", "modelId", "submitTime", "status"})
# Members of a create request that the job keeps (tags are not part of a job's description).
_CREATE_FIELDS = (
    "roleArn",
    "clientRequestToken",
    "inputDataConfig",
    "outputDataConfig",
    "vpcConfig",
    "timeoutDurationInHours",
    "modelInvocationType",
)
_RECORD_MEMBERS = {
    "total": "totalRecordCount",
    "processed": "processedRecordCount",
    "success": "successRecordCount",
    "error": "errorRecordCount",
}
ERROR_HTTP_STATUS: dict[str, int] = {
    shape.name: int(shape.metadata["error"]["httpStatusCode"])
    for operation in OPERATIONS
    for shape in MODEL.operation_model(operation).error_shapes
}
_ID_ALPHABET = string.ascii_lowercase + string.digits


class _ApiError(Exception):
    """An error answered the way AWS does: x-amzn-ErrorType header, {"message": ...} body."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else ERROR_HTTP_STATUS.get(code, 400)


def _invalid(path: str, value: Any, constraint: str) -> _ApiError:
    shown = "null" if value is None else f"'{value}'"
    return _ApiError(
        "ValidationException",
        f"1 validation error detected: Value {shown} at '{path}' failed to satisfy constraint: {constraint}",
    )


def _check(value: Any, shape: Shape, path: str) -> None:
    """Validate a request value against its shape in the model, as the service does."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _invalid(path, value, "Member must be a structure")
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                raise _invalid(_join(path, name), None, "Member must not be null")
        present = [name for name in members if value.get(name) is not None]
        if meta.get("union") and len(present) != 1:
            raise _invalid(path, value, "Member must have exactly one member set")
        for name in present:
            _check(value[name], members[name], _join(path, name))
    elif kind == "list":
        if not isinstance(value, list):
            raise _invalid(path, value, "Member must be a list")
        _check_bounds(len(value), meta, path, value, "length")
        for index, item in enumerate(value, start=1):
            _check(item, shape.member, f"{path}.{index}")
    elif kind == "string":
        if not isinstance(value, str):
            raise _invalid(path, value, "Member must be a string")
        _check_bounds(len(value), meta, path, value, "length")
        if shape.enum and value not in shape.enum:
            raise _invalid(path, value, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            raise _invalid(path, value, f"Member must satisfy regular expression pattern: {meta['pattern']}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _invalid(path, value, "Member must be a number")
        _check_bounds(value, meta, path, value, "value")


def _check_bounds(measure: int, meta: Mapping[str, Any], path: str, value: Any, what: str) -> None:
    if "min" in meta and measure < meta["min"]:
        raise _invalid(path, value, f"Member must have {what} greater than or equal to {meta['min']}")
    if "max" in meta and measure > meta["max"]:
        raise _invalid(path, value, f"Member must have {what} less than or equal to {meta['max']}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _utc(moment: datetime) -> datetime:
    """UTC at millisecond precision, the precision of the wire, so what is stored is what is sent."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _wire(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored job as the model's JSON: None left out, timestamps as ISO-8601 strings."""
    return {
        name: _iso(value) if name in _TIMESTAMP_MEMBERS else value
        for name, value in record.items()
        if value is not None
    }


def _job_id(job: str) -> str:
    """The job id of a job ARN or id (the ARN's last segment)."""
    return job.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    segments: tuple[str, ...]

    @classmethod
    def of(cls, operation: str) -> _Route:
        http = MODEL.operation_model(operation).http
        return cls(operation, http["method"], tuple(http["requestUri"].strip("/").split("/")))

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """The URI labels of a request for this operation, or None when it is not one."""
        if method != self.method or len(segments) != len(self.segments):
            return None
        labels: dict[str, str] = {}
        for pattern, segment in zip(self.segments, segments, strict=True):
            if pattern.startswith("{"):
                labels[pattern.strip("{}")] = segment
            elif pattern != segment:
                return None
        return labels


_ROUTES = tuple(_Route.of(operation) for operation in OPERATIONS)


@dataclass
class _Fault:
    operation: str
    code: str
    message: str
    status: int
    skip: int
    count: int


@dataclass(frozen=True)
class _ListQuery:
    after: datetime | None
    before: datetime | None
    status: str | None
    name: str | None
    ascending: bool
    limit: int
    cursor: tuple[datetime, str] | None


@dataclass
class _Progress:
    """How a job's records advance: ``rate`` records per emulated hour from ``anchor`` (while InProgress),
    ``done`` records finished by then (a fraction: re-anchoring loses nothing), none after ``stall_at``."""

    rate: Fraction
    error_share: Fraction
    stall_at: datetime | None
    done: Fraction = Fraction(0)
    anchor: datetime | None = None

    def done_at(self, moment: datetime, total: int) -> Fraction:
        if self.anchor is None:
            return self.done
        end = moment if self.stall_at is None else min(moment, self.stall_at)
        elapsed = max(0, _ms(end) - _ms(self.anchor))
        return min(Fraction(total), self.done + self.rate * elapsed / _HOUR_MS)

    def finish_time(self, total: int) -> datetime | None:
        """The moment the last record finishes at this rate, or None when it never does."""
        if self.anchor is None:
            return None
        left = total - self.done
        if left <= 0:
            return self.anchor
        if self.rate <= 0:
            return None
        finish = self.anchor + timedelta(milliseconds=math.ceil(left * _HOUR_MS / self.rate))
        return None if self.stall_at is not None and finish > self.stall_at else finish

    def last_record_time(self, processed: int) -> datetime | None:
        """The moment the ``processed``-th record finished, when it did so since the anchor."""
        if self.anchor is None or self.rate <= 0 or processed <= self.done:
            return None
        return self.anchor + timedelta(milliseconds=math.ceil((processed - self.done) * _HOUR_MS / self.rate))


class BedrockEmulator:
    """Bedrock batch inference jobs in memory, served over HTTP and driven from Python.

    Thread-safe: one lock guards all state. Jobs are kept sorted by (submitTime, jobId), so a list
    call bisects to its window and reads only the page it returns.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        now: datetime | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        stop_after_reads: int | None = 1,
        default_max_results: int = DEFAULT_MAX_RESULTS,
        seed: int | None = None,
        expire_jobs: bool = False,
        s3_client: Any | None = None,
        s3_endpoint: str | None = None,
        input_tokens_per_record: int = DEFAULT_INPUT_TOKENS_PER_RECORD,
        output_tokens_per_record: int = DEFAULT_OUTPUT_TOKENS_PER_RECORD,
    ) -> None:
        """``now`` freezes the clock at that moment; otherwise it follows ``clock`` (default: real UTC time).
        ``expire_jobs`` times out every job at its jobExpirationTime (``set_expiry`` changes it, for all or one).
        With an S3 client (``s3_client``, or one built for ``s3_endpoint``; ``set_s3`` changes it) a job that
        ends gets a manifest.json.out under its output location, with token counts of
        ``input_tokens_per_record`` per processed record and ``output_tokens_per_record`` per successful one."""
        self.region = region
        self.account_id = account_id
        self.default_max_results = default_max_results
        self._initial_stop_after_reads = stop_after_reads
        self._initial_expire_jobs = expire_jobs
        self._initial_s3 = s3_client if s3_client is not None else _s3_client(s3_endpoint, region)
        self.input_tokens_per_record = input_tokens_per_record
        self.output_tokens_per_record = output_tokens_per_record
        self._pending: list[tuple[str, str, bytes]] = []  # manifests to write: (bucket, key, body)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._initial_frozen = _utc(now) if now is not None else None
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.delays: list[tuple[str, float]] = []  # (operation, seconds) of each injected latency served
        self._clear()

    def _clear(self) -> None:
        self.stop_after_reads = self._initial_stop_after_reads
        self.expire_jobs = self._initial_expire_jobs
        self._s3 = self._initial_s3
        self._pending.clear()
        self._frozen = self._initial_frozen
        self._offset = timedelta()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._order: list[tuple[datetime, str]] = []
        self._tokens: dict[str, tuple[str, str]] = {}  # clientRequestToken -> (job id, request digest)
        self._stop_reads: dict[str, int] = {}  # job id -> reads left before Stopping becomes Stopped
        self._extra_statuses: set[str] = set()
        self._progress: dict[str, _Progress] = {}  # job id -> how its records advance
        self._expires: dict[str, bool] = {}  # job id -> times out or not, whatever expire_jobs says
        self.calls.clear()
        self.requests.clear()
        self.delays.clear()
        self._clear_faults()

    def _clear_faults(self) -> None:
        self._faults: list[_Fault] = []
        self._latency: dict[str, float] = {}
        self._hidden: dict[str, int] = {}  # job id -> list calls left that leave it out
        self._hidden_until: dict[str, datetime] = {}  # job id -> when it shows again, list calls left or not

    @contextmanager
    def _state(self) -> Iterator[None]:
        """Hold the lock; once it is released, write the manifests of jobs that ended meanwhile, so no S3
        call is made under the lock and none is left for later: a caller that saw a job end finds its manifest."""
        with self._lock:
            yield
        if self._pending:
            self._write_manifests()

    # -- server -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a background thread; port 0 picks a free one. Returns the endpoint URL."""
        if self._server is not None:
            raise RuntimeError(f"the emulator is already serving on {self._url}")
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="bedrock-emulator", daemon=True
        )
        self._thread.start()
        self._url = f"http://{host}:{self._server.server_address[1]}"
        return self._url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = self._url = None

    def reset(self) -> None:
        """Forget jobs, faults, counters and request log; the clock goes back to how it was built."""
        with self._state():
            self._clear()

    # -- clock ------------------------------------------------------------------------------------

    def now(self) -> datetime:
        with self._state():
            return self._now()

    def _now(self) -> datetime:
        base = self._frozen if self._frozen is not None else self._clock()
        return _utc(base + self._offset)

    def set_now(self, moment: datetime) -> None:
        """Stop the clock at ``moment``; it stands still until advanced or set again."""
        with self._state():
            self._frozen = _utc(moment)
            self._offset = timedelta()
            self._settle_all()

    def advance(self, delta: timedelta) -> None:
        with self._state():
            self._offset += delta
            self._settle_all()

    # -- jobs -------------------------------------------------------------------------------------

    def create_job(
        self,
        name: str,
        model_id: str = DEFAULT_MODEL_ID,
        *,
        submit_time: datetime | None = None,
        status: str = "Submitted",
        records_per_hour: float | None = None,
        error_share: float = 0.0,
        stall_at: datetime | None = None,
        expires: bool | None = None,
        **fields: Any,
    ) -> str:
        """Add a job as if submitted at ``submit_time`` (default: now). ``fields`` are model members
        (roleArn, vpcConfig, message, totalRecordCount, endTime, ...). Returns the job ARN.

        ``records_per_hour`` (with ``totalRecordCount``) makes its records advance, as ``set_progress``
        does; ``expires`` times it out at its jobExpirationTime, or never, whatever ``expire_jobs`` says."""
        with self._state():
            queued = len(self._pending)
            record = self._new_record(name, model_id, submit_time, status, fields, set())
            self._add(record)
            job_id = _job_id(record["jobArn"])
            try:
                if expires is not None:
                    self._expires[job_id] = bool(expires)
                if records_per_hour is not None:
                    self._configure_progress(record, records_per_hour, error_share, None, stall_at, self._now())
                self._settle(record, self._now())
            except (TypeError, ValueError):
                self._remove(record)
                del self._pending[queued:]  # a job refused leaves no manifest
                raise
        return str(record["jobArn"])

    def _add(self, record: dict[str, Any]) -> None:
        job_id = _job_id(record["jobArn"])
        self._jobs[job_id] = record
        bisect.insort(self._order, (record["submitTime"], job_id))

    def create_jobs(
        self,
        count: int,
        *,
        name_prefix: str = "job",
        model_id: str = DEFAULT_MODEL_ID,
        start: datetime | None = None,
        step: timedelta = timedelta(seconds=1),
        status: str = "Submitted",
        **fields: Any,
    ) -> list[str]:
        """Add ``count`` jobs named ``{name_prefix}-000000``..., submitted ``step`` apart from ``start``
        (default: so that the last one is submitted now). Returns their ARNs in submission order."""
        with self._state():
            first = _utc(start) if start is not None else self._now() - step * (count - 1)
            taken: set[str] = set()
            records = [
                self._new_record(f"{name_prefix}-{index:06d}", model_id, first + step * index, status, fields, taken)
                for index in range(count)
            ]
            for record in records:
                job_id = _job_id(record["jobArn"])
                self._jobs[job_id] = record
                self._order.append((record["submitTime"], job_id))
            self._order.sort()
        return [str(record["jobArn"]) for record in records]

    def _new_record(
        self,
        name: str,
        model_id: str,
        submit_time: datetime | None,
        status: str,
        fields: Mapping[str, Any],
        taken: set[str],
    ) -> dict[str, Any]:
        unknown = set(fields) - (_JOB_MEMBERS - _FIXED_MEMBERS)
        if unknown:
            raise ValueError(f"not settable job fields: {sorted(unknown)}")
        _check_status(status)
        now = self._now()
        submitted = now if submit_time is None else _utc(submit_time)
        # A job created past Submitted is as if it got there now (or when submitted, if that is later).
        changed = submitted if status == "Submitted" else max(submitted, now)
        job_id = self._new_job_id(taken)
        hours = fields.get("timeoutDurationInHours", DEFAULT_TIMEOUT_HOURS)
        bucket = f"s3://batch-inference-{self.account_id}"
        record: dict[str, Any] = {
            "jobArn": self._arn(job_id),
            "jobName": name,
            "modelId": model_id,
            "roleArn": f"arn:aws:iam::{self.account_id}:role/BedrockBatchInferenceRole",
            "status": status,
            "message": None,
            "submitTime": submitted,
            "lastModifiedTime": changed,
            "endTime": changed if status in TERMINAL_STATUSES else None,
            "inputDataConfig": {
                "s3InputDataConfig": {"s3Uri": f"{bucket}/input/{job_id}.jsonl", "s3InputFormat": "JSONL"}
            },
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"{bucket}/output/"}},
            "timeoutDurationInHours": hours,
            "jobExpirationTime": submitted + timedelta(hours=hours),
            "modelInvocationType": "InvokeModel",
        }
        for member, value in fields.items():
            record[member] = _utc(value) if member in _TIMESTAMP_MEMBERS and value is not None else value
        self._note_status(status)
        if status in TERMINAL_STATUSES:
            self._queue_manifest(record)
        return record

    def _new_job_id(self, taken: set[str]) -> str:
        while True:
            job_id = "".join(self._random.choices(_ID_ALPHABET, k=12))
            if job_id not in self._jobs and job_id not in taken:
                taken.add(job_id)
                return job_id

    def _arn(self, job_id: str) -> str:
        return f"arn:aws:bedrock:{self.region}:{self.account_id}:model-invocation-job/{job_id}"

    def set_status(
        self, job: str, status: str, message: str | None = None, records: Mapping[str, int] | None = None
    ) -> None:
        """Move a job (ARN or id) to any status, stamping lastModifiedTime, and endTime when it
        enters a terminal status. ``records`` takes total, processed, success and error counts."""
        with self._state():
            record = self._record(job)
            self._settle(record, self._now())
            self._set_status(record, status, message, records)

    def _set_status(
        self,
        record: dict[str, Any],
        status: str,
        message: str | None = None,
        records: Mapping[str, int] | None = None,
        at: datetime | None = None,
    ) -> None:
        _check_status(status)
        counts = _record_counts(records or {})
        now = self._now() if at is None else at
        ends = status in TERMINAL_STATUSES and status != record["status"]
        if status not in TERMINAL_STATUSES:
            record["endTime"] = None
        elif record["status"] not in TERMINAL_STATUSES or record["endTime"] is None:
            record["endTime"] = now
        record["status"] = status
        record["lastModifiedTime"] = now
        if message is not None:
            record["message"] = message
        record.update(counts)
        progress = self._progress.get(_job_id(record["jobArn"]))
        if progress is not None:
            # Records advance only while InProgress: count what was done by now, then run or hold from here.
            progress.done = progress.done_at(now, record.get("totalRecordCount") or 0)
            if "processedRecordCount" in counts:
                progress.done = Fraction(counts["processedRecordCount"])
            progress.anchor = now if status == "InProgress" else None
            self._count(record, progress, now)
        self._note_status(status)
        self._stop_reads.pop(_job_id(record["jobArn"]), None)
        if ends:
            self._queue_manifest(record)

    # -- progress and expiry ----------------------------------------------------------------------

    def set_progress(
        self,
        job: str,
        records_per_hour: float,
        *,
        error_share: float = 0.0,
        total: int | None = None,
        stall_at: datetime | None = None,
    ) -> None:
        """Make a job's records advance: ``records_per_hour`` on the emulated clock while it is InProgress,
        ``error_share`` of them failing, none after ``stall_at``. Counts are worked out from the clock on
        each read; when the last of ``total`` (default: the job's totalRecordCount) is done the job is
        Completed, its endTime the moment that record finished. Records done so far stay done."""
        with self._state():
            record = self._record(job)
            now = self._now()
            self._settle(record, now)
            self._configure_progress(record, records_per_hour, error_share, total, stall_at, now)
            self._settle(record, now)

    def stall(self, job: str, at: datetime | None = None) -> None:
        """No more of a job's records finish from ``at`` (default: now) until ``set_progress`` again."""
        with self._state():
            record = self._record(job)
            now = self._now()
            self._settle(record, now)
            progress = self._progress.get(_job_id(record["jobArn"]))
            if progress is None:
                raise ValueError(f"job {job} has no progress to stall; set_progress first")
            moment = now if at is None else _utc(at)
            if moment < now:
                raise ValueError(f"a stall cannot start before the emulator's now ({_iso(now)}): {_iso(moment)}")
            progress.stall_at = moment

    def set_expiry(self, enabled: bool, job: str | None = None) -> None:
        """Time jobs out at their jobExpirationTime (submitTime + timeoutDurationInHours), or not: every
        job without a choice of its own, or just ``job``."""
        with self._state():
            if job is None:
                self.expire_jobs = bool(enabled)
            else:
                self._expires[_job_id(self._record(job)["jobArn"])] = bool(enabled)
            self._settle_all()

    def _configure_progress(
        self,
        record: dict[str, Any],
        records_per_hour: float,
        error_share: float,
        total: int | None,
        stall_at: datetime | None,
        now: datetime,
    ) -> None:
        rate, share = _fraction(records_per_hour, "records per hour"), _fraction(error_share, "error share")
        if share > 1:
            raise ValueError(f"error share must be between 0 and 1, got {error_share}")
        if total is not None:
            record.update(_record_counts({"total": total}))
        records = record.get("totalRecordCount")
        if records is None:
            raise ValueError("a job's records advance only toward a total: give total or totalRecordCount")
        job_id = _job_id(record["jobArn"])
        earlier = self._progress.get(job_id)
        done = earlier.done_at(now, records) if earlier else Fraction(record.get("processedRecordCount") or 0)
        anchor = now if record["status"] == "InProgress" else None
        progress = _Progress(rate, share, None if stall_at is None else _utc(stall_at), min(done, records), anchor)
        self._progress[job_id] = progress
        if record["status"] not in TERMINAL_STATUSES:
            self._count(record, progress, now)

    def _count(self, record: dict[str, Any], progress: _Progress, moment: datetime) -> None:
        """Set a job's record counts to what its progress has done by ``moment``."""
        processed = math.floor(progress.done_at(moment, record.get("totalRecordCount") or 0))
        errors = math.floor(processed * progress.error_share)
        record.update(processedRecordCount=processed, successRecordCount=processed - errors, errorRecordCount=errors)
        finished = progress.last_record_time(processed)
        if finished is not None and (record["lastModifiedTime"] is None or finished > record["lastModifiedTime"]):
            record["lastModifiedTime"] = finished

    def _settle(self, record: dict[str, Any], now: datetime) -> None:
        """Bring a job up to ``now``: its records done so far, and Completed or timed out if that moment
        has passed, stamped with the moment it happened rather than the moment it was read."""
        if record["status"] in TERMINAL_STATUSES:
            return
        job_id = _job_id(record["jobArn"])
        progress = self._progress.get(job_id)
        deadline = record.get("jobExpirationTime") if self._expires.get(job_id, self.expire_jobs) else None
        if progress is None and deadline is None:
            return
        finish = None if progress is None else progress.finish_time(record.get("totalRecordCount") or 0)
        if progress is not None and finish is not None and finish <= now and (deadline is None or finish <= deadline):
            self._count(record, progress, finish)
            self._set_status(record, "Completed", at=finish)
        elif deadline is not None and deadline <= now:
            if progress is not None:
                self._count(record, progress, deadline)
            # The model: Expired is a job that never began in time; PartiallyCompleted, one whose records
            # could not all be processed in time.
            started = (record.get("processedRecordCount") or 0) > 0
            self._set_status(record, "PartiallyCompleted" if started else "Expired", at=deadline)
        elif progress is not None:
            self._count(record, progress, now)

    def _settle_all(self) -> None:
        if not self._progress and not self.expire_jobs and not any(self._expires.values()):
            return
        now = self._now()
        for record in self._jobs.values():
            self._settle(record, now)

    # -- manifests --------------------------------------------------------------------------------

    def set_s3(self, client: Any | None = None, *, endpoint: str | None = None) -> None:
        """Write manifests with this boto3 S3 client, or one for ``endpoint``; neither: write none."""
        with self._state():
            self._s3 = client if client is not None else _s3_client(endpoint, self.region)

    def manifest(self, job: str) -> dict[str, int]:
        """The job's manifest.json.out as it stands: its record counts and the tokens they stand for."""
        with self._state():
            record = self._record(job)
            self._settle(record, self._now())
            return self._manifest(record)

    def manifest_location(self, job: str) -> tuple[str, str]:
        """(bucket, key) of the job's manifest: ``<s3Uri>/<jobId>/manifest.json.out``, as Bedrock writes it."""
        with self._state():
            return _manifest_location(self._record(job))

    def _manifest(self, record: Mapping[str, Any]) -> dict[str, int]:
        processed = record.get("processedRecordCount") or 0
        success = record.get("successRecordCount") or 0
        return {
            "totalRecordCount": record.get("totalRecordCount") or 0,
            "processedRecordCount": processed,
            "successRecordCount": success,
            "errorRecordCount": record.get("errorRecordCount") or 0,
            "inputTokenCount": processed * self.input_tokens_per_record,
            "outputTokenCount": success * self.output_tokens_per_record,
        }

    def _queue_manifest(self, record: Mapping[str, Any]) -> None:
        if self._s3 is None:
            return
        try:
            bucket, key = _manifest_location(record)
        except ValueError as error:
            _LOG.warning("no manifest for %s: %s", record["jobArn"], error)
            return
        self._pending.append((bucket, key, json.dumps(self._manifest(record)).encode()))

    def _write_manifests(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            client = self._s3
        for bucket, key, body in pending:
            if client is None:
                return
            try:
                client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
            except Exception as error:  # an S3 error must not break the Bedrock answer that ended the job
                _LOG.warning("could not write s3://%s/%s: %s", bucket, key, error)

    def _note_status(self, status: str) -> None:
        if status not in STATUSES:
            self._extra_statuses.add(status)

    def complete_stops(self) -> list[str]:
        """Move every Stopping job to Stopped. Returns their ARNs."""
        with self._state():
            self._settle_all()
            stopping = [record for record in self._jobs.values() if record["status"] == "Stopping"]
            for record in stopping:
                self._set_status(record, "Stopped")
        return [str(record["jobArn"]) for record in stopping]

    def delete_job(self, job: str) -> None:
        """Forget a job, as if it aged out of the account: Get answers ResourceNotFoundException."""
        with self._state():
            self._remove(self._record(job))

    def _remove(self, record: dict[str, Any]) -> None:
        job_id = _job_id(record["jobArn"])
        del self._jobs[job_id]
        del self._order[bisect.bisect_left(self._order, (record["submitTime"], job_id))]
        self._hidden.pop(job_id, None)
        self._hidden_until.pop(job_id, None)
        self._stop_reads.pop(job_id, None)
        self._progress.pop(job_id, None)
        self._expires.pop(job_id, None)
        token = record.get("clientRequestToken")
        if token in self._tokens and self._tokens[token][0] == job_id:
            del self._tokens[token]

    def overwrite_job(self, job: str, **fields: Any) -> None:
        """Set model fields of a job as they are, with no lifecycle rule and no timestamp stamped: how a
        lagging replica or a newer service answers (an older status with no lastModifiedTime, a status this
        model does not know with an endTime). A field set to None is left out of answers."""
        unknown = set(fields) - (_JOB_MEMBERS - {"jobArn", "submitTime"})
        if unknown:
            raise ValueError(f"not settable job fields: {sorted(unknown)}")
        with self._state():
            record = self._record(job)
            for member, value in fields.items():
                record[member] = _utc(value) if member in _TIMESTAMP_MEMBERS and value is not None else value
            if "status" in fields:
                self._note_status(fields["status"])

    def job(self, job: str) -> dict[str, Any]:
        """A copy of the stored job, shaped as boto3 returns it (datetimes, no None values)."""
        with self._state():
            record = self._record(job)
            self._settle(record, self._now())
            return {name: copy.deepcopy(value) for name, value in record.items() if value is not None}

    def job_arns(self) -> list[str]:
        """Every job's ARN, oldest submission first."""
        with self._state():
            return [self._arn(job_id) for _, job_id in self._order]

    def _record(self, job: str) -> dict[str, Any]:
        try:
            return self._jobs[_job_id(job)]
        except KeyError:
            raise KeyError(f"no job {job}") from None

    # -- faults -----------------------------------------------------------------------------------

    def fail_next(
        self,
        operation: str,
        count: int = 1,
        code: str = "ThrottlingException",
        *,
        after: int = 0,
        message: str | None = None,
        status: int | None = None,
    ) -> None:
        """Let ``after`` calls of ``operation`` (or "*" for any) through, then fail ``count`` with ``code``.

        ``fail_next(LIST, after=2)`` fails the third list call from now. The HTTP status is the
        model's for that code (400 for codes it does not know) unless ``status`` is given.
        """
        _check_operation(operation)
        if count < 1 or after < 0:
            raise ValueError("count must be at least 1 and after at least 0")
        error = _ApiError(code, message or f"Injected {code}", status)
        with self._state():
            self._faults.append(_Fault(operation, code, error.message, error.status, after, count))

    def add_latency(self, operation: str, seconds: float) -> None:
        """Delay every call of ``operation`` (or "*" for any without its own) by ``seconds``; 0 removes."""
        _check_operation(operation)
        with self._state():
            if seconds > 0:
                self._latency[operation] = seconds
            else:
                self._latency.pop(operation, None)

    def hide_from_list(self, job: str, list_calls: int, until: datetime | None = None) -> None:
        """Leave a job out of the next ``list_calls`` list responses (Get still finds it); 0 shows it again.
        With ``until``, it shows again from that moment on the emulator's clock: a listing lag bounded in time."""
        with self._state():
            job_id = _job_id(self._record(job)["jobArn"])
            self._hidden_until.pop(job_id, None)
            if list_calls > 0:
                self._hidden[job_id] = list_calls
                if until is not None:
                    self._hidden_until[job_id] = until
            else:
                self._hidden.pop(job_id, None)

    def clear_faults(self) -> None:
        """Drop injected failures, latency and hidden jobs; jobs and counters stay."""
        with self._state():
            self._clear_faults()

    def _take_fault(self, operation: str) -> _Fault | None:
        """Count this call against every rule for the operation; the first one due fires."""
        due = None
        for fault in self._faults:
            if fault.operation not in (operation, ANY_OPERATION):
                continue
            if fault.skip:
                fault.skip -= 1
            elif due is None:
                fault.count -= 1
                due = fault
        self._faults = [fault for fault in self._faults if fault.count > 0]
        return due

    # -- HTTP ------------------------------------------------------------------------------------

    def _handle_http(self, method: str, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request: (status, headers, body)."""
        parts = urlsplit(target)
        # Split before unquoting: a job ARN in the path arrives with its "/" encoded as %2F.
        segments = [unquote(segment) for segment in parts.path.strip("/").split("/")]
        try:
            payload = json.loads(body) if body else {}
            if not isinstance(payload, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as error:
            return _error_response(_ApiError("SerializationException", f"Could not read the request body: {error}"))
        try:
            if segments[0] == "_emulator":
                return _json_response(self._admin(method, segments[1:], payload))
            for route in _ROUTES:
                labels = route.match(method, segments)
                if labels is not None:
                    query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
                    return self._call(route.operation, {**labels, **query, **payload})
            raise _ApiError("UnknownOperationException", f"No operation at {method} {parts.path}", 404)
        except _ApiError as error:
            return _error_response(error)
        except Exception:
            _LOG.exception("failed to answer %s %s", method, target)
            return _error_response(_ApiError("InternalServerException", "The emulator failed to answer."))

    def _call(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        with self._state():
            self.calls[operation] += 1
            self.requests.append((operation, copy.deepcopy(params)))
            fault = self._take_fault(operation)
            delay = self._latency.get(operation, self._latency.get(ANY_OPERATION, 0.0))
            if delay:
                self.delays.append((operation, delay))
        if delay:
            time.sleep(delay)
        if fault is not None:
            raise _ApiError(fault.code, fault.message, fault.status)
        handlers = {CREATE: self._api_create, GET: self._api_get, LIST: self._api_list, STOP: self._api_stop}
        with self._state():
            result = handlers[operation](params)
        return _json_response(result)

    def _api_create(self, params: dict[str, Any]) -> dict[str, Any]:
        _check(params, MODEL.operation_model(CREATE).input_shape, "")
        token = params.get("clientRequestToken")
        digest = _digest({name: value for name, value in params.items() if name != "clientRequestToken"})
        if token in self._tokens:
            job_id, earlier = self._tokens[token]
            if earlier != digest:
                raise _ApiError("ConflictException", "The clientRequestToken was used with different parameters.")
            return {"jobArn": self._arn(job_id)}
        fields = {name: params[name] for name in _CREATE_FIELDS if name in params}
        record = self._new_record(params["jobName"], params["modelId"], None, "Submitted", fields, set())
        self._add(record)
        if token:
            self._tokens[token] = (_job_id(record["jobArn"]), digest)
        return {"jobArn": record["jobArn"]}

    def _api_get(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup(params["jobIdentifier"])
        self._settle(record, self._now())
        answer = _wire(record)
        self._seen([record])
        return answer

    def _api_stop(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup(params["jobIdentifier"])
        self._settle(record, self._now())
        status = record["status"]
        if status in TERMINAL_STATUSES:
            raise _ApiError("ConflictException", f"The job {record['jobArn']} is {status} and cannot be stopped.")
        if status != "Stopping":
            self._set_status(record, "Stopping")
            if self.stop_after_reads == 0:
                self._set_status(record, "Stopped")
            elif self.stop_after_reads is not None:
                self._stop_reads[_job_id(record["jobArn"])] = self.stop_after_reads
        return {}

    def _api_list(self, params: dict[str, Any]) -> dict[str, Any]:
        query, digest = self._list_query(params)
        order = self._order
        low = 0 if query.after is None else bisect.bisect_right(order, query.after, key=itemgetter(0))
        high = len(order) if query.before is None else bisect.bisect_left(order, query.before, key=itemgetter(0))
        if query.cursor is not None and query.ascending:
            low = max(low, bisect.bisect_right(order, query.cursor))
        elif query.cursor is not None:
            high = min(high, bisect.bisect_left(order, query.cursor))
        positions = range(low, high) if query.ascending else range(high - 1, low - 1, -1)
        page: list[dict[str, Any]] = []
        more = False
        now = self._now()
        for job_id in [job_id for job_id, until in self._hidden_until.items() if until <= now]:
            self._hidden.pop(job_id, None)
            self._hidden_until.pop(job_id)
        for position in positions:
            job_id = order[position][1]
            record = self._jobs[job_id]
            self._settle(record, now)
            if (
                job_id in self._hidden
                or (query.status is not None and record["status"] != query.status)
                or (query.name is not None and query.name not in record["jobName"])
            ):
                continue
            if len(page) == query.limit:
                more = True
                break
            page.append(record)
        answer: dict[str, Any] = {"invocationJobSummaries": [_wire(record) for record in page]}
        if more:
            last = page[-1]
            answer["nextToken"] = _encode_token((last["submitTime"], _job_id(last["jobArn"])), digest)
        self._hidden = {job_id: left - 1 for job_id, left in self._hidden.items() if left > 1}
        self._hidden_until = {job_id: until for job_id, until in self._hidden_until.items() if job_id in self._hidden}
        self._seen(page)
        return answer

    def _list_query(self, params: Mapping[str, str]) -> tuple[_ListQuery, str]:
        members = _LIST_INPUT.members

        def timestamp(name: str) -> datetime | None:
            value = params.get(name)
            if value is None:
                return None
            try:
                return _parse_time(value)
            except ValueError:
                raise _invalid(name, value, "Member must be a timestamp in ISO-8601 format") from None

        def text(name: str) -> str | None:
            value = params.get(name)
            if value is not None:
                _check(value, members[name], name)
            return value

        status = params.get("statusEquals")
        known = (*STATUSES, *sorted(self._extra_statuses))
        if status is not None and status not in known:
            raise _invalid("statusEquals", status, f"Member must satisfy enum value set: [{', '.join(known)}]")
        limit = self.default_max_results
        if "maxResults" in params:
            try:
                limit = int(params["maxResults"])
            except ValueError:
                raise _invalid("maxResults", params["maxResults"], "Member must be a number") from None
            _check(limit, members["maxResults"], "maxResults")
        after, before = timestamp("submitTimeAfter"), timestamp("submitTimeBefore")
        name = text("nameContains")
        sort_by = text("sortBy") or "CreationTime"
        sort_order = text("sortOrder") or "Descending"
        digest = _digest(
            [after and after.isoformat(), before and before.isoformat(), status, name, sort_by, sort_order]
        )
        token = text("nextToken")
        cursor = _decode_token(token, digest) if token is not None else None
        return _ListQuery(after, before, status, name, sort_order == "Ascending", limit, cursor), digest

    def _lookup(self, identifier: str) -> dict[str, Any]:
        _check(identifier, MODEL.operation_model(GET).input_shape.members["jobIdentifier"], "jobIdentifier")
        record = self._jobs.get(_job_id(identifier))
        if record is None or ("/" in identifier and identifier != record["jobArn"]):
            raise _ApiError("ResourceNotFoundException", f"Could not find the model invocation job {identifier}.")
        return record

    def _seen(self, records: list[dict[str, Any]]) -> None:
        """A response has shown these jobs: Stopping ones move on toward Stopped."""
        for record in records:
            job_id = _job_id(record["jobArn"])
            if job_id in self._stop_reads and record["status"] == "Stopping":
                self._stop_reads[job_id] -= 1
                if self._stop_reads[job_id] <= 0:
                    self._set_status(record, "Stopped")

    # -- admin API ---------------------------------------------------------------------------------

    def _admin(self, method: str, segments: list[str], payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._admin_route(method, segments, payload)
        except KeyError as error:
            raise _ApiError("ResourceNotFoundException", str(error.args[0]), 404) from None
        except (TypeError, ValueError) as error:
            raise _ApiError("ValidationException", str(error), 400) from None

    def _admin_route(self, method: str, segments: list[str], payload: dict[str, Any]) -> dict[str, Any]:
        match method, segments:
            case "POST", ["jobs", job_id, "status"]:
                message, records = payload.get("message"), payload.get("records")
                if message is not None and not isinstance(message, str):
                    raise ValueError("message must be a string")
                if records is not None and not isinstance(records, dict):
                    raise ValueError("records must be an object")
                progress = payload.get("progress")
                if progress is not None and not isinstance(progress, dict):
                    raise ValueError("progress must be an object")
                arguments = None if progress is None else _progress_arguments(progress)
                if arguments is not None:
                    _fraction(arguments["records_per_hour"], "records per hour")  # refused before anything changes
                self.set_status(job_id, _field(payload, "status", str), message, records)
                if arguments is not None:
                    self.set_progress(job_id, **arguments)
                return _wire(self._locked_record(job_id))
            case "POST", ["jobs", job_id, "progress"]:
                self.set_progress(job_id, **_progress_arguments(payload))
                return _wire(self._locked_record(job_id))
            case "POST", ["jobs", job_id, "stall"]:
                at = payload.get("at")
                self.stall(job_id, None if at is None else _parse_time(_field(payload, "at", str)))
                return _wire(self._locked_record(job_id))
            case "POST", ["jobs", job_id, "expiry"]:
                self.set_expiry(_field(payload, "enabled", bool), job_id)
                return _wire(self._locked_record(job_id))
            case "POST", ["s3"]:
                endpoint = payload.get("endpoint")
                self.set_s3(endpoint=None if endpoint is None else _field(payload, "endpoint", str))
                return {"endpoint": endpoint}
            case "GET", ["jobs", job_id, "manifest"]:
                return dict(self.manifest(job_id))
            case "POST", ["expiry"]:
                self.set_expiry(_field(payload, "enabled", bool))
                return {"enabled": self.expire_jobs}
            case "POST", ["jobs"]:
                fields = dict(payload)
                name = _field(fields, "jobName", str)
                del fields["jobName"]
                options: dict[str, Any] = {}
                if "progress" in fields:
                    progress = fields.pop("progress")
                    if not isinstance(progress, dict):
                        raise ValueError("progress must be an object")
                    arguments = _progress_arguments(progress)
                    if "total" in arguments:
                        fields["totalRecordCount"] = arguments.pop("total")
                    options = {"records_per_hour": arguments.pop("records_per_hour"), **arguments}
                if "expires" in fields:
                    options["expires"] = _field(fields, "expires", bool)
                    del fields["expires"]
                model_id = str(fields.pop("modelId", DEFAULT_MODEL_ID))
                status = str(fields.pop("status", "Submitted"))
                submit = fields.pop("submitTime", None)
                for member in _TIMESTAMP_MEMBERS & set(fields):
                    fields[member] = _parse_time(fields[member])
                submit_time = _parse_time(submit) if submit is not None else None
                arn = self.create_job(name, model_id, submit_time=submit_time, status=status, **options, **fields)
                return {"jobArn": arn}
            case "GET", ["jobs", job_id]:
                return _wire(self._locked_record(job_id))
            case "DELETE", ["jobs", job_id]:
                self.delete_job(job_id)
                return {}
            case "POST", ["jobs", job_id, "hide"]:
                self.hide_from_list(job_id, _field(payload, "listCalls", int))
                return {}
            case "POST", ["faults"]:
                self.fail_next(
                    _field(payload, "operation", str),
                    int(payload.get("count", 1)),
                    str(payload.get("code", "ThrottlingException")),
                    after=int(payload.get("after", 0)),
                    message=payload.get("message"),
                    status=payload.get("httpStatus"),
                )
                return {}
            case "DELETE", ["faults"]:
                self.clear_faults()
                return {}
            case "POST", ["latency"]:
                self.add_latency(_field(payload, "operation", str), float(payload.get("seconds", 0)))
                return {}
            case "POST", ["clock"]:
                if "now" in payload:
                    self.set_now(_parse_time(_field(payload, "now", str)))
                if "advanceSeconds" in payload:
                    self.advance(timedelta(seconds=float(payload["advanceSeconds"])))
                return {"now": _iso(self.now())}
            case "GET", ["clock"]:
                return {"now": _iso(self.now())}
            case "POST", ["complete-stops"]:
                return {"jobArns": self.complete_stops()}
            case "POST", ["reset"]:
                self.reset()
                return {}
            case "GET", ["calls"]:
                with self._state():
                    return {"calls": dict(self.calls)}
        raise _ApiError(
            "UnknownOperationException", f"No admin operation at {method} /_emulator/{'/'.join(segments)}", 404
        )

    def _locked_record(self, job: str) -> dict[str, Any]:
        with self._state():
            record = self._record(job)
            self._settle(record, self._now())
            return dict(record)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], emulator: BedrockEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't hold the second back
    server: _Server

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.emulator._handle_http(self.command, self.path, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s " + format, self.address_string(), *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header on the emulator's clock, as Bedrock's answers carry Bedrock's."""
        return format_datetime(self.server.emulator.now(), usegmt=True)


def _json_response(document: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    return 200, headers, json.dumps(document, separators=(",", ":")).encode()


def _error_response(error: _ApiError) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-ErrorType": error.code,
    }
    return error.status, headers, json.dumps({"message": error.message}).encode()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _encode_token(key: tuple[datetime, str], digest: str) -> str:
    payload = json.dumps([key[0].isoformat(), key[1], digest], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> tuple[datetime, str]:
    try:
        moment, job_id, token_digest = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = (_parse_time(moment), str(job_id))
    except (ValueError, TypeError):
        raise _ApiError("ValidationException", "The provided nextToken is not valid.") from None
    if token_digest != digest:
        raise _ApiError("ValidationException", "The provided nextToken was issued for a different query.")
    return cursor


def _check_operation(operation: str) -> None:
    if operation not in (*OPERATIONS, ANY_OPERATION):
        raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS} or {ANY_OPERATION!r}")


def _check_status(status: str) -> None:
    if not isinstance(status, str) or not status:
        raise ValueError("status must be a non-empty string")


def _record_counts(records: Mapping[str, int]) -> dict[str, int]:
    unknown = set(records) - set(_RECORD_MEMBERS)
    if unknown:
        raise ValueError(f"unknown record counts {sorted(unknown)}; expected {sorted(_RECORD_MEMBERS)}")
    counts = {_RECORD_MEMBERS[name]: value for name, value in records.items()}
    if any(not isinstance(value, int) or isinstance(value, bool) or value < 0 for value in counts.values()):
        raise ValueError("record counts must be non-negative integers")
    return counts


def _field(payload: Mapping[str, Any], name: str, kind: type) -> Any:
    value = payload.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"{name} must be a {kind.__name__}")
    return value


def _s3_client(endpoint: str | None, region: str) -> Any | None:
    if endpoint is None:
        return None
    import boto3  # only where manifests are wanted: the emulator itself needs botocore alone

    # Loopback stand-ins (moto) take any credentials; these keep the caller's own out of it.
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _manifest_location(record: Mapping[str, Any]) -> tuple[str, str]:
    uri = str(((record.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}).get("s3Uri") or "")
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise ValueError(f"the output location {uri!r} is not an s3:// URI")
    bucket, _, prefix = uri[5:].partition("/")
    folder = "/".join(part for part in (prefix.strip("/"), _job_id(record["jobArn"])) if part)
    return bucket, f"{folder}/manifest.json.out"


def _progress_arguments(payload: Mapping[str, Any]) -> dict[str, Any]:
    """set_progress's arguments from the admin API's {"recordsPerHour", "errorShare"?, "total"?, "stallAt"?}."""
    unknown = set(payload) - {"recordsPerHour", "errorShare", "total", "stallAt"}
    if unknown:
        raise ValueError(
            f"unknown progress fields {sorted(unknown)}; expected recordsPerHour, errorShare, total, stallAt"
        )
    arguments: dict[str, Any] = {"records_per_hour": payload.get("recordsPerHour")}
    if "errorShare" in payload:
        arguments["error_share"] = payload["errorShare"]
    if "total" in payload:
        arguments["total"] = payload["total"]
    if "stallAt" in payload:
        arguments["stall_at"] = _parse_time(_field(payload, "stallAt", str))
    return arguments


def _fraction(value: Any, what: str) -> Fraction:
    """A non-negative number as an exact fraction (0.3 is 3/10, not the float nearest it)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a non-negative number, got {value!r}")
    return Fraction(value) if isinstance(value, int) else Fraction(repr(value))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Bedrock batch inference API locally.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050, help="0 picks a free port")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account-id", default="123456789012")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--s3-endpoint", help="write each ended job's manifest.json.out to this S3 (moto) endpoint")
    parser.add_argument(
        "--expire-jobs", action="store_true", help="time jobs out at their jobExpirationTime (off: they never expire)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    # SIGTERM ends the process the way Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    emulator = BedrockEmulator(
        region=args.region, account_id=args.account_id, expire_jobs=args.expire_jobs, s3_endpoint=args.s3_endpoint
    )
    url = emulator.start(args.host, args.port)
    print(f"Bedrock emulator listening on {url} (export AWS_ENDPOINT_URL_BEDROCK={url}); Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
