"""Poller cost per poll against the Bedrock emulator and moto server, beside the lower bound of each figure.

Run with `make bench`. Scenarios:
  (a) 1,000 and 10,000 jobs new since the last poll     (b) an idle poll after (a)
  (c) 10% of 10,000 running jobs change status          (d) one job running three days while 10,000 came and went
  (e) idle polls after a burst of 10 or 10,000 jobs within two minutes: 5 minutes after it (inside the overlap,
      so listed again, but not read again), and once the overlap has passed (the window has moved past it)
Bounds: ceil(jobs to list / 1000) list calls; ceil(jobs to read / 100) DynamoDB read calls; one write per transition.
Each poll runs in a worker process of its own, so its CPU time (time.process_time around Poll.run) is the
handler's alone, not the emulator's or moto's; the 10,000-job scenarios also run once with botocore's default
timestamp parser, for the handler-CPU ratio beside its target.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from botocore.utils import parse_timestamp as botocore_parse_timestamp

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # one line per recorded transition would drown the table

from local.bedrock_emulator import BedrockEmulator
from local.moto_server import MotoServer
from notifier.core.settings import PollerSettings
from notifier.core.table_layout import create_table_request
from notifier.poller.bedrock import BedrockJobs, parse_timestamp
from notifier.poller.job_store import StateStore
from notifier.poller.poll import Deadline, Poll
from notifier.poller.publisher import NoticePublisher

REGION = "us-east-1"
ACCOUNT = "123456789012"
READS = ("GetItem", "Query", "BatchGetItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Row:
    scenario: str
    seconds: float
    list_calls: int
    get_calls: int
    list_bound: int
    ddb_reads: int
    read_bound: int
    ddb_writes: int
    transitions: int
    capacity: float
    cpu: float = 0.0


# -- handler CPU: each poll in a worker process ---------------------------------------------------------------

CPU_TARGET = 0.60  # handler CPU with the fast timestamp parser over botocore's default, same calls


@dataclass
class Measured:
    seconds: float
    cpu: float
    store_calls: Counter[str] = field(default_factory=Counter)
    capacity: float = 0.0
    transitions: int = 0


def measured_poll(
    settings: PollerSettings, topic: str, default_parser: bool, clock_offset: timedelta = timedelta(0)
) -> Measured:
    """One scheduled poll, run in the worker process: wall and CPU time of Poll.run alone (the adapters, made as
    at a cold start, are outside both). The Lambda's clock is the emulator's (`clock_offset` from real time), as
    a real Lambda's agrees with Bedrock's."""
    parser = botocore_parse_timestamp if default_parser else parse_timestamp
    store = StateStore(settings.state_table_name)
    poll = Poll(
        BedrockJobs(timestamp_parser=parser),
        store,
        NoticePublisher(topic),
        settings,
        region=REGION,
        account_id=ACCOUNT,
        deadline=Deadline(lambda: 900_000, timedelta(seconds=30)),
        clock=lambda: datetime.now(UTC) + clock_offset,
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    report = poll.run()
    cpu, seconds = time.process_time() - cpu_started, time.perf_counter() - started
    return Measured(seconds, cpu, store.calls, store.consumed_capacity, sum(report.transitions.values()))


@dataclass
class CpuRow:
    scenario: str
    default_cpu: float
    fast_cpu: float
    same_calls: bool


class Bench:
    def __init__(self) -> None:
        self.moto = MotoServer().start()
        os.environ.update(
            AWS_ENDPOINT_URL=self.moto.url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        self.bedrock = BedrockEmulator(region=REGION, account_id=ACCOUNT)
        os.environ["AWS_ENDPOINT_URL_BEDROCK"] = self.bedrock.start(port=free_port())
        self.topic = boto3.client("sns").create_topic(Name="bench")["TopicArn"]
        self.tables = 0
        self.rows: list[Row] = []
        self.cpu_rows: list[CpuRow] = []
        self.default_parser = False  # the worker parses Bedrock's timestamps with botocore's own parser when True
        # One worker for every poll, started after the environment above is set (a spawned process inherits it).
        self.worker = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def close(self) -> None:
        self.worker.shutdown()
        self.bedrock.stop()
        self.moto.stop()

    def fresh(self) -> None:
        self.bedrock.reset()
        self.tables += 1
        self.table = f"bench-{self.tables}"
        boto3.client("dynamodb").create_table(**create_table_request(self.table))
        # Completed and Submitted are recorded but not published, so the figures are the poll's own.
        self.settings = PollerSettings(self.table, self.topic, notify_statuses=frozenset({"Failed"}))

    def poll(self, scenario: str | None, *, to_list: int = 0, to_read: int = 0) -> Row | None:
        self.bedrock.calls.clear()
        offset = self.bedrock.now() - datetime.now(UTC)
        measured = self.worker.submit(measured_poll, self.settings, self.topic, self.default_parser, offset).result()
        if scenario is None:
            return None
        store_calls = measured.store_calls
        row = Row(
            scenario=scenario,
            seconds=measured.seconds,
            list_calls=self.bedrock.calls["ListModelInvocationJobs"],
            get_calls=self.bedrock.calls["GetModelInvocationJob"],
            list_bound=max(1, math.ceil(to_list / 1000)),
            ddb_reads=sum(store_calls[op] for op in READS),
            read_bound=max(1, math.ceil(to_read / 100)),
            ddb_writes=sum(store_calls[op] for op in WRITES),
            transitions=measured.transitions,
            capacity=measured.capacity,
            cpu=measured.cpu,
        )
        self.rows.append(row)
        print(f"  {scenario}: {measured.seconds:.2f} s, {measured.cpu:.2f} s CPU", flush=True)
        return row

    def spread(self, count: int, over: timedelta, status: str, before_now: timedelta = timedelta(0)) -> list[str]:
        step = over / count
        start = self.bedrock.now() - before_now - over
        return self.bedrock.create_jobs(count, start=start, step=step, status=status)

    def new_jobs(self, count: int) -> None:
        self.fresh()
        self.poll(None)  # the previous poll: an empty account
        self.spread(count, timedelta(hours=24), "Completed")
        self.poll(f"(a) {count:,} new", to_list=count, to_read=count)
        window = math.ceil(count * 10 / (24 * 60))  # jobs submitted within the 10-minute overlap
        self.poll(f"(b) idle after {count:,}", to_list=window, to_read=window)

    def ten_percent_change(self) -> None:
        self.fresh()
        arns = self.spread(10_000, timedelta(hours=24), "InProgress")
        self.poll(None)  # baseline of 10,000 running jobs
        for arn in random.Random(7).sample(arns, 1000):
            self.bedrock.set_status(arn, "Completed")
        self.poll("(c) 10% of 10,000 change", to_list=10_000, to_read=10_000)

    def one_long_job(self) -> None:
        self.fresh()
        long_job = self.bedrock.create_job("three-days", submit_time=self.bedrock.now() - timedelta(days=3))
        self.bedrock.set_status(long_job, "InProgress")
        self.spread(10_000, timedelta(days=3) - timedelta(minutes=30), "Completed", before_now=timedelta(minutes=20))
        self.poll(None)  # baseline
        self.poll("(d) long job still running", to_list=1, to_read=1)
        self.bedrock.set_status(long_job, "Completed")
        self.poll("(d) long job completes", to_list=1, to_read=1)

    def burst(self, count: int) -> None:
        self.fresh()
        self.poll(None)  # the previous poll: an empty account
        self.spread(count, timedelta(minutes=2), "Completed")
        self.poll(None)  # records the burst
        self.bedrock.advance(timedelta(minutes=5))
        self.poll(f"(e) idle 5 min after a burst of {count:,}", to_list=count)
        self.bedrock.advance(timedelta(minutes=5))
        self.poll(None)  # the overlap has passed on Bedrock's clock: the window moves past the burst
        self.bedrock.advance(timedelta(minutes=5))
        self.poll(f"(e) idle after a burst of {count:,}, overlap passed")

    def cpu_compared(self, scenario: Callable[[], None], names: tuple[str, ...]) -> None:
        """Runs a scenario again with botocore's default timestamp parser, for the handler CPU of the same polls."""
        fast = {row.scenario: row for row in self.rows if row.scenario in names}
        kept = self.rows
        self.rows, self.default_parser = [], True
        try:
            scenario()
            default = {row.scenario: row for row in self.rows if row.scenario in names}
        finally:
            self.rows, self.default_parser = kept, False
        for name in names:
            a, b = default[name], fast[name]
            same = (a.list_calls, a.get_calls, a.ddb_reads, a.ddb_writes) == (
                b.list_calls,
                b.get_calls,
                b.ddb_reads,
                b.ddb_writes,
            )
            self.cpu_rows.append(CpuRow(name, a.cpu, b.cpu, same))

    def print_cpu_table(self) -> None:
        print(
            "\n| poll | handler CPU s, botocore's parser | handler CPU s, fast parser | ratio (target) | same calls |"
        )
        print("|" + "---|" * 5)
        for r in self.cpu_rows:
            ratio = r.fast_cpu / r.default_cpu if r.default_cpu else float("nan")
            verdict = "met" if ratio <= CPU_TARGET else "NOT met"
            print(
                f"| {r.scenario} | {r.default_cpu:.2f} | {r.fast_cpu:.2f} | {ratio:.2f}x (<= {CPU_TARGET:.2f}x, "
                f"{verdict}) | {'yes' if r.same_calls else 'NO'} |"
            )

    def print_table(self) -> None:
        header = (
            "| poll | wall s | Bedrock list calls (bound) | Get calls | DynamoDB read calls (bound) "
            "| DynamoDB write calls | transitions | capacity units | handler CPU s |"
        )
        print("\n" + header)
        print("|" + "---|" * 9)
        for r in self.rows:
            print(
                f"| {r.scenario} | {r.seconds:.2f} | {r.list_calls} ({r.list_bound}, x{r.list_calls / r.list_bound:.1f}) "
                f"| {r.get_calls} | {r.ddb_reads} ({r.read_bound}, x{r.ddb_reads / r.read_bound:.1f}) "
                f"| {r.ddb_writes} | {r.transitions} | {r.capacity:g} | {r.cpu:.2f} |"
            )


def main() -> int:
    bench = Bench()
    try:
        print("Poller benchmark (emulator + moto server on loopback)")
        bench.new_jobs(1_000)
        bench.new_jobs(10_000)
        bench.ten_percent_change()
        bench.one_long_job()
        bench.burst(10)
        bench.burst(10_000)
        bench.cpu_compared(lambda: bench.new_jobs(10_000), ("(a) 10,000 new",))
        bench.cpu_compared(bench.ten_percent_change, ("(c) 10% of 10,000 change",))
        bench.print_table()
        bench.print_cpu_table()
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
