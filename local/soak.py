"""`make soak`: thousands of Bedrock batch jobs over a simulated week, with faults at every boundary, then checks.

The real functions run as the stack deploys them: ``notifier.poller.handler`` and ``notifier.slack.handler``,
each in worker processes of its own (local.soak_worker) with the environment the stack gives it, talking over
loopback HTTP to moto server (DynamoDB, SNS, SQS, Secrets Manager), the Bedrock emulator and the Slack stand-in.
Every worker reaches them through a fault proxy of its own, which answers some calls with an error (throttling,
5xx, a write applied but its answer lost, a rejected nextToken, a stale Get), delays some, and can SIGKILL the
worker just before a chosen call. Bedrock's own faults (throttling, 5xx, a transient 404, listing lag) are the
emulator's. Overlapping and concurrent poller runs, Lambda timeouts (the worker kills itself at its deadline),
SQS redelivery and Slack's 429 / 5xx / permanent errors are played by the harness.

Time moves only when the harness says, so that a seed gives the same run, and the same table, on a fast machine
and on a loaded one. The harness's clock (also the emulator's) stands still while functions run and moves on to
each poll, each Bedrock event and the end of each invocation. A worker's clock starts each invocation at the
harness's time and moves only by what the function sleeps and by each call's simulated latency, which the proxy
draws from the seed; its Lambda deadline is on that clock. Calls of invocations that run together go through one
at a time in simulated-time order (Turnstile), so overlapping runs interleave the same way every time.

SNS delivers to the Slack queue (raw delivery off) and to a queue standing in for email. The harness plays
Lambda's SQS event source for the Slack queue on the simulated clock: batches of the stack's batch size, a
visibility timeout of six times the function's timeout (or what the function set), receive counts, and the DLQ
after the stack's maxReceiveCount.

At the end it prints a table of checks and exits non-zero if one fails:
every observable transition reached SNS; every final status reached Slack and email exactly once; the DLQ holds
only the permanent-error cases; every bad input (events the poller must reject, messages that are not notices) was
refused with nothing sent for it; email never above 10 a second; no state regressed; Bedrock calls per idle poll
did not grow.

    python -m local.soak [--jobs 2000] [--days 7] [--seed 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

import infra
from infra import constants as stack
from infra.config import NotifierConfig
from infra.poller import poller_environment
from infra.slack_delivery import slack_environment
from local.bedrock_emulator import GET, LIST, TERMINAL_STATUSES, BedrockEmulator
from local.sandbox_cloud import (
    ACCOUNT_ID,
    REGION,
    Resources,
    Servers,
    client_environment,
    create_resources,
    scoped_environ,
    start_servers,
)
from local.slack_standin import DEFAULT_CHANNEL
from local.soak_worker import CLOCK_HEADER, ELAPSED_HEADER
from notifier.core.observability import METRICS_NAMESPACE
from notifier.core.settings import BY_ENV, BY_KEY, SERVICE_NAME, SLACK_API_URL

UNKNOWN_FINAL_STATUS = "Cancelled"  # a status a newer API could add: published, never terminal to this version
FINAL_STATUSES = TERMINAL_STATUSES | {UNKNOWN_FINAL_STATUS}
RANK = {"Submitted": 0, "Validating": 1, "Scheduled": 2, "InProgress": 3, "Stopping": 4}
OBSERVABLE_HOLD = timedelta(hours=1)  # a notified status held this long must be seen, faults or not
EMAIL_LIMIT_PER_SECOND = 10  # SNS suspends an email subscription above this
SETTLE_IDLE_POLLS = 12  # quiet polls at the end: the "end of the week" sample of idle-poll cost
# The end sample waits until every job has been over this long: a job that ended in a status this version does not
# know is still read for an hour after (until it has settled), as any job still running is.
SETTLE_AFTER_LAST_CHANGE = timedelta(hours=2)
SETTLE_MAX = timedelta(days=3)
FAULT_ROUND_SHARE = 0.3  # share of rounds with faults; the first rounds and the settling have none
CALM_START_ROUNDS = 3
PERMANENT_SLACK_ERROR = "invalid_blocks"  # Slack refuses this job's messages, whatever the retry
POISON_SHARE = 0.01
BASELINE_SHARE = 0.03
UNKNOWN_SHARE = 0.01
BURST_SHARE = 0.1
BAD_INPUT_EVERY = 20  # rounds between two bad inputs (each kind in turn), outside the calm start and the settling
# The simulated seconds one call takes, by service (a draw in this range per call; slow-call faults add to it).
SERVICE_LATENCY = {
    "bedrock": (0.05, 0.2),
    "dynamodb": (0.005, 0.02),
    "sns": (0.02, 0.06),
    "sqs": (0.01, 0.03),
    "secrets": (0.02, 0.05),
    "slack": (0.1, 0.3),
}


# -- the simulated clock ------------------------------------------------------------------------------------------


class SimClock:
    """Simulated UTC time, the harness's and the Bedrock emulator's: it stands still until the harness moves it."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = start.timestamp()

    def timestamp(self) -> float:
        with self._lock:
            return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance_to(self, moment: datetime | float) -> None:
        """Moves on to `moment`; never back."""
        target = moment.timestamp() if isinstance(moment, datetime) else moment
        with self._lock:
            self._now = max(self._now, target)


class Turnstile:
    """One call at a time, in simulated-time order, among the invocations that run together.

    Each worker is one thread of calls (its pools run serially): it is either computing, waiting here with its
    next call, or done. A call goes through only when every running invocation is waiting here or done, and it is
    the one with the earliest simulated time (the slot's name breaks ties). So concurrent invocations interleave
    the same way every run, however fast each process happens to be on this machine."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._running: set[str] = set()
        self._waiting: dict[str, float] = {}
        self._serving: str | None = None

    def begin(self, names: list[str]) -> None:
        with self._condition:
            self._running.update(names)

    def end(self, name: str) -> None:
        with self._condition:
            self._running.discard(name)
            self._waiting.pop(name, None)
            self._condition.notify_all()

    def _due(self, name: str) -> bool:
        if self._serving is not None or not self._running <= self._waiting.keys():
            return False
        return min(self._waiting, key=lambda other: (self._waiting[other], other)) == name

    @contextmanager
    def turn(self, name: str, at: float) -> Iterator[None]:
        with self._condition:
            self._waiting[name] = at
            self._condition.notify_all()
            self._condition.wait_for(lambda: self._due(name))
            del self._waiting[name]
            self._serving = name
        try:
            yield
        finally:
            with self._condition:
                self._serving = None
                self._condition.notify_all()


# -- the fault proxy -----------------------------------------------------------------------------------------------


@dataclass
class SlotFaults:
    """What one worker's proxy does during one invocation."""

    kill_at: int | None = None  # SIGKILL the worker just before its n-th call
    latency: float = 0.0  # real seconds added to every call
    dynamodb_throttle: float = 0.0  # chance per DynamoDB call
    dynamodb_lost_answer: float = 0.0  # chance per DynamoDB write: applied, then answered 500
    sns_error: float = 0.0  # chance per SNS publish: 500 or throttling, nothing published
    secrets_error: float = 0.0
    stale_get: float = 0.0  # chance per Get: the job's previous status, without lastModifiedTime
    reject_next_token: bool = False
    slack_permanent: float = 0.0  # chance per Slack call: a one-off permanent error
    kind: str = ""  # the Slack fault dealt to this invocation


@dataclass
class CallRecord:
    service: str
    operation: str
    ok: bool
    transition_ids: list[str] = field(default_factory=list)


class Slot:
    """A worker's own route to the local servers, with its faults and what it saw."""

    def __init__(self, name: str, soak: Soak) -> None:
        self.name = name
        self.soak = soak
        self.pid: int | None = None
        self.faults = SlotFaults()
        self.invocation = 0
        self.calls = 0
        self.bedrock_calls = 0
        self.last: CallRecord | None = None
        self.unrecorded: CallRecord | None = None  # the latest message SNS or Slack took, not yet followed by a write
        self.published = 0  # messages SNS accepted in this invocation
        self.now = 0.0  # the simulated time of the worker's latest call
        self.ended_at = 0.0  # the simulated time its latest invocation ended
        self.killed = False
        self.server = _ProxyServer(("127.0.0.1", 0), _proxy_handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name=f"proxy-{name}", daemon=True).start()

    def begin(self, faults: SlotFaults) -> None:
        self.faults = faults
        self.invocation += 1
        self.calls = 0
        self.bedrock_calls = 0
        self.last = None
        self.unrecorded = None
        self.killed = False
        self.published = 0

    def latency(self, service: str) -> float:
        """The simulated seconds this call takes: a draw from the service's usual range."""
        low, high = SERVICE_LATENCY[service]
        return random.Random(f"{self.soak.options.seed}:{self.name}:{self.invocation}:{self.calls}:latency").uniform(
            low, high
        )

    def chance(self, kind: str, probability: float) -> bool:
        if probability <= 0:
            return False
        rng = random.Random(f"{self.soak.options.seed}:{self.name}:{self.invocation}:{self.calls}:{kind}")
        return rng.random() < probability

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _ProxyServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the worker was killed while its call was answered
        super().handle_error(request, client_address)


