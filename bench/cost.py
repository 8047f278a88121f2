"""The poller's calls counted on the wire, DynamoDB's capacity units from item sizes, and the month's cost.

Run with `make bench`. A day of jobs in miniature against the Bedrock emulator and moto server: JOBS jobs appear
running (each a transition from nothing, published), then all complete (a transition each, published), then a poll
finds nothing new. Every request is counted as the service sees it (bench.wire: botocore's before-send, once per
attempt, retries included) and DynamoDB's read and write units are computed from the items' sizes by DynamoDB's
rules. Lambda GB-seconds are the poll's wall time here at the poller's memory: moto answers in about the time
DynamoDB does, so this is an estimate, not a measurement of Lambda.

The month at the default schedule (every 5 minutes) is then: every poll costs at least an idle poll of an empty
account, and each job adds what its two transitions cost in the miniature (less the empty poll each of those
polls contains) and its re-reads by the polls whose overlap window holds its submit time (overlap / schedule of
them), for 100, 1,000 and 10,000 jobs a day. The Slack function's share is per notice: bench.slack_bench.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from bench.poller_bench import Bench
from bench.wire import Tally, WireCounter
from infra.config import NotifierConfig
from notifier.core.settings import PollerSettings

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request to the local servers

JOBS = 500
SPREAD = timedelta(hours=1)  # the jobs' submit times, over the hour before the poll
DAYS_A_MONTH = 30
JOBS_A_DAY = (100, 1_000, 10_000)

# us-east-1 list prices, as the AWS pricing pages publish them (January 2025). Re-check before relying on them.
PRICES_AS_OF = "2025-01-31"
LAMBDA_ARM_GB_SECOND = 0.0000133334  # https://aws.amazon.com/lambda/pricing/ (arm64, first 6 billion GB-s)
LAMBDA_REQUEST = 0.20 / 1e6  # https://aws.amazon.com/lambda/pricing/
DYNAMODB_WRITE_UNIT = 0.625 / 1e6  # https://aws.amazon.com/dynamodb/pricing/on-demand/ (since 2024-11-01)
DYNAMODB_READ_UNIT = 0.125 / 1e6  # https://aws.amazon.com/dynamodb/pricing/on-demand/
SNS_PUBLISH_REQUEST = 0.50 / 1e6  # https://aws.amazon.com/sns/pricing/ (each 64 KB of a request is one)
SQS_REQUEST = 0.40 / 1e6  # https://aws.amazon.com/sqs/pricing/ (standard queues)
# Bedrock's List and Get calls are free; free tiers (Lambda's 400,000 GB-s, SNS's and SQS's first million requests)
# are left out: an account's other workloads may use them.


@dataclass(frozen=True)
class Measured:
    name: str
    spent: Tally
    seconds: float
    transitions: int


@dataclass(frozen=True)
class Usage:
    """What one poll or one job uses: requests per service, capacity units, Lambda GB-seconds."""

    bedrock: float
    dynamodb: float
    sns: float
    read_units: float
    write_units: float
    gb_seconds: float

    @classmethod
    def of(cls, measured: Measured, memory_gb: float) -> Usage:
        s = measured.spent
        return cls(s.calls("bedrock"), s.calls("dynamodb"), s.calls("sns"), s.read_units, s.write_units,
                   measured.seconds * memory_gb)  # fmt: skip

    def minus(self, other: Usage, times: float = 1) -> Usage:
        return Usage(*(max(0.0, a - b * times) for a, b in zip(self.values(), other.values(), strict=True)))

    def scaled(self, factor: float) -> Usage:
        return Usage(*(a * factor for a in self.values()))

    def values(self) -> tuple[float, ...]:
        return (self.bedrock, self.dynamodb, self.sns, self.read_units, self.write_units, self.gb_seconds)

    def dollars(self, lambda_requests: float) -> float:
        return (
            self.gb_seconds * LAMBDA_ARM_GB_SECOND
            + lambda_requests * LAMBDA_REQUEST
            + self.read_units * DYNAMODB_READ_UNIT
            + self.write_units * DYNAMODB_WRITE_UNIT
            + self.sns * SNS_PUBLISH_REQUEST
        )


class WiredBench(Bench):
    """The poller benchmark's world, with every request counted on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.wire = WireCounter().install()
        self.measured: list[Measured] = []

    def day(self, jobs: int) -> None:
        self.fresh()
        self.settings = PollerSettings(self.table, self.topic)  # the default statuses are published
        self.poll(None)  # the first run: a silent baseline of nothing, and the cursor written
        self.measure("idle (empty account)")
        arns = self.spread(jobs, SPREAD, "InProgress")
        self.measure(f"{jobs} jobs appear running")
        for arn in arns:
            self.bedrock.set_status(arn, "Completed")
        self.measure(f"{jobs} jobs complete")
        self.measure("idle")

    def measure(self, name: str) -> None:
        before = self.wire.snapshot()
        row = self.poll(name)
        assert row is not None
        self.measured.append(Measured(name, self.wire.snapshot() - before, row.seconds, row.transitions))


