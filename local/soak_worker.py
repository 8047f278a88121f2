"""One Lambda execution environment of the soak (local.soak): a process that runs one handler, invocation by invocation.

The soak starts it with the environment the stack gives the function, sends it invocations as JSON lines on
stdin and reads one JSON line back per invocation on a private pipe (the function's own logs go to a file).
Killing the process is a crash or a Lambda timeout; the next invocation starts a new one, cold.

The process runs on the soak's simulated clock: each invocation carries the simulated time it starts at, and
from there time runs at real speed, except that ``time.sleep`` returns at once and moves this process's clock
on by what was asked. So a publisher pacing itself to nine messages a second, or botocore backing off, costs
no real time but is seen on the simulated clock (and in the X-Amz-Date of what it signs). The clock is put in
place before anything else is imported, as a test clock library would do.

    python -m local.soak_worker poller|slack  (stdin: invocations; fd given in SOAK_REPLY_FD: replies)
"""

from __future__ import annotations

import datetime as _datetime
import json
import os
import signal
import sys
import threading
import time as _time
from typing import Any

_real_monotonic = _time.monotonic
_real_time = _time.time
_real_sleep = _time.sleep
_RealDatetime = _datetime.datetime
_WATCH_INTERVAL = 0.005  # real seconds between deadline checks


class SimulatedClock:
    """Wall time set by each invocation; a monotonic time that never goes back; sleeps that take no real time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wall_base = _real_time()
        self._real_base = _real_monotonic()
        self._slept = 0.0
        self._mono_offset = 0.0
        self.deadline: float | None = None  # on the monotonic clock

    def wall(self) -> float:
        with self._lock:
            return self._wall_base + (_real_monotonic() - self._real_base) + self._slept

    def monotonic(self) -> float:
        with self._lock:
            return _real_monotonic() + self._slept + self._mono_offset

    def start_invocation(self, wall: float, timeout: float) -> None:
        with self._lock:
            self._mono_offset += self._slept
            self._slept = 0.0
            self._wall_base = wall
            self._real_base = _real_monotonic()
        self.deadline = self.monotonic() + timeout

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._slept += seconds
        _real_sleep(0)  # let other threads run, as a real sleep would
        self.check_deadline()

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


def install_clock() -> None:
    _time.time = CLOCK.wall
    _time.time_ns = lambda: int(CLOCK.wall() * 1e9)
    _time.monotonic = CLOCK.monotonic
    _time.monotonic_ns = lambda: int(CLOCK.monotonic() * 1e9)
    _time.sleep = CLOCK.sleep  # type: ignore[assignment]
    _datetime.datetime = SimulatedDatetime  # type: ignore[misc]


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


_RUNNING = threading.Event()


def _watch() -> None:
    while True:
        _RUNNING.wait()
        _real_sleep(_WATCH_INTERVAL)
        CLOCK.check_deadline()


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
    threading.Thread(target=_watch, name="lambda-timeout", daemon=True).start()
    account_id = os.environ.get("SOAK_ACCOUNT_ID", "123456789012")
    region = os.environ.get("AWS_REGION", "us-east-1")
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", which)
    reply.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        invocation = json.loads(line)
        CLOCK.start_invocation(invocation["simNow"], invocation["timeoutSeconds"])
        context = Context(function_name, invocation["requestId"], account_id, region)
        _RUNNING.set()
        try:
            result = handler(invocation["event"], context)
            answer: dict[str, Any] = {"ok": True, "result": result}
        except Exception as error:  # the function failed: Lambda reports it and the event source retries
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"[:500]}
        CLOCK.check_deadline()  # a reply after the timeout is never seen
        CLOCK.deadline = None
        _RUNNING.clear()
        answer["simEnd"] = CLOCK.wall()
        reply.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