_local = threading.local()


def _forward(target: str, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, bytes]:
    """The request to the real local server, on a kept-alive connection of this thread."""
    connections: dict[str, http.client.HTTPConnection] = _local.__dict__.setdefault("connections", {})
    for attempt in (1, 2):
        connection = connections.get(target)
        if connection is None:
            parts = urllib.parse.urlsplit(target)
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
            connections[target] = connection
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        except (http.client.HTTPException, OSError):
            connection.close()
            connections.pop(target, None)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _service(path: str, headers: dict[str, str]) -> str:
    if path.startswith(_BEDROCK_PATH):
        return "bedrock"
    if path.startswith("/api/"):
        return "slack"
    target = headers.get("X-Amz-Target", "") or headers.get("x-amz-target", "")
    for prefix, service in (("DynamoDB_", "dynamodb"), ("AmazonSQS.", "sqs"), ("secretsmanager.", "secrets")):
        if target.startswith(prefix):
            return service
    return "sns"


def _dynamodb_error(code: str, status: int) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "soak fault"}).encode()
    return status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": str(uuid.uuid4())}, body


def _query_error(code: str, status: int) -> tuple[int, dict[str, str], bytes]:
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>soak fault</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    ).encode()
    return status, {"Content-Type": "text/xml"}, body


def _json_error(code: str, status: int) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"__type": code, "message": "soak fault"}).encode()
    return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body


def _published_transition_ids(form: dict[str, list[str]]) -> list[str]:
    ids = []
    for name, values in form.items():
        if name == "Message" or (name.startswith("PublishBatchRequestEntries.member.") and name.endswith(".Message")):
            try:
                ids.append(str(json.loads(json.loads(values[0])["default"])["transitionId"]))
            except (ValueError, KeyError, TypeError):
                continue
    return ids


def _slack_payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
        return payload if isinstance(payload, dict) else {}
    except ValueError:
        form = {name: values[0] for name, values in urllib.parse.parse_qs(body.decode(errors="replace")).items()}
        if isinstance(form.get("metadata"), str):
            with contextlib.suppress(ValueError):
                form["metadata"] = json.loads(form["metadata"])
        return form


def _proxy_handler(slot: Slot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
            answer = slot.soak.route(slot, self.command, self.path, headers, body)
            if answer is None:  # the worker was killed: no answer, as from a process that is gone
                self.close_connection = True
                return
            status, response_headers, payload = answer
            self.send_response(status)
            for name, value in response_headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET
        do_PUT = do_GET
        do_DELETE = do_GET

    return Handler


# -- the Slack queue, as Lambda's SQS event source sees it ---------------------------------------------------------


@dataclass
class QueuedMessage:
    message_id: str
    body: str
    sent_at: float
    receive_count: int = 0
    visible_at: float = 0.0
    receipt: str = ""
    copy_of: str | None = None


class SlackQueue:
    """The Slack queue's visibility, receive counts and DLQ on the simulated clock."""

    def __init__(self, visibility_seconds: int, max_receive_count: int) -> None:
        self.visibility_seconds = visibility_seconds
        self.max_receive_count = max_receive_count
        self.messages: list[QueuedMessage] = []
        self.by_receipt: dict[str, QueuedMessage] = {}
        self.dead: list[QueuedMessage] = []
        self.lock = threading.Lock()
        self.redelivered = 0

    def add(self, message: QueuedMessage) -> None:
        with self.lock:
            self.messages.append(message)

    def receive(self, now: float, limit: int, exclude: set[str]) -> list[QueuedMessage]:
        """One receive: visible messages, at most one copy of each message id; exhausted ones go to the DLQ."""
        batch: list[QueuedMessage] = []
        with self.lock:
            for message in list(self.messages):
                if len(batch) == limit:
                    break
                if message.visible_at > now or message.message_id in exclude:
                    continue
                if message.receive_count >= self.max_receive_count:
                    self.messages.remove(message)
                    self.dead.append(message)
                    continue
                message.receive_count += 1
                message.visible_at = now + self.visibility_seconds
                message.receipt = f"{message.message_id}#{uuid.uuid4().hex}"
                self.by_receipt[message.receipt] = message
                exclude.add(message.message_id)
                batch.append(message)
        return batch

    def delete(self, message: QueuedMessage) -> None:
        with self.lock:
            if message in self.messages:
                self.messages.remove(message)
            self.by_receipt.pop(message.receipt, None)

    def change_visibility(self, receipt: str, seconds: float, now: float) -> bool:
        with self.lock:
            message = self.by_receipt.get(receipt)
            if message is None or message not in self.messages:
                return False
            message.visible_at = now + seconds
            return True

    def next_visible(self) -> float | None:
        with self.lock:
            return min((m.visible_at for m in self.messages), default=None)


# -- worker processes ------------------------------------------------------------------------------------------------


class Worker:
    """One Lambda execution environment: a process running one handler; killed, it starts cold next time."""

    def __init__(self, slot: Slot, function: str, env: dict[str, str], log_path: Path) -> None:
        self.slot = slot
        self.function = function
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.replies: Any = None
        self.cold_starts = 0
        self.deaths = 0

    def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        env = {**self.env, "SOAK_REPLY_FD": str(write_fd), "SOAK_WORKER_LOG": str(self.log_path)}
        self.process = subprocess.Popen(  # noqa: S603  our own module, our own interpreter
            [sys.executable, "-m", "local.soak_worker", self.function],
            stdin=subprocess.PIPE,
            env=env,
            cwd=str(infra.REPO_ROOT),
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd, "r")
        ready = self.replies.readline()
        if not ready:
            raise RuntimeError(f"the {self.function} worker did not start; see {self.log_path}")
        self.slot.pid = self.process.pid
        self.cold_starts += 1

    def invoke(self, event: dict[str, Any], sim_now: float, timeout: float, seed: str) -> dict[str, Any]:
        """The handler's answer, or {"killed": True} when the process died (crash or timeout)."""
        if self.process is None:
            self._spawn()
        assert self.process is not None
        assert self.process.stdin is not None
        line = json.dumps(
            {
                "event": event,
                "simNow": sim_now,
                "timeoutSeconds": timeout,
                "seed": seed,
                "requestId": str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4)),
            }
        )
        try:
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()
            answer = self.replies.readline()
        except (BrokenPipeError, OSError):
            answer = ""
        if answer:
            return dict(json.loads(answer))
        self.process.wait()
        self.replies.close()
        self.process = None
        self.slot.pid = None
        self.deaths += 1
        return {"killed": True}

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.replies.close()
            self.process = None


# -- the jobs of the week --------------------------------------------------------------------------------------------


@dataclass
class JobPlan:
    name: str
    submit: datetime
    path: list[tuple[datetime, str]]  # (when, status) after Submitted
    baseline: bool = False
    poison: bool = False
    arn: str = ""
    history: list[tuple[datetime, str]] = field(default_factory=list)  # what Bedrock showed, as applied

    @property
    def final(self) -> str:
        return self.path[-1][1] if self.path else "Submitted"


def plan_jobs(rng: random.Random, count: int, start: datetime, days: float) -> list[JobPlan]:
    span = days * 86400
    burst_at = rng.uniform(0.2, 0.6) * span
    latest_end = start + timedelta(seconds=span) + timedelta(hours=2)

    def chosen(share: float) -> set[int]:
        return set(rng.sample(range(count), k=min(count, max(1, round(count * share)))))

    # Each kind of job is there at least once, however short the run.
    baselines, poisoned, unknown = chosen(BASELINE_SHARE), chosen(POISON_SHARE), chosen(UNKNOWN_SHARE)
    plans = []
    for index in range(count):
        baseline = index in baselines
        if baseline:
            submit = start - timedelta(hours=rng.uniform(1, 72))
        elif rng.random() < BURST_SHARE:
            submit = start + timedelta(seconds=burst_at + rng.uniform(0, 120))
        else:
            submit = start + timedelta(seconds=rng.uniform(600, span))
        steps: list[tuple[str, float, float]] = [("Validating", 30, 300)]
        if rng.random() < 0.05:
            steps.append(("Failed", 60, 600))
        else:
            steps += [("Scheduled", 60, 600), ("InProgress", 60, 3600)]
            low, high = (86400, 3 * 86400) if rng.random() < 0.02 else (600, 8 * 3600)
            ending = rng.random()
            if ending < 0.70:
                steps.append(("Completed", low, high))
            elif ending < 0.80:
                steps.append(("PartiallyCompleted", low, high))
            elif ending < 0.88:
                steps.append(("Failed", low, high))
            elif ending < 0.93:
                steps += [("Stopping", low, high), ("Stopped", 60, 600)]
            else:
                steps.append(("Expired", low, high))
        if index in unknown:
            steps[-1] = (UNKNOWN_FINAL_STATUS, *steps[-1][1:])
        at = submit
        path: list[tuple[datetime, str]] = []
        for status, shortest, longest in steps:
            at = min(at + timedelta(seconds=rng.uniform(shortest, longest)), latest_end)
            path.append((at, status))
        poison = not baseline and index in poisoned
        plans.append(JobPlan(f"soak-{index:05d}", submit, path, baseline=baseline, poison=poison))
    return plans


