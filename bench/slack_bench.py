"""The Slack function's calls per notice, both modes, beside the fewest that exactly-once delivery needs.

Run with `make bench`: moto server and the Slack stand-in on loopback, the real handler with its real adapters.
Slack calls are counted at the stand-in, AWS calls on the wire (bench.wire: every attempt, retries included).
A first notice is a job's first transition; a later one is the next transition of a job Slack already shows.

The fewest calls, and why:
- Slack: one message per notice; in bot mode a later notice also updates the job's parent (chat.update, which
  Slack limits per workspace, not by the one-message-a-second-per-channel rule for posting).
- DynamoDB: Powertools Idempotency writes its record in progress before the delivery and done after (2); bot mode
  also claims the job's message before posting its parent and records the parent's ts after (2 more for a first
  notice); a later notice reads the parent's ts, notes the reply it is about to post (with the parent's new
  state) and records it after (3 more).
Slack accepts about one message a second per channel (https://api.slack.com/methods/chat.postMessage#rate_limiting):
a burst of first notices takes as many seconds as it makes posts.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from bench.wire import WireCounter
from local.moto_server import MotoServer
from local.slack_standin import DEFAULT_CHANNEL, DEFAULT_TOKEN, SlackStandIn
from notifier.core.settings import SlackSettings
from notifier.core.table_layout import create_table_request
from notifier.slack.entry import build_dependencies, deliver_batch

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request to the local servers

REGION = "us-east-1"
NOTICES = 40  # per mode and kind; the figures are per notice
BURST = 1_000
POSTS_PER_SECOND_PER_CHANNEL = 1.0
MINIMUM = {  # (Slack posts, Slack calls, DynamoDB calls) per notice
    ("webhook", "first"): (1, 1, 2),
    ("webhook", "later"): (1, 1, 2),
    ("bot", "first"): (1, 1, 4),
    ("bot", "later"): (1, 2, 5),
}


@dataclass
class Context:
    function_name: str = "bench-slack"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench-slack"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass(frozen=True)
class SlackRow:
    mode: str
    kind: str
    posts: float
    slack_calls: float
    dynamodb_calls: float
    read_units: float
    write_units: float

    @property
    def minimum(self) -> tuple[int, int, int]:
        return MINIMUM[(self.mode, self.kind)]


def body(job: int, status: str, previous: str | None, minute: int) -> str:
    arn = f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/bench{job:05d}"
    moment = f"2026-12-01T10:{minute:02d}:00.000Z"
    document = {
        "schemaVersion": "1",
        "transitionId": f"bench-{job}-{status}",
        "jobArn": arn,
        "jobName": f"bench-{job}",
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "region": REGION,
        "accountId": "123456789012",
        "previousStatus": previous,
        "status": status,
        "submitTime": "2026-12-01T10:00:00.000Z",
        "lastModifiedTime": moment,
        "endTime": None,
        "message": None,
        "records": {"total": 100, "processed": minute, "success": minute, "error": 0},
        "inputS3Uri": "s3://bench/in.jsonl",
        "outputS3Uri": "s3://bench/out/",
        "consoleUrl": "https://console.aws.amazon.com/bedrock",
        "detectedAt": moment,
    }
    return json.dumps({"Type": "Notification", "MessageId": f"m-{job}-{status}", "Message": json.dumps(document)})


def event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"msg-{index}",
                "receiptHandle": f"handle-{index}",
                "body": text,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:slack",
                "awsRegion": REGION,
            }
            for index, text in enumerate(bodies)
        ]
    }


def run() -> list[SlackRow]:
    print("Slack function (moto server + Slack stand-in on loopback)")
    rows: list[SlackRow] = []
    with MotoServer() as moto:
        os.environ.update(
            AWS_ENDPOINT_URL=moto.url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        wire = WireCounter().install()
        standin = SlackStandIn().start()
        try:
            secrets = boto3.client("secretsmanager")
            for mode in ("webhook", "bot"):
                table = f"bench-slack-{mode}"
                boto3.client("dynamodb").create_table(**create_table_request(table))
                value = {"webhookUrl": standin.webhook_url()} if mode == "webhook" else {
                    "botToken": DEFAULT_TOKEN, "channel": DEFAULT_CHANNEL}  # fmt: skip
                arn = secrets.create_secret(Name=f"bench-{mode}", SecretString=json.dumps(value))["ARN"]
                deps = build_dependencies(SlackSettings(arn, table, api_url=standin.api_url))
                deliver_batch(
                    event([body(99_999, "Submitted", None, 0)]), Context(), deps
                )  # secret read, clients built
                for kind, status, previous, minute in (
                    ("first", "Submitted", None, 1),
                    ("later", "InProgress", "Submitted", 2),
                ):
                    slack_before, wire_before = len(standin.requests), wire.snapshot()
                    for job in range(NOTICES):  # one notice a batch: the worst case for per-batch costs
                        result = deliver_batch(event([body(job, status, previous, minute)]), Context(), deps)
                        assert result == {"batchItemFailures": []}, result
                    calls = standin.requests[slack_before:]
                    spent = wire.snapshot() - wire_before
                    rows.append(
                        SlackRow(
                            mode,
                            kind,
                            posts=sum(1 for r in calls if r.path.endswith(("chat.postMessage",)) or r.kind == "webhook")
                            / NOTICES,
                            slack_calls=sum(1 for r in calls if r.kind != "admin") / NOTICES,
                            dynamodb_calls=spent.calls("dynamodb") / NOTICES,
                            read_units=spent.read_units / NOTICES,
                            write_units=spent.write_units / NOTICES,
                        )
                    )
        finally:
            standin.stop()
    print_table(rows)
    return rows


def print_table(rows: list[SlackRow]) -> None:
    print("\n| mode | notice | Slack posts (fewest) | Slack calls (fewest) | DynamoDB calls (fewest) | RCU | WCU |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        posts, calls, dynamodb = r.minimum
        print(
            f"| {r.mode} | {r.kind} | {r.posts:g} ({posts}) | {r.slack_calls:g} ({calls}) | {r.dynamodb_calls:g} "
            f"({dynamodb}) | {r.read_units:g} | {r.write_units:g} |"
        )
    print(f"\nA burst of {BURST:,} first notices to one channel at {POSTS_PER_SECOND_PER_CHANNEL:g} post a second:")
    for r in rows:
        if r.kind == "first":
            seconds = BURST * r.posts / POSTS_PER_SECOND_PER_CHANNEL
            print(f"  {r.mode}: {BURST * r.posts:,.0f} posts, {seconds / 60:.1f} minutes")


if __name__ == "__main__":
    run()
