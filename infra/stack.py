"""The stack: the notifier construct, and the outputs scripts and people need."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Stack
from constructs import Construct

from infra import __version__
from infra import constants as c
from infra.config import NotifierConfig
from infra.notifier import BedrockBatchNotifier


class NotifierStack(Stack):
    """Environment-agnostic (no account or region): synthesizes offline, deploys wherever the CLI points."""

    def __init__(self, scope: Construct, *, config: NotifierConfig) -> None:
        super().__init__(
            scope,
            config.stack_name,
            stack_name=config.stack_name,
            description="Notifications for Amazon Bedrock batch inference jobs (email, Slack, SNS)",
        )
        # "Default": CDK leaves this id out of logical ids, so the resources keep the ids they had when the
        # stack held them directly (an upgrade must not replace the table, the key or the subscriptions).
        self.notifier = BedrockBatchNotifier(self, "Default", config=config)
        self.config = config
        self.key = self.notifier.key
        self.dead_letters = self.notifier.dead_letters
        self.state_table = self.notifier.state_table
        self.notifications = self.notifier.notifications
        self.poller = self.notifier.poller
        self.fast_path = self.notifier.fast_path
        self.slack = self.notifier.slack
        self.monitoring = self.notifier.monitoring
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
            c.OUTPUT_DEAD_LETTER_QUEUE_ARN: (
                "Dropped polls and undeliverable emails (inspect and purge; not redriven)",
                self.dead_letters.queue.queue_arn,
            ),
            c.OUTPUT_POLLER_FUNCTION_NAME: ("The poller (invoke it to poll now)", self.poller.function.function_name),
            c.OUTPUT_POLLER_LOG_GROUP_NAME: ("The poller's logs", self.poller.handler.log_group.log_group_name),
            c.OUTPUT_POLLER_SCHEDULE_RULE_NAME: ("The poller's schedule", self.poller.rule.rule_name),
            c.OUTPUT_VERSION: ("Version of the notifier deployed", __version__),
        }
        outputs[c.OUTPUT_STATE_CHANGE_DEAD_LETTER_QUEUE_URL] = (
            "Bedrock state-change events the poller could not handle",
            self.fast_path.dead_letter_queue.queue_url,
        )
        outputs[c.OUTPUT_STATE_CHANGE_DEAD_LETTER_QUEUE_ARN] = (
            "Bedrock state-change events the poller could not handle (the scheduled poll covers their jobs)",
            self.fast_path.dead_letter_queue.queue_arn,
        )
        if self.slack is not None:
            outputs[c.OUTPUT_SLACK_SECRET_ARN] = ("Slack credentials (JSON)", self.slack.secret.secret_arn)
            outputs[c.OUTPUT_SLACK_SECRET_COMMAND] = (
                "Stores the Slack credentials from slack-secret.json",
                self.slack.put_secret_command,
            )
            outputs[c.OUTPUT_SLACK_DEAD_LETTER_QUEUE_URL] = (
                "Slack messages that failed five times",
                self.slack.dead_letter_queue.queue_url,
            )
            outputs[c.OUTPUT_SLACK_DEAD_LETTER_QUEUE_ARN] = (
                "Slack messages that failed five times (redrive them to the Slack queue)",
                self.slack.dead_letter_queue.queue_arn,
            )
            outputs[c.OUTPUT_SLACK_QUEUE_ARN] = ("The Slack function's queue", self.slack.queue.queue_arn)
            outputs[c.OUTPUT_SLACK_LOG_GROUP_NAME] = (
                "The Slack function's logs",
                self.slack.handler.log_group.log_group_name,
            )
        for output_id, (description, value) in outputs.items():
            CfnOutput(self, output_id, description=description, value=value)
