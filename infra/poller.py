"""The poller: an EventBridge schedule runs it; it reads Bedrock, records transitions, publishes to the topic."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.bundling import LAMBDA_TASK_ROOT, SDK_MODELS_DIR
from infra.config import NotifierConfig, function_environment
from infra.function import NotifierFunction
from notifier.core.settings import POLLER, SDK_DATA_PATH, SERVICE_NAME, STATE_TABLE, TOPIC
from notifier.core.table_layout import INDEXES

POLLER_TABLE_ACTIONS = ("GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem")


def poller_environment(config: NotifierConfig, *, table_name: str, topic_arn: str) -> dict[str, str]:
    """The variables notifier.core.settings.PollerSettings reads, every one set so the stack states its behaviour."""
    given = {
        STATE_TABLE.env: table_name,
        TOPIC.env: topic_arn,
        SERVICE_NAME.env: c.POLLER_SERVICE,
        # Record counts are parsed with the asset's Bedrock model, not with whatever the runtime's botocore has.
        SDK_DATA_PATH.env: f"{LAMBDA_TASK_ROOT}/{SDK_MODELS_DIR}",
    }
    return function_environment(config, POLLER, {k: v for k, v in given.items() if k})


class Poller(Construct):
    """The scheduled poller.

    Memory 256 MB: the work is I/O (Bedrock, DynamoDB, SNS), but at 128 MB importing boto3 and Powertools
    alone takes about a second of a much slower CPU share; 256 MB costs the same per poll or less.
    Timeout (default 240 s at a 5-minute rate) stays below the schedule, and reserved concurrency 1 makes
    any overlap impossible; the code stops taking work TIMEOUT_RESERVE_SECONDS before the timeout.
    Asynchronous invocations (the schedule's) live at most one schedule period and are not retried: a throttled
    or failed poll is not worth running late, the next scheduled one does the same work. What is dropped is
    recorded in the dead-letter queue (on-failure destination, and the rule target's DLQ). Bedrock's state-change
    events come through infra.fast_path's queue instead, where they do not expire.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NotifierConfig,
        code: lambda_.Code,
        table: dynamodb.ITable,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        dead_letter_queue: sqs.IQueue,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(config.schedule_minutes)
        self.handler = NotifierFunction(
            self,
            "Handler",
            code=code,
            handler=c.POLLER_HANDLER,
            service=c.POLLER_SERVICE,
            description="Polls Amazon Bedrock batch inference jobs and publishes their status changes",
            memory_mb=config.poller_memory_mb,
            timeout=Duration.seconds(config.poller_timeout_seconds),
            environment=poller_environment(config, table_name=table.table_name, topic_arn=topic.topic_arn),
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
            reserved_concurrency=config.reserved_concurrency,
            async_options=lambda_.EventInvokeConfigOptions(
                max_event_age=period,
                retry_attempts=0,
                on_failure=destinations.SqsDestination(dead_letter_queue),
            ),
        )
        self.function = self.handler.function
        self.role = self.handler.role

        # From the Service Authorization Reference: ListModelInvocationJobs has no resource type (only "*");
        # GetModelInvocationJob takes the model-invocation-job resource.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:ListModelInvocationJobs"], resources=["*"])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:GetModelInvocationJob"],
                resources=[
                    Stack.of(self).format_arn(service="bedrock", resource="model-invocation-job", resource_name="*")
                ],
            )
        )
        # The calls notifier.poller.job_store makes (tests/infra/test_iam.py records them and compares).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=[f"dynamodb:{a}" for a in POLLER_TABLE_ACTIONS], resources=[table.table_arn])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{index}" for index, _, _ in INDEXES]
            )
        )
        # sns:Publish also authorizes PublishBatch. Not topic.grant_publish: its key grant is kms:GenerateDataKey*,
        # and SNS needs only GenerateDataKey and Decrypt from a publisher of an encrypted topic.
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[topic_key.key_arn])
        )

        self.rule = events.Rule(
            self,
            "Schedule",
            description="Runs the Bedrock batch notifier's poller",
            schedule=events.Schedule.rate(period),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    # Only if EventBridge cannot hand the event to Lambda at all; then once, within the period.
                    retry_attempts=1,
                    max_event_age=period,
                    dead_letter_queue=dead_letter_queue,
                )
            ],
        )
