"""The sandbox's local cloud: moto in server mode, the Bedrock emulator and the Slack stand-in, all on loopback.

Everything runs in this process on daemon threads and ephemeral ports, so two sandboxes never collide and
Ctrl-C leaves nothing behind. The table, topic, queues, subscriptions and secret are created as the CDK stack
declares them: the table from ``notifier.core.table_layout.create_table_request``, the Slack queue with its DLQ
(maxReceiveCount and visibility from ``infra.constants``) subscribed with raw message delivery off, the email
subscription with the filter policy a default configuration gives it (the terminal statuses: one email per job).
Two queues of the sandbox's own read what SNS delivered: one every message, one what the email address receives.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra import constants as stack
from infra.config import NotifierConfig
from infra.deliveries import status_filter
from local import runtime
from local.bedrock_emulator import BedrockEmulator
from local.moto_server import MotoServer
from local.slack_standin import DEFAULT_CHANNEL, DEFAULT_TOKEN, SlackStandIn
from notifier.core import settings
from notifier.core.table_layout import TTL_ATTRIBUTE, create_table_request

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
TABLE_NAME = "bedrock-batch-notifier-state"
TOPIC_NAME = "bedrock-batch-notifier-transitions"
SLACK_QUEUE_NAME = "bedrock-batch-notifier-slack"
SLACK_DLQ_NAME = "bedrock-batch-notifier-slack-dlq"
OBSERVER_QUEUE_NAME = "sandbox-observer"  # a subscriber of our own, to read what SNS delivered
EMAIL_OBSERVER_QUEUE_NAME = "sandbox-email-observer"  # filtered as the email subscription is: what it receives
SECRET_NAME = "bedrock-batch-notifier/slack"
EMAIL_ADDRESS = "ml-team@example.com"

POLLER_TIMEOUT_SECONDS = 240  # the stack's default pollerTimeoutSeconds
# The lowest slackTimeoutSeconds the stack accepts: too short to sit out a Retry-After, so a 429 sends the
# message back to SQS, which the sandbox's pump shows.
SLACK_TIMEOUT_SECONDS = 10


@dataclass
class Servers:
    moto: MotoServer
    bedrock: BedrockEmulator
    slack: SlackStandIn
    moto_url: str

    def stop(self) -> None:
        for stop in (self.slack.stop, self.bedrock.stop, self.moto.stop):
            try:
                stop()
            except Exception as error:  # one server failing to stop must not keep the others running
                print(f"warning: a local server did not stop cleanly: {error}", file=sys.stderr)


def start_servers(emulator: BedrockEmulator) -> Servers:
    """Start the three servers on free loopback ports; the caller stops them in a finally."""
    moto = MotoServer().start()  # an empty account, even if this process used moto before
    started: list[Any] = [moto]
    try:
        emulator.start(host="127.0.0.1", port=0)
        started.append(emulator)
        slack = SlackStandIn().start()
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    return Servers(moto=moto, bedrock=emulator, slack=slack, moto_url=moto.url)


@dataclass(frozen=True)
class Resources:
    table: str
    topic_arn: str
    slack_queue_url: str
    slack_queue_arn: str
    slack_dlq_url: str
    observer_queue_url: str
    email_observer_queue_url: str
    secret_arn: str


def client_environment(servers: Servers) -> dict[str, str | None]:
    """What boto3 and slack_sdk need to reach the local servers, and nothing that could reach AWS."""
    nowhere = str(Path(os.devnull))
    return {
        "AWS_ENDPOINT_URL": servers.moto_url,
        "AWS_ENDPOINT_URL_BEDROCK": servers.bedrock.url,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_CONFIG_FILE": nowhere,  # the user's profiles could name other endpoints or credentials
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": None,  # the poller's comes from the stack, like the rest of its environment
        "AWS_RETRY_MODE": None,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockBatchNotifierSandbox",
        "POWERTOOLS_DEV": None,
    }


def function_environments(servers: Servers, resources: Resources) -> dict[str, dict[str, str]]:
    """Each function's variables as the synthesized stack sets them (local.runtime), the references resolved to
    the local resources; only Slack's endpoint is pointed at the stand-in, as AWS_ENDPOINT_URL points boto3 at moto."""
    by_type = {
        "AWS::DynamoDB::Table": resources.table,
        "AWS::SNS::Topic": resources.topic_arn,
        "AWS::SecretsManager::Secret": resources.secret_arn,
    }
    slack = runtime.function_environment(runtime.SLACK, by_type)
    slack[settings.SLACK_API_URL.env or "SLACK_API_URL"] = servers.slack.api_url
    return {runtime.POLLER: runtime.function_environment(runtime.POLLER, by_type), runtime.SLACK: slack}


@contextmanager
def scoped_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) variables for the block, then put back what was there."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            _set_env(name, value)
        yield
    finally:
        for name, value in saved.items():
            _set_env(name, value)


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def email_filter_policy() -> dict[str, Any] | None:
    """The email subscription's filter policy in a stack deployed with the default configuration."""
    config = NotifierConfig()
    return status_filter(config.default_email_statuses)


def slack_secret(mode: str, slack: SlackStandIn) -> dict[str, str]:
    """The Slack secret of each mode (its content chooses the mode), pointing at the stand-in."""
    if mode == "webhook":
        return {"webhookUrl": slack.webhook_url()}  # one message per status change
    return {"botToken": DEFAULT_TOKEN, "channel": DEFAULT_CHANNEL}  # one message per job, updated in place


def create_resources(secret: Mapping[str, str] | None = None) -> Resources:
    """The stack's resources in moto (call inside client_environment), with this Slack secret (default: bot mode)."""
    secret = secret or {"botToken": DEFAULT_TOKEN, "channel": DEFAULT_CHANNEL}
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(**create_table_request(TABLE_NAME))
    dynamodb.update_time_to_live(
        TableName=TABLE_NAME, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    sns = boto3.client("sns")
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    email_policy = email_filter_policy()
    filtered = {"FilterPolicy": json.dumps(email_policy)} if email_policy else {}
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=EMAIL_ADDRESS, Attributes=filtered)

    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=SLACK_DLQ_NAME)["QueueUrl"]
    redrive = {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(stack.SLACK_MAX_RECEIVE_COUNT)}
    slack_url = sqs.create_queue(
        QueueName=SLACK_QUEUE_NAME,
        Attributes={
            "VisibilityTimeout": str(SLACK_TIMEOUT_SECONDS * stack.SLACK_VISIBILITY_FACTOR),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    slack_arn = _queue_arn(sqs, slack_url)
    # Raw delivery off: each body is the SNS envelope, which the Slack function parses.
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=slack_arn, Attributes={"RawMessageDelivery": "false"})
    observer_url = sqs.create_queue(QueueName=OBSERVER_QUEUE_NAME)["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, observer_url))
    email_observer_url = sqs.create_queue(QueueName=EMAIL_OBSERVER_QUEUE_NAME)["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, email_observer_url), Attributes=filtered)

    secret_arn = boto3.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=json.dumps(secret))["ARN"]
    return Resources(TABLE_NAME, topic_arn, slack_url, slack_arn, dlq_url, observer_url, email_observer_url, secret_arn)


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def messages_left(queue_url: str) -> int:
    """Visible and in-flight messages of a queue."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@dataclass
class SandboxContext:
    """The Lambda context the functions read; the remaining time counts down from the function's timeout."""

    function_name: str
    timeout_seconds: float
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))
