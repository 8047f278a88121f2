"""Warm fast-path events back to back: how long each takes, beside the 100 ms target.

A Bedrock state-change event names one job; a warm poller reads it, records the change and publishes one
notice. Nothing in that path should wait: the publishing pace counts messages per wall-clock second in the
state table, so an event that finds room in the current second publishes at once. Run with `make bench`.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import time
from typing import Any

import boto3

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from bench.poller_bench import ACCOUNT, REGION, free_port
from local.bedrock_emulator import BedrockEmulator
from local.moto_server import MotoServer
from notifier.core.table_layout import create_table_request
from notifier.poller import entry as poller

EVENTS = 20
TARGET_MS = 100.0


class Context:
    function_name = "bench-poller"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench-poller"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 240_000


def state_change(job_arn: str, status: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"bench-{job_arn[-12:]}",
        "detail-type": "Batch Inference Job State Change",
        "source": "aws.bedrock",
        "account": ACCOUNT,
        "region": REGION,
        "resources": [job_arn],
        "detail": {"batchJobArn": job_arn, "status": status},
    }


def main() -> int:
    moto = MotoServer().start()
    bedrock = BedrockEmulator(region=REGION, account_id=ACCOUNT)
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=moto.url,
            AWS_ENDPOINT_URL_BEDROCK=bedrock.start(port=free_port()),
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            STATE_TABLE_NAME="bench-fast-path",
        )
        os.environ["TOPIC_ARN"] = boto3.client("sns").create_topic(Name="bench-fast-path")["TopicArn"]
        boto3.client("dynamodb").create_table(**create_table_request("bench-fast-path"))
        timings = []
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' metric lines would drown the figures
            poller.handler({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}, Context())  # warm
            arns = [bedrock.create_job(f"fast-{index}", status="InProgress") for index in range(EVENTS)]
            for arn in arns:
                started = time.perf_counter()
                summary = poller.handler(state_change(arn, "InProgress"), Context())
                timings.append((time.perf_counter() - started) * 1000)
                assert summary["published"] == 1, summary
    finally:
        bedrock.stop()
        moto.stop()
    median, worst = statistics.median(timings), max(timings)
    print(f"Fast path, warm: {EVENTS} state-change events back to back, one notice each")
    print(f"  median {median:7.1f} ms   max {worst:7.1f} ms   target < {TARGET_MS:.0f} ms each")
    print(f"  median / target  {median / TARGET_MS:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
