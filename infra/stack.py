"""The stack: composes one construct per concern and exposes the outputs scripts and people need."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, RemovalPolicy, Stack, Tags
from constructs import Construct

from infra import constants as c
from infra.bundling import function_code
from infra.config import NotifierConfig
from infra.dead_letters import DeadLetters
from infra.encryption import MessagingKey
from infra.fast_path import FastPath
from infra.monitoring import Monitoring
from infra.poller import Poller
from infra.slack_delivery import SlackDelivery
from infra.state_table import StateTable
from infra.topic import NotificationTopic


class NotifierStack(Stack):
    """Environment-agnostic (no account or region): synthesizes offline, deploys wherever the CLI points."""

    def __init__(self, scope: Construct, *, config: NotifierConfig) -> None:
        super().__init__(
            scope,
            config.stack_name,
            stack_name=config.stack_name,
            description="Notifications for Amazon Bedrock batch inference jobs (email, Slack, SNS)",
        )
        self.config = config
        removal_policy = RemovalPolicy.DESTROY if config.destroy_on_delete else RemovalPolicy.RETAIN
        code = function_code()

        self.key = MessagingKey(self, c.KEY_ID, removal_policy=removal_policy).key
        self.dead_letters = DeadLetters(self, c.DEAD_LETTERS_ID)
        self.state_table = StateTable(self, c.STATE_TABLE_ID, retain=not config.destroy_on_delete)
        self.notifications = NotificationTopic(
            self,
            c.TOPIC_ID,
            key=self.key,
            topic_name=f"{config.stack_name}-notifications",
            display_name="Bedrock batch jobs",
            emails=[(e.address, config.email_filter(e)) for e in config.emails],
            dead_letter_queue=self.dead_letters.queue,
        )
        self.poller = Poller(
            self,
            c.POLLER_ID,
            config=config,
            code=code,
            table=self.state_table.table,
            topic=self.notifications.topic,
            topic_key=self.key,
            dead_letter_queue=self.dead_letters.queue,
            removal_policy=removal_policy,
        )
        self.fast_path = FastPath(
            self,
            c.FAST_PATH_ID,
            config=config,
            poller=self.poller.function,
            dead_letter_queue=self.dead_letters.queue,
        )
        self.slack = (
            SlackDelivery(
                self,
                c.SLACK_ID,
                config=config,
                code=code,
                table=self.state_table.table,
                topic=self.notifications.topic,
                topic_arn_literal=self.notifications.topic_arn_literal,
                key=self.key,
                removal_policy=removal_policy,
            )
            if config.slack
            else None
        )
        self.monitoring = Monitoring(
            self,
            c.MONITORING_ID,
            config=config,
            key=self.key,
            poller=self.poller.function,
            topic=self.notifications.topic,
            dead_letter_queue=self.dead_letters.queue,
            fast_path=self.fast_path,
            slack=self.slack,
        )
        Tags.of(self).add("project", c.PROJECT_TAG)
        self._outputs()

    def _outputs(self) -> None:
        dashboard = self.monitoring.dashboard.dashboard_name
        outputs = {
            c.OUTPUT_TOPIC_ARN: (
                "Subscribe here (filter on status, modelId, jobName)",
                self.notifications.topic.topic_arn,
            ),
            c.OUTPUT_STATE_TABLE_NAME: ("The poller's state table", self.state_table.table.table_name),
            c.OUTPUT_OPS_TOPIC_ARN: ("Alarm notifications", self.monitoring.ops_topic.topic_arn),
            c.OUTPUT_DASHBOARD_URL: (
                "CloudWatch dashboard",
                f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}#dashboards/dashboard/{dashboard}",
            ),
            c.OUTPUT_DEAD_LETTER_QUEUE_URL: (
                "Dropped polls and undeliverable emails",
                self.dead_letters.queue.queue_url,
            ),
        }
        outputs[c.OUTPUT_STATE_CHANGE_DEAD_LETTER_QUEUE_URL] = (
            "Bedrock state-change events the poller could not handle",
            self.fast_path.dead_letter_queue.queue_url,
        )
        if self.slack is not None:
            outputs[c.OUTPUT_SLACK_SECRET_ARN] = ("Slack credentials (JSON)", self.slack.secret.secret_arn)
            outputs[c.OUTPUT_SLACK_SECRET_COMMAND] = ("Stores the Slack webhook URL", self.slack.put_secret_command)
            outputs[c.OUTPUT_SLACK_DEAD_LETTER_QUEUE_URL] = (
                "Slack messages that failed five times",
                self.slack.dead_letter_queue.queue_url,
            )
        for output_id, (description, value) in outputs.items():
            CfnOutput(self, output_id, description=description, value=value)