def run() -> list[Measured]:
    print(f"Poller on the wire, and the month's cost (us-east-1 prices of {PRICES_AS_OF})")
    bench = WiredBench()
    try:
        bench.day(JOBS)
    finally:
        bench.close()
    config = NotifierConfig()
    memory_gb = config.poller_memory_mb / 1024
    print("\n| poll | Bedrock requests | DynamoDB requests | SNS requests | RCU | WCU | transitions | GB-s |")
    print("|---|---|---|---|---|---|---|---|")
    for m in bench.measured:
        u = Usage.of(m, memory_gb)
        print(f"| {m.name} | {u.bedrock:g} | {u.dynamodb:g} | {u.sns:g} | {u.read_units:g} | {u.write_units:g} "
              f"| {m.transitions} | {u.gb_seconds:.2f} |")  # fmt: skip
    empty, appear, complete, after = (Usage.of(m, memory_gb) for m in bench.measured)
    per_job = Usage(*(a + b for a, b in zip(appear.values(), complete.values(), strict=True)))
    per_job = per_job.minus(empty, times=2).scaled(1 / JOBS)
    # The idle poll after re-reads the jobs submitted within the overlap; each job is in the window of this many polls.
    in_window = JOBS * min(1.0, config.overlap_minutes / (SPREAD.total_seconds() / 60))
    rereads = after.minus(empty).scaled(config.overlap_minutes / config.schedule_minutes / in_window)
    per_job = Usage(*(a + b for a, b in zip(per_job.values(), rereads.values(), strict=True)))
    print_month(empty, per_job, config)
    return bench.measured


def print_month(idle: Usage, per_job: Usage, config: NotifierConfig) -> None:
    polls = DAYS_A_MONTH * 24 * 60 / config.schedule_minutes
    print(f"\nA month ({DAYS_A_MONTH} days) at the default schedule, every {config.schedule_minutes} minutes "
          f"({polls:,.0f} polls); per job: {per_job.dynamodb:.2f} DynamoDB requests, {per_job.read_units:.2f} RCU, "
          f"{per_job.write_units:.2f} WCU, {per_job.sns:.3f} SNS requests, {per_job.gb_seconds:.4f} GB-s")  # fmt: skip
    print("\n| jobs a day | poller GB-s | DynamoDB RCU | DynamoDB WCU | SNS requests | poller cost a month |")
    print("|---|---|---|---|---|---|")
    for jobs in JOBS_A_DAY:
        month = Usage(*(a * polls for a in idle.values()))
        month = Usage(*(a + b for a, b in zip(month.values(), per_job.scaled(jobs * DAYS_A_MONTH).values(),
                                               strict=True)))  # fmt: skip
        dollars = month.dollars(lambda_requests=polls)
        print(f"| {jobs:,} | {month.gb_seconds:,.0f} | {math.ceil(month.read_units):,} "
              f"| {math.ceil(month.write_units):,} | {math.ceil(month.sns):,} | ${dollars:,.2f} |")  # fmt: skip


if __name__ == "__main__":
    run()
