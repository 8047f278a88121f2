"""Slack delivery: a queue subscribed to the topic, its DLQ, the Slack function and the secret it reads."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.config import NotifierConfig, function_environment
from infra.function import NotifierFunction
from infra.topic import apply_filter
from notifier.core.settings import SERVICE_NAME, SLACK, SLACK_SECRET, STATE_TABLE

SNS = iam.ServicePrincipal("sns.amazonaws.com")
SLACK_TABLE_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
SECRET_FILE = "slack-secret.json"  # noqa: S105 (a file name, read by the AWS CLI: the value stays out of shell history)


def put_secret_command(secret_arn: str) -> str:
    """The line that stores the Slack credentials from a file (docs/slack.md says what goes in it)."""
    return (
        f"aws secretsmanager put-secret-value --region {Aws.REGION} --secret-id {secret_arn}"
        f" --secret-string file://{SECRET_FILE}"
    )


def slack_environment(config: NotifierConfig, *, secret_arn: str, table_name: str) -> dict[str, str]:
    """The variables notifier.core.settings.SlackSettings reads that the stack decides (internal ones stay unset)."""
    given = {SLACK_SECRET.env: secret_arn, STATE_TABLE.env: table_name, SERVICE_NAME.env: c.SLACK_SERVICE}
    return function_environment(config, SLACK, {k: v for k, v in given.items() if k})


class SlackDelivery(Construct):
    """Topic -> SQS (SNS envelope bodies, raw delivery off) -> Slack function -> Slack.

    Ten messages a batch and at most two concurrent batches keep under Slack's rate limits; the function
    reports failed items only. A retryable failure returns after a delay the function sets from the message's
    receive count (2 s doubling to 15 minutes); maxReceiveCount is sized with those delays so that hours of Slack
    trouble pass before the DLQ (notifier.core.redelivery). A permanent failure is moved to the DLQ (14 days) by
    the function itself. The queue's own visibility timeout (six times the function timeout, as AWS advises for
    SQS event sources) applies when the function could not set one.
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
        topic_arn_literal: str,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = Duration.seconds(config.slack_timeout_seconds)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(c.DEAD_LETTER_RETENTION_DAYS),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(config.slack_timeout_seconds * c.SLACK_VISIBILITY_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=c.SLACK_MAX_RECEIVE_COUNT
            ),
        )
        # SNS delivers to the encrypted queues on behalf of this topic only: queue policies (the DLQ's comes
        # with the subscription's redrive policy) and a key policy statement conditioned on the topic's ARN.
        # Wired by hand rather than with SqsSubscription, whose key statement would Ref the topic: the topic
        # is encrypted with the same key, so CloudFormation would see a cycle.
        queue_policy = self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[SNS],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowNotificationTopicToSlackQueues",
                principals=[SNS],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": topic_arn_literal}},
            )
        )
        # Raw delivery off: each body is the SNS envelope, which the Slack function parses.
        self.subscription = sns.Subscription(
            self,
            "Subscription",
            topic=topic,
            protocol=sns.SubscriptionProtocol.SQS,
            endpoint=self.queue.queue_arn,
            raw_message_delivery=False,
            dead_letter_queue=self.dead_letter_queue,
        )
        apply_filter(self.subscription, config.slack_statuses)
        if queue_policy.policy_dependable is not None:  # SNS may deliver as soon as the subscription exists
            self.subscription.node.add_dependency(queue_policy.policy_dependable)

        self.secret = self._secret(config, removal_policy)
        self.handler = NotifierFunction(
            self,
            "Handler",
            code=code,
            handler=c.SLACK_HANDLER,
            service=c.SLACK_SERVICE,
            description="Posts Bedrock batch job status changes to Slack",
            memory_mb=config.slack_memory_mb,
            timeout=timeout,
            environment=slack_environment(config, secret_arn=self.secret.secret_arn, table_name=table.table_name),
            log_retention_days=config.log_retention_days,
            removal_policy=removal_policy,
        )
        self.function = self.handler.function
        self.role = self.handler.role
        self.secret.grant_read(self.role)
        # Powertools idempotency records and notifier.slack.message_store's job -> Slack message mapping: items only.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=[f"dynamodb:{a}" for a in SLACK_TABLE_ACTIONS], resources=[table.table_arn])
        )
        # A permanent failure is sent to the DLQ by the function (found through the queue's redrive policy, which
        # the event source's sqs:GetQueueAttributes lets it read): SendMessage on that queue, and a data key of
        # the queues' key to encrypt it with (kms:Decrypt comes with the event source).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn])
        )
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[key.key_arn]))
        # Grants receive, delete, sqs:GetQueueAttributes and sqs:ChangeMessageVisibility (the function's redelivery
        # delays), and kms:Decrypt on the queue's key.
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=c.SLACK_BATCH_SIZE,
                max_concurrency=c.SLACK_MAX_CONCURRENCY,
                report_batch_item_failures=True,
            )
        )
        self.put_secret_command = put_secret_command(self.secret.secret_arn)

    def _secret(self, config: NotifierConfig, removal_policy: RemovalPolicy) -> secretsmanager.ISecret:
        if config.slack_secret_arn:
            return secretsmanager.Secret.from_secret_complete_arn(self, "Secret", config.slack_secret_arn)
        if config.slack_secret_name:
            return secretsmanager.Secret.from_secret_name_v2(self, "Secret", config.slack_secret_name)
        # Created holding "{}": the credentials are put afterwards (see the SlackSecretPutCommand output), never
        # in the template. The Slack function reports a permanent failure until they are, which alarms.
        secret = secretsmanager.Secret(
            self,
            "Secret",
            description='Slack credentials of the Bedrock batch notifier: {"webhookUrl": ...} or {"botToken": ..., "channel": ...}',
            secret_object_value={},
            removal_policy=removal_policy,
        )
        return secret
