"""The poller wired to the Bedrock emulator and moto server, with a queue on the topic to see what it sends."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.bedrock_emulator import BedrockEmulator
from notifier.poller import entry as poller
from notifier.poller.bedrock import BedrockJobs
from notifier.poller.job_store import StateStore
from notifier.poller.publisher import NoticePublisher
from tests.conftest import FakeLambdaContext
from tests.fixtures.aws import REGION

EVENTS = Path(__file__).resolve().parents[1] / "events"
STATE_CHANGE_EVENT: dict[str, Any] = json.loads((EVENTS / "bedrock_job_state_change.json").read_text())

SCHEDULED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-01T09:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/notifier-poll"],
    "detail": {},
}


class PaceClock:
    """The publisher's wall clock in tests: it moves only when the publisher waits for the next second."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.waited = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.waited += seconds

    def time(self) -> float:
        return self.now


@dataclass
class Harness:
    bedrock: BedrockEmulator
    table: str
    topic_arn: str
    queue_url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    last_dependencies: poller.Dependencies | None = None

    pace: PaceClock = field(default_factory=PaceClock)

    def dependencies(self, sleep: Any = None) -> poller.Dependencies:
        """Fresh adapters (a cold start) as the stack wires them, the send window in the state table; the pace's
        clock moves only when the publisher waits, unless a test passes its own sleep."""
        store = StateStore(self.table)
        return poller.Dependencies(
            bedrock=BedrockJobs(),
            store=store,
            publisher=NoticePublisher(
                self.topic_arn,
                9,
                window=store,
                sleep=sleep or self.pace.sleep,
                wall_clock=self.pace.time,
                monotonic=self.pace.time,
            ),
            clock=self.bedrock.now,  # the Lambda's clock is Bedrock's, so tests move both by moving the emulator's
        )

    def poll(
        self, context: FakeLambdaContext | None = None, dependencies: poller.Dependencies | None = None
    ) -> dict[str, Any]:
        self.last_dependencies = dependencies or self.dependencies()
        return poller.handler(SCHEDULED_EVENT, context or FakeLambdaContext(), dependencies=self.last_dependencies)

    def notices(self) -> list[dict[str, Any]]:
        """Every document published so far, in arrival order (drains the queue into `received`)."""
        sqs = boto3.client("sqs", region_name=REGION)
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = batch.get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                self.received.append({"envelope": envelope, "document": json.loads(envelope["Message"])})
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return [item["document"] for item in self.received]

    def expire_items(self) -> int:
        """Deletes the items whose TTL has passed on the emulator's clock, as DynamoDB would (moto does not)."""
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        now = self.bedrock.now().timestamp()
        expired = [i for i in self.table_items() if "expiresAt" in i and float(i["expiresAt"]["N"]) < now]
        for item in expired:
            dynamodb.delete_item(TableName=self.table, Key={"pk": item["pk"], "sk": item["sk"]})
        return len(expired)

    def transitions(self) -> list[tuple[str, str | None, str]]:
        return [(d["jobName"], d["previousStatus"], d["status"]) for d in self.notices()]

    def table_items(self) -> list[dict[str, Any]]:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table}
        while True:
            page = dynamodb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def subscribe_queue(topic_arn: str, name: str, filter_policy: dict[str, Any] | None = None) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes
    )
    return str(url)


def state_change_event(job_arn: str, status: str) -> dict[str, Any]:
    """Bedrock's "Batch Inference Job State Change" event for one job, as EventBridge delivers it."""
    event = copy.deepcopy(STATE_CHANGE_EVENT)
    event["id"] = str(uuid.uuid4())
    event["resources"] = [job_arn]
    event["detail"].update(batchJobArn=job_arn, status=status)
    return event


def queued_batch(bodies: list[str]) -> dict[str, Any]:
    """The Lambda event an SQS event source mapping makes of these message bodies, received from a real queue."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=f"state-changes-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    messages: list[dict[str, Any]] = []
    while len(messages) < len(bodies):
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
        messages += received.get("Messages", [])
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": REGION,
        }
        for m in messages
    ]
    return {"Records": sorted(records, key=lambda r: bodies.index(r["body"]))}