def _records(status: str, rng: random.Random) -> dict[str, int] | None:
    if status not in TERMINAL_STATUSES:
        return None
    total = rng.randint(1, 5000)
    errors = 0 if status == "Completed" else rng.randint(0, total)
    return {"total": total, "processed": total, "success": total - errors, "error": errors}


# -- the run ---------------------------------------------------------------------------------------------------------


@dataclass
class SoakOptions:
    jobs: int = 2000
    days: float = 7.0
    seed: int = 1
    out: Any = None  # a text stream for progress lines, or None
    logs: Path | None = None  # where the functions' logs are kept (default: a temporary directory)


@dataclass
class PollRecord:
    at: datetime
    bedrock_calls: int
    idle: bool
    settling: bool


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class SoakResult:
    options: SoakOptions
    checks: list[Check]
    faults: Counter[str]
    figures: dict[str, Any]

    def check(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


CHECK_SNS = "every observable transition reached SNS"
CHECK_EMAIL = "every final status reached email exactly once"
CHECK_SLACK = "every final status reached Slack exactly once"
CHECK_DLQ = "the DLQ holds only the permanent-error cases"
CHECK_EMAIL_RATE = "email never above 10 a second"
CHECK_REGRESSION = "state never regressed"
CHECK_IDLE_COST = "Bedrock calls per idle poll did not grow"
CHECK_BAD_INPUTS = "every bad input was refused, nothing sent for it"
CHECKS = (
    CHECK_SNS,
    CHECK_EMAIL,
    CHECK_SLACK,
    CHECK_DLQ,
    CHECK_EMAIL_RATE,
    CHECK_REGRESSION,
    CHECK_IDLE_COST,
    CHECK_BAD_INPUTS,
)


# The bad inputs the soak tries, each kind in turn (BAD_INPUT_EVERY).
BAD_OTHER_EVENT = "an EventBridge event of another kind (S3 Object Created)"
BAD_FOREIGN_JOB = "a state-change event naming another account's job"
BAD_MALFORMED_ARN = "a state-change event whose job ARN is malformed"
BAD_MISSING_JOB = "a state-change event naming a job Bedrock does not have"
BAD_QUEUED_BATCH = "a fast-path SQS batch with one record that is not JSON"
BAD_NOT_NOTICE = "a Slack queue message whose SNS Message is not a notifier document"
BAD_NOT_JSON = "a Slack queue message whose body is not JSON"
BAD_INPUTS = (
    BAD_OTHER_EVENT,
    BAD_NOT_NOTICE,
    BAD_FOREIGN_JOB,
    BAD_MALFORMED_ARN,
    BAD_NOT_JSON,
    BAD_MISSING_JOB,
    BAD_QUEUED_BATCH,
)
BAD_SLACK_INPUTS = (BAD_NOT_NOTICE, BAD_NOT_JSON)


@dataclass
class BadInput:
    kind: str
    refused: bool = False
    result: str = ""


_X_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_MESSAGE_ID = re.compile(r"<MessageId>([^<]+)</MessageId>")
_BEDROCK_PATH = "/model-invocation-job"


class Soak:
    def __init__(self, options: SoakOptions, servers: Servers, resources: Resources, workdir: Path) -> None:
        self.options = options
        self.servers = servers
        self.resources = resources
        self.workdir = workdir
        self.rng = random.Random(options.seed)
        self.clock = clock_of(servers.bedrock)
        self.config = NotifierConfig.from_mapping({"slack": True})
        self.queue = SlackQueue(
            self.config.slack_timeout_seconds * stack.SLACK_VISIBILITY_FACTOR, stack.SLACK_MAX_RECEIVE_COUNT
        )
        self.sqs = boto3.client("sqs")
        self.faults: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.turnstile = Turnstile()
        self.email_seconds: dict[str, int] = {}  # SNS message id -> simulated second it was published
        self.allowed_email_duplicates: Counter[str] = Counter()  # transition ids: killed right after publishing
        self.allowed_slack_duplicates: Counter[str] = Counter()  # transition ids: killed right after posting
        self.permanent_hits: set[str] = set()  # transition ids Slack refused once
        self.emails: list[dict[str, Any]] = []
        self.polls: list[PollRecord] = []
        self.poller_failures: Counter[str] = Counter()
        self.slack_outage: tuple[float, float, int] | None = None  # (from, to, HTTP status) on the simulated clock
        self.invocations = Counter[str]()
        self.slots = {name: Slot(name, self) for name in ("poller-a", "poller-b", "poller-c", "slack-a", "slack-b")}
        self.workers = {
            name: Worker(
                slot, "poller" if name.startswith("poller") else "slack", self._env(slot), workdir / f"{name}.log"
            )
            for name, slot in self.slots.items()
        }
        self.plans: list[JobPlan] = []
        self.by_arn: dict[str, JobPlan] = {}
        self.events: list[tuple[datetime, int, JobPlan, str]] = []
        self.first_poll_at: datetime | None = None
        self.last_change_at = datetime.min.replace(tzinfo=UTC)  # the latest status Bedrock showed
        self.poison: list[JobPlan] = []
        self.visibility_changes = 0
        self.requests: Counter[tuple[str, str]] = Counter()
        self.fault_log: list[tuple[float, str]] = []
        self.round_deck: list[str] = []
        self.bad_inputs: list[BadInput] = []
        self.bad_slack_markers: dict[str, BadInput] = {}
        self.bad_sent: set[str] = set()  # markers of bad inputs that reached Slack
        self.slack_extra_counts: dict[str, str] = {}
        self.first_posts: Counter[tuple[str, str]] = Counter()  # (job, status) posted as the job's parent message
        self.slack_deck: list[str] = []

    # -- environment -------------------------------------------------------------------------------------------------

    def _env(self, slot: Slot) -> dict[str, str]:
        function = "poller" if slot.name.startswith("poller") else "slack"
        client = {k: v for k, v in client_environment(self.servers).items() if v is not None}
        client.update({"AWS_ENDPOINT_URL": slot.url, "AWS_ENDPOINT_URL_BEDROCK": slot.url})
        if function == "poller":
            own = poller_environment(self.config, table_name=self.resources.table, topic_arn=self.resources.topic_arn)
            service = stack.POLLER_SERVICE
        else:
            own = slack_environment(self.config, secret_arn=self.resources.secret_arn, table_name=self.resources.table)
            own[str(SLACK_API_URL.env)] = f"{slot.url}/api/"
            service = stack.SLACK_SERVICE
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join((str(infra.FUNCTIONS_DIR), str(infra.REPO_ROOT))),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",  # the same set order every run, so the same calls in the same order
            "AWS_LAMBDA_FUNCTION_NAME": f"soak-{function}",
            "SOAK_ACCOUNT_ID": ACCOUNT_ID,
            str(SERVICE_NAME.env): service,
            str(BY_KEY["logLevel"].env): self.config.log_level,
            str(BY_ENV["POWERTOOLS_METRICS_NAMESPACE"].env): METRICS_NAMESPACE,
            **client,
            **own,
        }

    # -- the proxy's routing and faults --------------------------------------------------------------------------

    def route(
        self, slot: Slot, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, bytes] | None:
        """One call of a worker, in its turn: the answer with the simulated time it took, or None (killed)."""
        stamp = next((name for name in headers if name.lower() == CLOCK_HEADER.lower()), None)
        at = float(headers.pop(stamp)) if stamp else self.clock.timestamp()
        with self.turnstile.turn(slot.name, at):
            slot.now = at
            answer = self._route(slot, method, path, headers, body)
            if answer is None:
                return None
            elapsed = slot.latency(_service(path, headers)) + slot.faults.latency
        status, response_headers, payload = answer
        items = list(response_headers.items() if isinstance(response_headers, dict) else response_headers)
        return status, [*items, (ELAPSED_HEADER, repr(elapsed))], payload

    def _route(
        self, slot: Slot, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, bytes] | None:
        slot.calls += 1
        faults = slot.faults
        with self.lock:
            self.requests[
                (slot.name[:6], path[:22] if not headers.get("X-Amz-Target") else headers["X-Amz-Target"])
            ] += 1
        if faults.kill_at is not None and slot.calls == faults.kill_at and slot.pid is not None:
            self._count("SIGKILL of a worker before its next call")
            slot.killed = True
            os.kill(slot.pid, signal.SIGKILL)
            return None
        if path.startswith(_BEDROCK_PATH):
            return self._bedrock(slot, method, path, headers, body)
        if path.startswith("/api/"):
            return self._slack(slot, path, headers, body)
        target = headers.get("X-Amz-Target", "") or headers.get("x-amz-target", "")
        if target.startswith("DynamoDB_"):
            return self._dynamodb(slot, target.split(".", 1)[1], method, path, headers, body)
        if target.startswith("AmazonSQS."):
            return self._sqs(slot, target.split(".", 1)[1], method, path, headers, body)
        if target.startswith("secretsmanager."):
            if slot.chance("secrets", faults.secrets_error):
                self._count(SECRETS_FAULT)
                return _json_error("InternalServiceError", 500)
            return _forward(self.servers.moto_url, method, path, headers, body)
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        action = form.get("Action", [""])[0]
        return self._sns(slot, action, form, method, path, headers, body)

    def _bedrock(self, slot: Slot, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        slot.bedrock_calls += 1
        faults = slot.faults
        is_list = path.startswith("/model-invocation-jobs")
        if is_list and faults.reject_next_token and "nextToken=" in path:
            self._count("Bedrock nextToken rejected (ValidationException)")
            return (
                400,
                {"x-amzn-ErrorType": "ValidationException"},
                b'{"message":"The provided nextToken is not valid."}',
            )
        status, response_headers, payload = _forward(self.servers.bedrock.url, method, path, headers, body)
        error = dict(response_headers).get("x-amzn-ErrorType")
        if error:
            self._count(f"Bedrock {LIST if is_list else GET} {error}")
        elif not is_list and method == "GET" and slot.chance("stale", faults.stale_get):
            payload = self._stale(payload) or payload
        return status, response_headers, payload

    def _stale(self, payload: bytes) -> bytes | None:
        job = json.loads(payload)
        plan = self.by_arn.get(job.get("jobArn", ""))
        if plan is None or len(plan.history) < 2 or plan.history[-1][1] != job.get("status"):
            return None
        self._count("Bedrock Get answered an older status without lastModifiedTime")
        job["status"] = plan.history[-2][1]
        for name in ("lastModifiedTime", "endTime"):
            job.pop(name, None)
        return json.dumps(job).encode()

    def _dynamodb(
        self, slot: Slot, operation: str, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Any:
        faults = slot.faults
        if slot.chance("ddb-throttle", faults.dynamodb_throttle):
            self._count("DynamoDB throttling")
            return _dynamodb_error("ProvisionedThroughputExceededException", 400)
        answer = _forward(self.servers.moto_url, method, path, headers, body)
        if answer[0] == 400 and b"ConditionalCheckFailed" in answer[2]:
            self._count("DynamoDB conditional write refused (observed: overlap or a retried write)")
        writes = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
        if operation in writes and answer[0] == 200 and slot.chance("ddb-lost", faults.dynamodb_lost_answer):
            self._count(LOST_ANSWER_FAULT)
            slot.last = CallRecord("dynamodb", operation, False)
            return _dynamodb_error("InternalServerError", 500)
        slot.last = CallRecord("dynamodb", operation, answer[0] == 200)
        if operation in writes and answer[0] == 200:
            slot.unrecorded = None
        return answer

    def _sqs(self, slot: Slot, operation: str, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        # The Slack queue lives on the simulated clock here; other queues are moto's own.
        if operation in ("ChangeMessageVisibility", "ChangeMessageVisibilityBatch"):
            request = json.loads(body or b"{}")
            entries = request.get("Entries") or [request]
            now = slot.now
            results = [
                (entry.get("Id"), self.queue.change_visibility(entry["ReceiptHandle"], entry["VisibilityTimeout"], now))
                for entry in entries
            ]
            if all(known for _, known in results):
                with self.lock:
                    self.visibility_changes += len(results)
                reply: dict[str, Any] = {}
                if operation.endswith("Batch"):
                    reply = {"Successful": [{"Id": entry_id} for entry_id, _ in results], "Failed": []}
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(reply).encode()
        return _forward(self.servers.moto_url, method, path, headers, body)

    def _sns(
        self,
        slot: Slot,
        action: str,
        form: dict[str, list[str]],
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Any:
        publishing = action in ("Publish", "PublishBatch")
        if publishing and slot.chance("sns", slot.faults.sns_error):
            throttled = slot.chance("sns-kind", 0.5)
            self._count("SNS throttling" if throttled else "SNS 5xx")
            return _query_error("Throttling", 400) if throttled else _query_error("InternalError", 500)
        answer = _forward(self.servers.moto_url, method, path, headers, body)
        if publishing and answer[0] == 200:
            second = _signed_second(headers)
            ids = _MESSAGE_ID.findall(answer[2].decode(errors="replace"))
            with self.lock:
                for message_id in ids:
                    self.email_seconds[message_id] = second
            slot.last = slot.unrecorded = CallRecord("sns", action, True, _published_transition_ids(form))
            slot.published += len(ids)
        else:
            slot.last = CallRecord("sns", action, answer[0] == 200)
        return answer

    def _slack(self, slot: Slot, path: str, headers: dict[str, str], body: bytes) -> Any:
        payload = _slack_payload(body)
        text = body.decode(errors="replace")
        metadata = payload.get("metadata")
        event_payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
        transition_id = str(event_payload.get("transitionId") or "") if isinstance(event_payload, dict) else ""
        slot.last = CallRecord("slack", path, False)
        for marker in self.bad_slack_markers:
            if marker in text:
                with self.lock:
                    self.bad_sent.add(marker)
        if any(plan.name in text for plan in self.poison):
            self._count(f"Slack permanent error ({PERMANENT_SLACK_ERROR}) for a refused job")
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps({"ok": False, "error": PERMANENT_SLACK_ERROR}).encode(),
            )
        outage = self.slack_outage
        if outage is not None and outage[0] <= slot.now < outage[1]:
            if outage[2] == 429:
                self._count("Slack 429")
                retry_after = str(min(30, max(1, int(outage[1] - slot.now))))
                return (
                    429,
                    {"Retry-After": retry_after, "Content-Type": "application/json"},
                    b'{"ok":false,"error":"ratelimited"}',
                )
            self._count("Slack 5xx")
            return 503, {"Content-Type": "text/plain"}, b"upstream connect error"
        if (
            transition_id
            and path.endswith("chat.postMessage")
            and slot.chance("slack-permanent", slot.faults.slack_permanent)
        ):
            self._count(PERMANENT_ONCE_FAULT)
            with self.lock:
                self.permanent_hits.add(transition_id)
            return 200, {"Content-Type": "application/json"}, b'{"ok":false,"error":"channel_not_found"}'
        answer = _forward(self.servers.slack.base_url, "POST", path, headers, body)
        try:
            ok = bool(json.loads(answer[2]).get("ok"))
        except ValueError:
            ok = False
        posted = path.endswith("chat.postMessage") and ok
        slot.last = CallRecord("slack", path, posted, [transition_id] if posted and transition_id else [])
        if posted:
            slot.unrecorded = slot.last
            if not payload.get("thread_ts") and isinstance(event_payload, dict):
                # A job's first notice is its parent message alone (bot mode): that status is shown there.
                with self.lock:
                    self.first_posts[(str(event_payload.get("jobArn", "")), str(event_payload.get("status", "")))] += 1
        return answer

    def _count(self, kind: str, n: int = 1) -> None:
        with self.lock:
            self.faults[kind] += n
            self.fault_log.append((self.clock.timestamp(), kind))

    # -- the world -------------------------------------------------------------------------------------------------

    def build_world(self, start: datetime) -> None:
        emulator = self.servers.bedrock
        self.plans = plan_jobs(self.rng, self.options.jobs, start, self.options.days)
        self.poison = [plan for plan in self.plans if plan.poison]
        for plan in self.plans:
            if plan.baseline:
                # Submitted before the deploy: its statuses until now are in place before the first poll.
                done = [(when, status) for when, status in plan.path if when <= start]
                status = done[-1][1] if done else "Submitted"
                plan.arn = emulator.create_job(plan.name, submit_time=plan.submit, status="Submitted")
                self.by_arn[plan.arn] = plan
                plan.history.append((plan.submit, "Submitted"))
                if done:
                    emulator.set_status(plan.arn, status, records=_records(status, self.rng))
                    if status == UNKNOWN_FINAL_STATUS:
                        emulator.overwrite_job(plan.arn, endTime=self.clock.now())
                    plan.history.append((done[-1][0], status))
                rest = [(when, s) for when, s in plan.path if when > start]
            else:
                self.events.append((plan.submit, 0, plan, "Submitted"))
                rest = plan.path
            for order, (when, status) in enumerate(rest, start=1):
                self.events.append((when, order, plan, status))
        self.events.sort(key=lambda event: (event[0], event[2].name, event[1]))

    def apply_events(self, until: datetime) -> int:
        emulator = self.servers.bedrock
        applied = 0
        while self.events and self.events[0][0] <= until:
            when, _, plan, status = self.events.pop(0)
            self.clock.advance_to(when)
            if status == "Submitted":
                plan.arn = emulator.create_job(plan.name)
                self.by_arn[plan.arn] = plan
            else:
                message = "Validation failed: the input file has malformed records." if status == "Failed" else None
                emulator.set_status(plan.arn, status, message=message, records=_records(status, self.rng))
                if status == UNKNOWN_FINAL_STATUS:
                    # Bedrock stamps endTime on every status a job ends in; the emulator does so only for the
                    # statuses of its model, so the soak stamps it for the one a newer API could add.
                    emulator.overwrite_job(plan.arn, endTime=self.clock.now())
            plan.history.append((self.clock.now(), status))
            self.last_change_at = self.clock.now()
            applied += 1
        return applied

    # -- faults of a round -------------------------------------------------------------------------------------------

    def plan_round(self, index: int, settling: bool) -> tuple[dict[str, SlotFaults], dict[str, Any]]:
        """Which faults this round has; the emulator's are set here, the proxies' are returned."""
        emulator = self.servers.bedrock
        emulator.clear_faults()
        poller = SlotFaults()
        extras: dict[str, Any] = {"overlap": 0, "timeout": None, "faulty": False}
        if settling or index < CALM_START_ROUNDS or self.rng.random() >= FAULT_ROUND_SHARE:
            return {"poller": poller}, extras
        extras["faulty"] = True
        rng = self.rng
        extras["kinds"] = self._deal(self.round_deck, ROUND_FAULTS, rng.choice((1, 1, 2, 3)))
        for kind in extras["kinds"]:
            if kind == "bedrock-throttle":
                emulator.fail_next(rng.choice((LIST, GET, "*")), rng.randint(1, 8), "ThrottlingException")
            elif kind == "bedrock-5xx":
                emulator.fail_next(rng.choice((LIST, GET, "*")), rng.randint(1, 3), "InternalServerException")
            elif kind == "bedrock-404":
                emulator.fail_next(GET, rng.randint(1, 2), "ResourceNotFoundException")
            elif kind == "bedrock-list-error":
                emulator.fail_next(LIST, 1, "ValidationException", after=1)
            elif kind == "listing-lag":
                visible = [plan for plan in self.plans if plan.arn and plan.history[-1][1] not in FINAL_STATUSES]
                # Bedrock's listing lag is a time, shorter than the overlap the notifier promises to cover: a job
                # hidden within the overlap of its submission shows again before the overlap has passed, however
                # often it is hidden; an older one (seen and followed by then) only for a number of listings.
                overlap = timedelta(minutes=BY_ENV["OVERLAP_MINUTES"].default)
                for plan in rng.sample(visible, k=min(len(visible), rng.randint(1, 5))):
                    recent = plan.submit >= emulator.now() - overlap
                    until = plan.submit + overlap - timedelta(minutes=1) if recent else None
                    emulator.hide_from_list(plan.arn, rng.randint(1, 4), until=until)
                    self._count("Bedrock listing lag (job hidden from listings)")
            elif kind == "next-token":
                poller.reject_next_token = True
            elif kind == "stale-get":
                poller.stale_get = 0.5
            elif kind == "dynamodb-throttle":
                poller.dynamodb_throttle = 0.15
            elif kind == "dynamodb-lost-answer":
                poller.dynamodb_lost_answer = 0.1
            elif kind == "sns-error":
                poller.sns_error = 0.5
            elif kind == "poller-kill":
                poller.kill_at = rng.randint(1, 10)
            elif kind == "poller-timeout":
                extras["timeout"] = self.config.timeout_reserve_seconds + rng.uniform(0.5, 5)
                poller.latency = rng.uniform(0.1, 0.5)
            elif kind == "overlap":
                extras["overlap"] = rng.randint(1, 2)
            elif kind == "slack-429":
                start = self.clock.timestamp()
                self.slack_outage = (start, start + rng.uniform(30, 180), 429)
            elif kind == "slack-5xx":
                start = self.clock.timestamp()
                self.slack_outage = (start, start + rng.uniform(60, 1800), 503)
        return {"poller": poller}, extras

    def slack_faults(self, settling: bool) -> tuple[SlotFaults, float]:
        """One Slack invocation's faults and timeout."""
        faults = SlotFaults()
        timeout = float(self.config.slack_timeout_seconds)
        if settling or self.rng.random() >= FAULT_ROUND_SHARE:
            return faults, timeout
        (kind,) = self._deal(self.slack_deck, SLACK_FAULTS, 1)
        faults.kind = kind
        if kind == "kill":
            faults.kill_at = self.rng.randint(1, 20)
        elif kind == "timeout":
            timeout = self.rng.uniform(0.5, 3.0)
            faults.latency = self.rng.uniform(0.2, 1.0)
            self._count("Slack function timeout (slow Slack, short time left)")
        elif kind == "dynamodb-throttle":
            faults.dynamodb_throttle = 0.15
        elif kind == "dynamodb-lost-answer":
            faults.dynamodb_lost_answer = 0.1
        elif kind == "secrets":
            faults.secrets_error = 0.5
        elif kind == "permanent":
            faults.slack_permanent = 0.2
        return faults, timeout

    def _deal(self, deck: list[str], kinds: tuple[str, ...], count: int) -> list[str]:
        """The next kinds from a shuffled deck of every kind, so a short run still gets each one."""
        dealt: list[str] = []
        while len(dealt) < count:
            if not deck:
                deck.extend(self.rng.sample(kinds, k=len(kinds)))
            kind = deck.pop()
            if kind not in dealt:
                dealt.append(kind)
        return dealt

    # -- bad inputs ------------------------------------------------------------------------------------------------

    def try_bad_input(self, number: int) -> None:
        """One input the functions must refuse, each kind in turn: to the poller as Lambda would hand it over, or
        into the Slack queue as SNS would deliver it. What became of it is checked at the end."""
        kind = BAD_INPUTS[number % len(BAD_INPUTS)]
        bad = BadInput(kind)
        self.bad_inputs.append(bad)
        at = self.clock.now()
        if kind in BAD_SLACK_INPUTS:
            marker = f"soak-bad-input-{number}"
            if kind == BAD_NOT_JSON:
                body = f"{marker}: not a JSON document"
            else:
                body = json.dumps(
                    {
                        "Type": "Notification",
                        "MessageId": marker,
                        "TopicArn": self.resources.topic_arn,
                        "Message": json.dumps({"hello": marker}),
                        "Timestamp": at.isoformat(),
                    }
                )
            self.bad_slack_markers[marker] = bad
            message_id = str(uuid.UUID(int=random.Random(marker).getrandbits(128), version=4))
            self.queue.add(QueuedMessage(message_id, body, self.clock.timestamp()))
            return
        self.servers.bedrock.clear_faults()  # the round's are spent; this invocation is judged on its input alone
        real = next((plan for plan in self.plans if plan.arn), None)
        foreign = f"arn:aws:bedrock:{REGION}:210987654321:model-invocation-job/abcdefghijkl"
        missing = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/{number:012d}"
        expected_failures: list[str] = []
        if kind == BAD_OTHER_EVENT:
            event = {**scheduled_event(at), "detail-type": "Object Created", "source": "aws.s3"}
        elif kind == BAD_FOREIGN_JOB:
            event = _arn_event(foreign, at)
        elif kind == BAD_MALFORMED_ARN:
            event = _arn_event(f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-invocation-job/NOT-A-JOB", at)
        elif kind == BAD_MISSING_JOB:
            event = _arn_event(missing, at)
        else:  # a queued batch: one record not JSON beside a good one
            good = _arn_event(real.arn if real else missing, at)
            queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:soak-state-changes"
            records = [
                QueuedMessage("bad-0", "{not json", at.timestamp()),
                QueuedMessage("good-1", json.dumps(good), 0),
            ]
            event = {"Records": [sqs_record(record, queue_arn) for record in records]}
            expected_failures = ["bad-0"]
        ((result, slot),) = self._invoke_together(
            [("poller-b", event, SlotFaults(), float(self.config.poller_timeout_seconds))]
        )
        failures = sorted(f["itemIdentifier"] for f in (result.get("result") or {}).get("batchItemFailures", []))
        if kind == BAD_MISSING_JOB:
            bad.refused = bool(result.get("ok")) and slot.published == 0
            bad.result = "read once (not found), nothing recorded or published"
        elif kind == BAD_QUEUED_BATCH:
            bad.refused = bool(result.get("ok")) and failures == expected_failures
            bad.result = "that record alone handed back to the queue; the good one done"
        else:
            error = str(result.get("error", ""))
            bad.refused = not result.get("ok") and error.startswith("InvalidEvent") and slot.bedrock_calls == 0
            bad.refused = bad.refused and slot.published == 0
            bad.result = "rejected (InvalidEvent), no Bedrock call, nothing published"

    # -- one round -------------------------------------------------------------------------------------------------

    def poll_round(self, index: int, at: datetime, settling: bool, changed: int) -> None:
        before = {fired: self.faults[fired] for names in DEALT_AGAIN_UNTIL_FIRED.values() for fired in names}
        slot_faults, extras = self.plan_round(index, settling)
        timeout = extras["timeout"] or float(self.config.poller_timeout_seconds)
        if extras["timeout"] is not None:
            self._count("poller Lambda timeout (short time left, slow calls)")
        runs: list[tuple[str, dict[str, Any], SlotFaults, float]] = [
            ("poller-a", scheduled_event(at), slot_faults["poller"], timeout)
        ]
        if extras["overlap"]:
            self._count("overlapping poller invocations", extras["overlap"])
            recent = [
                plan
                for plan in self.plans
                if plan.arn and plan.history and plan.history[-1][0] > at - timedelta(minutes=30)
            ]
            for slot_name in ("poller-b", "poller-c")[: extras["overlap"]]:
                if recent and self.rng.random() < 0.7:
                    event = state_change_event(self.rng.choice(recent), at)
                else:
                    event = scheduled_event(at)
                runs.append((slot_name, event, SlotFaults(), float(self.config.poller_timeout_seconds)))
        concurrent = len(runs) > 1
        results = self._invoke_together(runs)
        main_result, main_slot = results[0]
        if self.first_poll_at is None and main_result.get("ok"):
            self.first_poll_at = at
        summary = main_result.get("result") or {}
        idle = (
            not extras["faulty"]
            and not concurrent
            and changed == 0
            and bool(main_result.get("ok"))
            and not summary.get("transitions")
            and not summary.get("published")
        )
        self.polls.append(PollRecord(at, main_slot.bedrock_calls, idle, settling))
        for kind in extras.get("kinds", ()):
            if kind in DEALT_AGAIN_UNTIL_FIRED and not any(
                self.faults[fired] > before.get(fired, 0) for fired in DEALT_AGAIN_UNTIL_FIRED[kind]
            ):
                self.round_deck.append(kind)  # dealt again in the next faulty round

    def _invoke_together(
        self, runs: list[tuple[str, dict[str, Any], SlotFaults, float]]
    ) -> list[tuple[dict[str, Any], Slot]]:
        """Invocations that start at the same simulated moment; the clock then moves to the last one's end."""
        self.turnstile.begin([run[0] for run in runs])
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            results = list(pool.map(lambda run: self._invoke(*run), runs))
        self.clock.advance_to(max(slot.ended_at for _, slot in results))
        return results

    def _invoke(
        self, slot_name: str, event: dict[str, Any], faults: SlotFaults, timeout: float
    ) -> tuple[dict[str, Any], Slot]:
        slot = self.slots[slot_name]
        worker = self.workers[slot_name]
        slot.begin(faults)
        with self.lock:
            self.invocations[worker.function] += 1
        started = self.clock.timestamp()
        try:
            result = worker.invoke(event, started, timeout, f"{self.options.seed}:{slot_name}:{slot.invocation}")
        finally:
            self.turnstile.end(slot_name)
        if "simEnd" in result:
            slot.ended_at = float(result["simEnd"])
        else:  # died: at its last call when killed there, else at its deadline
            slot.ended_at = slot.now if slot.killed else started + timeout
        if result.get("killed"):
            self._note_death(slot)
        elif not result.get("ok"):
            with self.lock:
                self.poller_failures[str(result.get("error", ""))[:80]] += 1
        return result, slot

    def _note_death(self, slot: Slot) -> None:
        """A kill after SNS or Slack took a message and before a write recorded it: no design can tell this from a
        lost answer, so one repeat of that message is owed (only the latest one: each must be recorded as it goes)."""
        last = slot.unrecorded
        if last is None or not last.transition_ids:
            return
        target = self.allowed_email_duplicates if last.service == "sns" else self.allowed_slack_duplicates
        with self.lock:
            target.update(last.transition_ids)

    def pump_slack(self, settling: bool, published: bool) -> None:
        """Lambda's SQS event source: receive batches while messages are visible, two invocations at a time."""
        if published:
            self._drain_into_queue()
        while True:
            now = self.clock.timestamp()
            taken: set[str] = set()
            batches = [
                self.queue.receive(now, stack.SLACK_BATCH_SIZE, taken) for _ in range(stack.SLACK_MAX_CONCURRENCY)
            ]
            batches = [batch for batch in batches if batch]
            if not batches:
                return
            runs = [
                (slot, batch, *self.slack_faults(settling))
                for slot, batch in zip(("slack-a", "slack-b"), batches, strict=False)
            ]
            before = Counter({name: self.faults[name] for names in SLACK_DEALT_AGAIN.values() for name in names})
            self.turnstile.begin([run[0] for run in runs])
            with ThreadPoolExecutor(max_workers=len(runs)) as pool:
                redeliver = list(pool.map(lambda run: self._slack_batch(*run), runs))
            self.clock.advance_to(max(self.slots[run[0]].ended_at for run in runs))
            for kind in sorted({run[2].kind for run in runs} & SLACK_DEALT_AGAIN.keys()):
                if not any(self.faults[name] > before[name] for name in SLACK_DEALT_AGAIN[kind]):
                    self.slack_deck.append(kind)  # e.g. the secret was cached: dealt again until it fires
            for delivered in redeliver:
                for message in delivered:
                    if not settling and self.rng.random() < 0.03:
                        # At-least-once: SQS hands the same message out again.
                        self._count("SQS redelivery of a delivered message")
                        copy = QueuedMessage(
                            message.message_id, message.body, message.sent_at, copy_of=message.message_id
                        )
                        copy.visible_at = self.clock.timestamp()
                        self.queue.add(copy)

    def _slack_batch(
        self, slot_name: str, batch: list[QueuedMessage], faults: SlotFaults, timeout: float
    ) -> list[QueuedMessage]:
        """One invocation; returns the messages it delivered (first copies only)."""
        event = {"Records": [sqs_record(message, self.resources.slack_queue_arn) for message in batch]}
        result, _ = self._invoke(slot_name, event, faults, timeout)
        if not result.get("ok"):
            return []  # the whole batch comes back after its visibility timeout
        failed = {item["itemIdentifier"] for item in (result.get("result") or {}).get("batchItemFailures", [])}
        delivered = []
        for message in batch:
            if message.message_id in failed:
                continue
            self.queue.delete(message)
            if message.copy_of is None:
                delivered.append(message)
        return delivered

    def _drain_into_queue(self) -> None:
        for message in _drain(self.sqs, self.resources.slack_queue_url):
            self.queue.add(QueuedMessage(message["MessageId"], message["Body"], self.clock.timestamp()))

    def drain_email(self) -> None:
        for message in _drain(self.sqs, self.resources.observer_queue_url):
            envelope = json.loads(message["Body"])
            document = json.loads(envelope["Message"])
            self.emails.append({"messageId": envelope["MessageId"], "document": document})

    # -- the run -----------------------------------------------------------------------------------------------------

    def run(self) -> SoakResult:
        start = self.clock.now().replace(microsecond=0)
        self.build_world(start)
        schedule = timedelta(minutes=self.config.schedule_minutes)
        end_of_week = start + timedelta(days=self.options.days)
        index = 0
        settle_from: datetime | None = None
        quiet = 0
        at = start
        while True:
            settling = at >= end_of_week
            if settling and settle_from is None:
                settle_from = at
                self.slack_outage = None
                self.servers.bedrock.clear_faults()
            changed = self.apply_events(at)
            self.clock.advance_to(at)
            published_before = len(self.email_seconds)
            self.poll_round(index, at, settling, changed)
            if not settling and index >= CALM_START_ROUNDS and index % BAD_INPUT_EVERY == 0:
                self.try_bad_input(index // BAD_INPUT_EVERY)
            published = len(self.email_seconds) != published_before
            self.pump_slack(settling, published)
            if published:
                self.drain_email()
            if settling:
                calm = not self.events and at - self.last_change_at >= SETTLE_AFTER_LAST_CHANGE
                quiet = quiet + 1 if calm and self.polls[-1].idle and not self.queue.messages else 0
                if quiet >= SETTLE_IDLE_POLLS or at - (settle_from or at) >= SETTLE_MAX:
                    break
            if index % 288 == 0:
                self._progress(
                    f"day {index // 288}: {len(self.emails)} notices so far, faults {sum(self.faults.values())}"
                )
            index += 1
            at = start + schedule * index
            # Skip ahead through quiet hours: nothing changes and the Slack queue has nothing visible.
            self.clock.advance_to(at)
        self.drain_email()
        return self.evaluate(start, end_of_week)

    def _progress(self, line: str) -> None:
        if self.options.out is not None:
            print(f"  {line}", file=self.options.out, flush=True)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        for slot in self.slots.values():
            slot.stop()

    def trace(self, arn: str) -> str:
        """A failing job's story: its statuses on Bedrock and the faults injected while it ran."""
        plan = self.by_arn[arn]
        begin, end = plan.history[0][0].timestamp() - 600, plan.history[-1][0].timestamp() + 3600
        faults = Counter(kind for moment, kind in self.fault_log if begin <= moment <= end)
        statuses = ", ".join(f"{status}@{when:%d %H:%M}" for when, status in plan.history)
        return f"{plan.name} ({arn}): {statuses}; faults meanwhile: {dict(faults)}"

    # -- the checks --------------------------------------------------------------------------------------------------

    def evaluate(self, start: datetime, end_of_week: datetime) -> SoakResult:
        assert self.first_poll_at is not None, "no poll ever succeeded"
        first = self.first_poll_at
        documents = [
            item["document"]
            for item in self.emails
            if "kind" not in item["document"] or item["document"].get("kind") == "transition"
        ]
        published: Counter[tuple[str, str]] = Counter((d["jobArn"], d["status"]) for d in documents)
        notify = set(self.config.notify_statuses) | {UNKNOWN_FINAL_STATUS}
        expected: set[tuple[str, str]] = set()
        finals: dict[str, str] = {}
        for plan in self.plans:
            history = plan.history
            for position, (entered, status) in enumerate(history):
                if entered <= first or status not in notify:
                    continue
                left = history[position + 1][0] if position + 1 < len(history) else None
                if status in FINAL_STATUSES or (left is not None and left - entered >= OBSERVABLE_HOLD):
                    expected.add((plan.arn, status))
            if history[-1][1] in FINAL_STATUSES and history[-1][0] > first:
                finals[plan.arn] = history[-1][1]
        checks: list[Check] = []

        missing = sorted(expected - set(published))
        checks.append(
            Check(
                CHECK_SNS,
                not missing,
                f"{len(expected)} expected, {len(missing)} missing" + _examples(missing, self.by_arn),
            )
        )

        tid_of: dict[tuple[str, str], set[str]] = defaultdict(set)
        for d in documents:
            tid_of[(d["jobArn"], d["status"])].add(d["transitionId"])

        def owed(key: tuple[str, str], allowed: Counter[str]) -> int:
            return sum(allowed[tid] for tid in tid_of.get(key, ()))

        email_missing = [arn for arn, status in finals.items() if published.get((arn, status), 0) == 0]
        email_extra = [
            arn
            for arn, status in finals.items()
            if published.get((arn, status), 0) > 1 + owed((arn, status), self.allowed_email_duplicates)
        ]
        owed_email = sum(max(0, published.get((arn, s), 0) - 1) for arn, s in finals.items()) - sum(
            max(0, published.get((arn, s), 0) - 1) for arn, s in finals.items() if arn in email_extra
        )
        checks.append(
            Check(
                CHECK_EMAIL,
                not email_missing and not email_extra,
                f"{len(finals)} final statuses, {len(email_missing)} missing, {len(email_extra)} duplicated"
                f" ({owed_email} repeats owed to a kill right after publishing)"
                + _examples([(a, finals[a]) for a in email_missing + email_extra], self.by_arn),
            )
        )

        stored = self.servers.slack.stored_messages(DEFAULT_CHANNEL)
        parents: Counter[str] = Counter()
        replies: Counter[tuple[str, str]] = Counter()
        for message in stored:
            payload = (message.metadata or {}).get("event_payload") or {}
            arn = str(payload.get("jobArn", ""))
            # A parent shows the job's first notice (counted as first posts, as it was posted); a reply each later one.
            if message.thread_ts is None:
                parents[arn] += 1
            else:
                replies[(arn, str(payload.get("status", "")))] += 1
        poison_arns = {plan.arn for plan in self.poison}
        dead_bodies = [m.body for m in self.queue.dead] + [
            m["Body"] for m in _drain(self.sqs, self.resources.slack_dlq_url)
        ]
        dead_ids: set[str] = set()
        dead_bad: set[str] = set()  # markers of the bad inputs found there
        for number, body in enumerate(dead_bodies):
            marker = next((marker for marker in self.bad_slack_markers if marker in body), None)
            if marker is not None:
                dead_bad.add(marker)
                continue
            try:
                dead_ids.add(str(json.loads(json.loads(body)["Message"])["transitionId"]))
            except (ValueError, KeyError, TypeError):
                dead_ids.add(f"unreadable dead letter {number}")
        poison_ids = {d["transitionId"] for d in documents if d["jobArn"] in poison_arns}
        refused_once = self.permanent_hits & dead_ids  # Slack refused them for good once: in the DLQ, not in Slack
        slack_missing, slack_extra, slack_refused = [], [], []
        for arn, status in finals.items():
            if arn in poison_arns:
                continue
            count = replies.get((arn, status), 0) + self.first_posts.get((arn, status), 0)
            allowance = owed((arn, status), self.allowed_slack_duplicates)
            if count == 0 and tid_of.get((arn, status), set()) & refused_once:
                slack_refused.append(arn)
            elif count == 0:
                slack_missing.append(arn)
            elif count > 1 + allowance or parents.get(arn, 0) > 1 + allowance:
                slack_extra.append(arn)
                self.slack_extra_counts[arn] = (
                    f"replies {replies.get((arn, status), 0)}, first posts {self.first_posts.get((arn, status), 0)}, "
                    f"parents {parents.get(arn, 0)}, owed {allowance}"
                )
        checks.append(
            Check(
                CHECK_SLACK,
                not slack_missing and not slack_extra,
                f"{len(finals) - len(poison_arns & set(finals))} final statuses, {len(slack_missing)} missing, "
                f"{len(slack_extra)} duplicated (thread reply or parent), "
                f"{len(slack_refused)} refused once by Slack for good and in the DLQ"
                + _examples([(a, finals[a]) for a in slack_missing + slack_extra], self.by_arn),
            )
        )

        unexplained = dead_ids - poison_ids - self.permanent_hits
        poison_missing = poison_ids - dead_ids
        checks.append(
            Check(
                CHECK_DLQ,
                not unexplained and not poison_missing,
                f"{len(dead_ids)} in the DLQ, {len(poison_ids)} refused by Slack for good, {len(unexplained)} unexplained, "
                f"{len(poison_missing)} refused ones not in the DLQ (and {len(dead_bad)} bad inputs)",
            )
        )

        for marker, bad in self.bad_slack_markers.items():
            bad.refused = marker in dead_bad and marker not in self.bad_sent
            bad.result = "moved to the DLQ at once (permanent), nothing posted"
        tried: Counter[str] = Counter(bad.kind for bad in self.bad_inputs)
        not_refused = [bad.kind for bad in self.bad_inputs if not bad.refused]
        checks.append(
            Check(
                CHECK_BAD_INPUTS,
                bool(self.bad_inputs) and not not_refused,
                f"{len(self.bad_inputs)} tried, {len(tried)} kinds, {len(not_refused)} not refused"
                + (f"; e.g. {not_refused[0]}" if not_refused else ""),
            )
        )

        per_second = Counter(
            self.email_seconds[item["messageId"]] for item in self.emails if item["messageId"] in self.email_seconds
        )
        unknown_time = sum(1 for item in self.emails if item["messageId"] not in self.email_seconds)
        peak = max(per_second.values(), default=0)
        over = sum(1 for count in per_second.values() if count > EMAIL_LIMIT_PER_SECOND)
        checks.append(
            Check(
                CHECK_EMAIL_RATE,
                peak <= EMAIL_LIMIT_PER_SECOND and unknown_time == 0,
                f"peak {peak} in one simulated second, {over} seconds above {EMAIL_LIMIT_PER_SECOND}"
                + (f", {unknown_time} emails of unknown time" if unknown_time else ""),
            )
        )

        regressions = []
        seen_rank: dict[str, int] = {}
        for d in documents:
            rank = RANK.get(d["status"], 5)
            previous = d.get("previousStatus")
            if (previous is not None and RANK.get(previous, 5) > rank) or rank < seen_rank.get(d["jobArn"], -1):
                regressions.append((d["jobArn"], f"{previous} -> {d['status']}"))
            seen_rank[d["jobArn"]] = max(rank, seen_rank.get(d["jobArn"], -1))
        checks.append(
            Check(
                CHECK_REGRESSION,
                not regressions,
                f"{len(documents)} notices, {len(regressions)} going backwards" + _examples(regressions, self.by_arn),
            )
        )

        day = timedelta(days=1)
        window = min(day, (self.polls[-1].at - first) / 3)  # the start and the end never overlap
        early = [p.bedrock_calls for p in self.polls if p.idle and first < p.at <= first + window]
        late = [p.bedrock_calls for p in self.polls[-SETTLE_IDLE_POLLS:] if p.idle and p.settling]
        early_mean = statistics.fmean(early) if early else None
        late_mean = statistics.fmean(late) if late else None
        grew = early_mean is None or late_mean is None or late_mean > early_mean
        checks.append(
            Check(
                CHECK_IDLE_COST,
                not grew,
                f"start {_mean(early_mean)} calls over {len(early)} idle polls (most {max(early, default=0)}), "
                f"end {_mean(late_mean)} over the last {len(late)}, every job over for "
                f"{SETTLE_AFTER_LAST_CHANGE.total_seconds() / 3600:g} h (most {max(late, default=0)})",
            )
        )

        duplicates = sum(count - 1 for count in published.values() if count > 1)
        failing = [arn for arn, _ in missing] + email_missing + email_extra + slack_missing + slack_extra
        failing += [arn for arn, _ in regressions]
        traces = [
            self.trace(arn) + (f"; Slack: {self.slack_extra_counts[arn]}" if arn in self.slack_extra_counts else "")
            for arn in dict.fromkeys(failing)
        ][:8]
        figures = {
            "jobs": len(self.plans),
            "polls": len(self.polls),
            "invocations": dict(self.invocations),
            "coldStarts": {name: worker.cold_starts for name, worker in self.workers.items()},
            "notices": len(documents),
            "transitionsChecked": len(expected),
            "finalStatuses": len(finals),
            "lost": len(missing),
            "emailDuplicates": duplicates,
            "emailRepeatsOwedToKills": sum(self.allowed_email_duplicates.values()),
            "slackReplies": sum(replies.values()),
            "slackParents": sum(parents.values()),
            "dlq": len(dead_ids),
            "visibilityChanges": self.visibility_changes,
            "pollerErrors": dict(self.poller_failures.most_common(8)),
            "requests": {f"{k[0]} {k[1]}": v for k, v in self.requests.most_common(30)},
            "traces": traces,
            "simulatedDays": round((self.polls[-1].at - start) / day, 2),
            "badInputs": {
                kind: {
                    "tried": count,
                    "refused": sum(1 for bad in self.bad_inputs if bad.kind == kind and bad.refused),
                    "result": next(bad.result for bad in self.bad_inputs if bad.kind == kind),
                }
                for kind, count in tried.items()
            },
        }
        return SoakResult(self.options, checks, Counter(self.faults), figures)


ROUND_FAULTS = (
    "bedrock-throttle",
    "bedrock-5xx",
    "bedrock-404",
    "bedrock-list-error",
    "listing-lag",
    "next-token",
    "stale-get",
    "dynamodb-throttle",
    "dynamodb-lost-answer",
    "sns-error",
    "poller-kill",
    "poller-timeout",
    "overlap",
    "slack-429",
    "slack-5xx",
)
SECRETS_FAULT = "Secrets Manager 5xx"
LOST_ANSWER_FAULT = "DynamoDB write applied, answer lost (500)"
PERMANENT_ONCE_FAULT = "Slack permanent error, once (channel_not_found)"
# Round faults that only fire when the round does what they break (a publish, a Get of a job that moved on): dealt
# again until they have fired, so that a short run has them too.
DEALT_AGAIN_UNTIL_FIRED = {
    "sns-error": ("SNS throttling", "SNS 5xx"),
    "stale-get": ("Bedrock Get answered an older status without lastModifiedTime",),
    "dynamodb-lost-answer": (LOST_ANSWER_FAULT,),
    "poller-kill": ("SIGKILL of a worker before its next call",),  # an idle poll makes only a few calls
}
SLACK_DEALT_AGAIN = {  # Slack faults that fire only on a call the invocation may not make: dealt again until fired
    "secrets": (SECRETS_FAULT,),
    "dynamodb-lost-answer": (LOST_ANSWER_FAULT,),
    "permanent": (PERMANENT_ONCE_FAULT,),
}
SLACK_FAULTS = ("kill", "timeout", "dynamodb-throttle", "dynamodb-lost-answer", "secrets", "permanent")


def _signed_second(headers: dict[str, str]) -> int:
    """The simulated second a request was signed in: the worker's clock, as SigV4 stamps it."""
    stamp = headers.get("X-Amz-Date") or headers.get("x-amz-date") or ""
    if not _X_AMZ_DATE.match(stamp):
        return -1
    return int(datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp())


def _drain(sqs: Any, url: str) -> Iterator[dict[str, Any]]:
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return
        yield from messages
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def _examples(items: list[Any], by_arn: dict[str, JobPlan]) -> str:
    if not items:
        return ""
    shown = []
    for item in items[:3]:
        arn, what = item if isinstance(item, tuple) else (item, "")
        plan = by_arn.get(arn)
        shown.append(f"{plan.name if plan else arn} {what}".strip())
    return "; e.g. " + ", ".join(shown)


def _mean(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def clock_of(emulator: BedrockEmulator) -> SimClock:
    clock = getattr(emulator, "soak_clock", None)
    if not isinstance(clock, SimClock):
        raise RuntimeError("the emulator was not built on a soak clock")
    return clock


def scheduled_event(moment: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/bedrock-batch-notifier-poll"],
        "detail": {},
    }


def _arn_event(job_arn: str, moment: datetime) -> dict[str, Any]:
    """A Bedrock state-change event naming this ARN."""
    return {
        "version": "0",
        "id": str(uuid.UUID(int=random.Random(job_arn + moment.isoformat()).getrandbits(128), version=4)),
        "detail-type": stack.JOB_STATE_CHANGE_DETAIL_TYPE,
        "source": "aws.bedrock",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [job_arn],
        "detail": {"batchJobArn": job_arn, "batchJobName": "soak-bad-input", "status": "Completed"},
    }


def state_change_event(plan: JobPlan, moment: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": stack.JOB_STATE_CHANGE_DETAIL_TYPE,
        "source": "aws.bedrock",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [plan.arn],
        "detail": {"batchJobArn": plan.arn, "batchJobName": plan.name, "status": plan.history[-1][1]},
    }


def sqs_record(message: QueuedMessage, queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateFirstReceiveTimestamp": str(int(message.sent_at * 1000)),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@contextmanager
def soak_cloud(seed: int) -> Iterator[tuple[Servers, Resources, SimClock]]:
    """moto, the emulator on a simulated clock and the Slack stand-in, with the stack's resources."""
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC) + timedelta(days=seed % 7)
    clock = SimClock(start)
    emulator = BedrockEmulator(clock=clock.now, stop_after_reads=None, seed=seed)
    emulator.soak_clock = clock  # type: ignore[attr-defined]
    servers = start_servers(emulator)
    try:
        with scoped_environ(client_environment(servers)):
            yield servers, create_resources(), clock
    finally:
        servers.stop()


def run_soak(options: SoakOptions) -> SoakResult:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    with soak_cloud(options.seed) as (servers, resources, _), tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        logs = options.logs or Path(workdir)
        logs.mkdir(parents=True, exist_ok=True)
        soak = Soak(options, servers, resources, logs)
        try:
            return soak.run()
        finally:
            soak.stop()


def render(result: SoakResult) -> str:
    lines = [
        f"Soak: {result.options.jobs} jobs over {result.options.days:g} simulated days, seed {result.options.seed}",
        "",
    ]
    width = max(len(name) for name in CHECKS)
    lines.append(f"  {'check':<{width}}  result  detail")
    for check in result.checks:
        lines.append(f"  {check.name:<{width}}  {'ok' if check.passed else 'FAIL':<6}  {check.detail}")
    lines += ["", "  faults injected (fired):"]
    for kind, count in sorted(result.faults.items()):
        lines.append(f"    {count:>6}  {kind}")
    lines += ["", "  bad inputs tried (refused / tried: what became of them):"]
    for kind, bad in result.figures.get("badInputs", {}).items():
        lines.append(f"    {bad['refused']:>3} / {bad['tried']:<3} {kind}: {bad['result']}")
    figures = {name: value for name, value in result.figures.items() if name not in ("traces", "badInputs")}
    lines += ["", "  figures: " + json.dumps(figures, sort_keys=True)]
    if result.figures.get("traces"):
        lines += ["", "  failing jobs:", *(f"    {trace}" for trace in result.figures["traces"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Soak the notifier: jobs over a simulated week with faults, then checks."
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--logs", type=Path, help="keep the functions' logs in this directory")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.days <= 0:
        parser.error("--jobs must be at least 1 and --days above 0")
    result = run_soak(SoakOptions(jobs=args.jobs, days=args.days, seed=args.seed, out=sys.stdout, logs=args.logs))
    print(render(result))
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"  CPU: harness and servers {own.ru_utime + own.ru_stime:.0f} s, functions {children.ru_utime + children.ru_stime:.0f} s"
    )
    if args.json:
        document = {
            "checks": [vars(check) for check in result.checks],
            "faults": dict(result.faults),
            "figures": result.figures,
        }
        args.json.write_text(json.dumps(document, indent=2))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
