"""One Lambda execution environment of the soak (local.soak): a process that runs one handler, invocation by invocation.

The soak starts it with the environment the stack gives the function, sends it invocations as JSON lines on
stdin and reads one JSON line back per invocation on a private pipe (the function's own logs go to a file).
Killing the process is a crash or a Lambda timeout; the next invocation starts a new one, cold.

Time here moves only when the soak says, so that a seed gives the same run on a fast machine and on a loaded one.
Each invocation carries the simulated time it starts at; from there the process's clock (``time``, ``datetime``,
the Lambda context's remaining time) stands still while the function computes and moves on only:
  - by what the function sleeps (pacing, backoff, a token bucket's wait): ``time.sleep`` returns at once;
  - by how long each HTTP call took, which the soak's proxy says in a response header (the call's simulated
    latency). A call that took longer than the socket timeout the function set raises a timeout, as a real one
    would, after the request reached the server; real sockets never time out on their own.
Crossing the invocation's deadline kills the process there, as Lambda does, even mid-call. Every request carries
this clock in a header, so the proxy can put the calls of concurrent invocations in simulated-time order.
The function's thread pools run their tasks one after another, in order, and each invocation seeds ``random``
(the jitter of retries and redelivery delays), so its calls come in the same order, at the same moments, every
run. The clock is put in place before anything else is imported, as a test clock library would do.

    python -m local.soak_worker poller|slack  (stdin: invocations; fd given in SOAK_REPLY_FD: replies)
"""

from __future__ import annotations

import concurrent.futures
import datetime as _datetime
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
import time as _time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_real_time = _time.time
_RealDatetime = _datetime.datetime
CLOCK_HEADER = "X-Soak-Clock"  # on each request: this process's simulated wall time
ELAPSED_HEADER = "X-Soak-Elapsed"  # on each answer: how long the call took, in simulated seconds
REAL_TIMEOUT_FLOOR = 300.0  # real seconds: a socket never times out before this (the simulated timeout decides)


class SimulatedClock:
    """Wall time set by each invocation; a monotonic time that never goes back; both move only when advanced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wall_base = _real_time()
        self._elapsed = 0.0  # simulated seconds since the invocation started
        self._mono_base = 0.0
        self.deadline: float | None = None  # on the monotonic clock

    def wall(self) -> float:
        with self._lock:
            return self._wall_base + self._elapsed

    def monotonic(self) -> float:
        with self._lock:
            return self._mono_base + self._elapsed

    def start_invocation(self, wall: float, timeout: float) -> None:
        with self._lock:
            self._mono_base += self._elapsed
            self._elapsed = 0.0
            self._wall_base = wall
        self.deadline = self.monotonic() + timeout

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._elapsed += seconds
        self.check_deadline()

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def check_deadline(self) -> None:
        """Lambda ends the process at its timeout, whatever it is doing."""
        if self.deadline is not None and self.monotonic() >= self.deadline:
            os.kill(os.getpid(), signal.SIGKILL)


CLOCK = SimulatedClock()


class _DatetimeMeta(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _RealDatetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _RealDatetime)


class SimulatedDatetime(_RealDatetime, metaclass=_DatetimeMeta):
    """datetime whose now() reads the simulated clock."""

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
        return _RealDatetime.fromtimestamp(CLOCK.wall(), tz)

    @classmethod
    def utcnow(cls) -> Any:
        return _RealDatetime.fromtimestamp(CLOCK.wall(), _datetime.UTC).replace(tzinfo=None)


_requested_timeouts: weakref.WeakKeyDictionary[socket.socket, float | None] = weakref.WeakKeyDictionary()
_real_settimeout = socket.socket.settimeout
_real_endheaders = http.client.HTTPConnection.endheaders
_real_getresponse = http.client.HTTPConnection.getresponse


def _settimeout(self: socket.socket, value: float | None) -> None:
    """Keeps the timeout the function asked for, for the simulated clock; the real socket waits much longer."""
    _requested_timeouts[self] = value
    _real_settimeout(self, None if value is None else max(value, REAL_TIMEOUT_FLOOR))


def _endheaders(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> None:
    self.putheader(CLOCK_HEADER, repr(CLOCK.wall()))
    _real_endheaders(self, *args, **kwargs)


def _getresponse(self: http.client.HTTPConnection) -> http.client.HTTPResponse:
    """The answer, after the simulated time the call took; a timeout when that is longer than the socket's."""
    timeout = _requested_timeouts.get(self.sock) if self.sock is not None else None
    response = _real_getresponse(self)
    elapsed = float(response.getheader(ELAPSED_HEADER) or 0)
    if timeout is not None and elapsed > timeout:
        CLOCK.advance(timeout)
        response.close()
        self.close()
        raise TimeoutError("timed out")
    CLOCK.advance(elapsed)
    return response


