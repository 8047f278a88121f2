"""Poller cost per poll against the Bedrock emulator and moto server, beside the lower bound of each figure.

Run with `make bench`. Scenarios:
  (a) 1,000 and 10,000 jobs new since the last poll     (b) an idle poll after (a)
  (c) 10% of 10,000 running jobs change status          (d) one job running three days while 10,000 came and went
Bounds: ceil(jobs to list / 1000) list calls; ceil(jobs to read / 100) DynamoDB read calls; one write per transition.
"""

from __future__ import annotations

import math
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

import boto3

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # one line per recorded transition would drown the table

from local.bedrock_emulator import BedrockEmulator
from local.moto_server import MotoServer
from notifier.core.settings import PollerSettings
from notifier.core.table_layout import create_table_request
from notifier.poller.bedrock import BedrockJobs
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

    def close(self) -> None:
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
        store = StateStore(self.table)
        poll = Poll(
            BedrockJobs(),
            store,
            NoticePublisher(self.topic),
            self.settings,
            region=REGION,
            account_id=ACCOUNT,
            deadline=Deadline(lambda: 900_000, timedelta(seconds=30)),
        )
        self.bedrock.calls.clear()
        started = time.perf_counter()
        report = poll.run()
        seconds = time.perf_counter() - started
        if scenario is None:
            return None
        row = Row(
            scenario=scenario,
            seconds=seconds,
            list_calls=self.bedrock.calls["ListModelInvocationJobs"],
            get_calls=self.bedrock.calls["GetModelInvocationJob"],
            list_bound=max(1, math.ceil(to_list / 1000)),
            ddb_reads=sum(store.calls[op] for op in READS),
            read_bound=max(1, math.ceil(to_read / 100)),
            ddb_writes=sum(store.calls[op] for op in WRITES),
            transitions=sum(report.transitions.values()),
            capacity=store.consumed_capacity,
        )
        self.rows.append(row)
        print(f"  {scenario}: {seconds:.2f} s", flush=True)
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

    def print_table(self) -> None:
        header = (
            "| poll | wall s | Bedrock list calls (bound) | Get calls | DynamoDB read calls (bound) "
            "| DynamoDB write calls | transitions | capacity units |"
        )
        print("\n" + header)
        print("|" + "---|" * 8)
        for r in self.rows:
            print(
                f"| {r.scenario} | {r.seconds:.2f} | {r.list_calls} ({r.list_bound}, x{r.list_calls / r.list_bound:.1f}) "
                f"| {r.get_calls} | {r.ddb_reads} ({r.read_bound}, x{r.ddb_reads / r.read_bound:.1f}) "
                f"| {r.ddb_writes} | {r.transitions} | {r.capacity:g} |"
            )


def main() -> int:
    bench = Bench()
    try:
        print("Poller benchmark (emulator + moto server on loopback)")
        bench.new_jobs(1_000)
        bench.new_jobs(10_000)
        bench.ten_percent_change()
        bench.one_long_job()
        bench.print_table()
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
