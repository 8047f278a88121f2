"""The notifier as one construct: everything the stack deploys, for this project's stack or a user's own."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack, Tags
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


class BedrockBatchNotifier(Construct):
    """Key, state table, topic, poller and its fast path, Slack delivery (when configured) and monitoring.

    Resource names (topic, alarms, dashboard) start with the enclosing stack's name, so one notifier fits in a
    stack. Its resources are attributes; the stack that holds it decides the outputs. NotifierStack adds it
    with the id "Default", which CDK leaves out of logical ids: the resources keep the ids they had when the
    stack held them directly, and an upgrade replaces nothing.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: NotifierConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        name_prefix = Stack.of(self).stack_name
        removal_policy = RemovalPolicy.DESTROY if config.destroy_on_delete else RemovalPolicy.RETAIN
        code = function_code()

        self.key = MessagingKey(self, c.KEY_ID, removal_policy=removal_policy).key
        self.dead_letters = DeadLetters(self, c.DEAD_LETTERS_ID)
        self.state_table = StateTable(self, c.STATE_TABLE_ID, retain=not config.destroy_on_delete)
        self.notifications = NotificationTopic(
            self,
            c.TOPIC_ID,
            key=self.key,
            topic_name=f"{name_prefix}-notifications",
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