class SerialExecutor(concurrent.futures.Executor):
    """A thread pool that runs each task at once, in the order given: the same calls in the same order each run."""

    def __init__(self, max_workers: int | None = None, *args: Any, **kwargs: Any) -> None:
        self.max_workers = max_workers

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller, as a pool would
            future.set_exception(error)
        return future

    def map(
        self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1
    ) -> Iterator[Any]:
        futures = [self.submit(fn, *arguments) for arguments in zip(*iterables, strict=False)]
        return (future.result() for future in futures)


class _SimulatedCondition:
    """A condition whose timed wait sleeps on the simulated clock (nothing else in this process notifies it)."""

    def __init__(self, real: threading.Condition) -> None:
        self._real = real

    def __enter__(self) -> Any:
        return self._real.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._real.__exit__(*exc)

    def wait(self, timeout: float | None = None) -> bool:
        CLOCK.sleep(timeout or 0)
        return False

    def notify_all(self) -> None:
        self._real.notify_all()

    def notify(self, n: int = 1) -> None:
        self._real.notify(n)


def _simulate_token_buckets() -> None:
    """botocore's adaptive retries wait for tokens on a condition, in real time: on the simulated clock here."""
    from botocore.retries import bucket

    real_init = bucket.TokenBucket.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        self._new_fill_rate_condition = _SimulatedCondition(self._new_fill_rate_condition)

    bucket.TokenBucket.__init__ = init


def install_clock() -> None:
    _time.time = CLOCK.wall
    _time.time_ns = lambda: int(CLOCK.wall() * 1e9)
    _time.monotonic = CLOCK.monotonic
    _time.monotonic_ns = lambda: int(CLOCK.monotonic() * 1e9)
    _time.sleep = CLOCK.sleep  # type: ignore[assignment]
    _datetime.datetime = SimulatedDatetime  # type: ignore[misc]
    socket.socket.settimeout = _settimeout  # type: ignore[method-assign, assignment]
    http.client.HTTPConnection.endheaders = _endheaders  # type: ignore[method-assign]
    http.client.HTTPConnection.getresponse = _getresponse  # type: ignore[method-assign]
    concurrent.futures.ThreadPoolExecutor = SerialExecutor  # type: ignore[misc, assignment]
    _simulate_token_buckets()


class Context:
    """The Lambda context: the remaining time counts down on the simulated clock to the kill."""

    def __init__(self, function_name: str, request_id: str, account_id: str, region: str) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = 256
        self.aws_request_id = request_id
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"

    def get_remaining_time_in_millis(self) -> int:
        CLOCK.check_deadline()
        assert CLOCK.deadline is not None
        return max(0, int((CLOCK.deadline - CLOCK.monotonic()) * 1000))


def main() -> None:
    which = sys.argv[1]
    reply = os.fdopen(int(os.environ["SOAK_REPLY_FD"]), "w", buffering=1)
    log = os.open(os.environ.get("SOAK_WORKER_LOG", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)  # Powertools logs to stdout; the replies have their own pipe
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    install_clock()
    if which == "poller":
        from notifier.poller import handler
    else:
        from notifier.slack import handler
    account_id = os.environ.get("SOAK_ACCOUNT_ID", "123456789012")
    region = os.environ.get("AWS_REGION", "us-east-1")
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", which)
    reply.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        invocation = json.loads(line)
        CLOCK.start_invocation(invocation["simNow"], invocation["timeoutSeconds"])
        random.seed(invocation["seed"])  # the SDKs' and the function's jitter: the same draws each run
        context = Context(function_name, invocation["requestId"], account_id, region)
        try:
            result = handler(invocation["event"], context)
            answer: dict[str, Any] = {"ok": True, "result": result}
        except Exception as error:  # the function failed: Lambda reports it and the event source retries
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"[:500]}
        CLOCK.check_deadline()  # a reply after the timeout is never seen
        CLOCK.deadline = None
        answer["simEnd"] = CLOCK.wall()
        reply.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
