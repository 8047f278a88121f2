"""Alarms to an ops topic, and a dashboard of what the notifier does."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.config import NotifierConfig
from infra.fast_path import FastPath
from infra.slack_delivery import SlackDelivery
from notifier.core.observability import (
    JOBS_TRACKED,
    METRICS_NAMESPACE,
    POLL_DURATION,
    POLL_FAILURES,
    PUBLISH_FAILURES,
    SLACK_MESSAGES_SENT,
    SLACK_PERMANENT_FAILURES,
    SLACK_RETRYABLE_FAILURES,
    TRANSITIONS_BY_STATUS,
    TRANSITIONS_DETECTED,
    TRANSITIONS_PUBLISHED,
)

FIVE_MINUTES = Duration.minutes(5)
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


def notifier_metric(name: str, service: str, *, period: Duration, statistic: str = "Sum") -> cloudwatch.Metric:
    """A Powertools metric: namespace BedrockBatchNotifier, dimension service = POWERTOOLS_SERVICE_NAME."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic=statistic,
        period=period,
    )


class Monitoring(Construct):
    """Alarms (each also notifies when it clears) and the dashboard.

    - PollerErrors: a failed poll (Lambda error or the PollFailures metric) in two consecutive periods; one
      failure alone heals itself, the next poll redoes the work.
    - PollerNotRunning: no invocation in three schedule periods (missing data counts as not running).
    - PublishFailures: SNS rejected publishes in two consecutive periods (the outbox retries meanwhile).
    - DeadLetterQueueNotEmpty / SlackDeadLetterQueueNotEmpty / StateChangeDeadLetterQueueNotEmpty: anything in a
      dead-letter queue.
    - SlackPermanentFailures: a message Slack will never accept (bad secret, channel not found).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NotifierConfig,
        key: kms.IKey,
        poller: lambda_.IFunction,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        fast_path: FastPath,
        slack: SlackDelivery | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._prefix = stack.stack_name
        period = Duration.minutes(config.schedule_minutes)

        self.ops_topic = sns.Topic(
            self, "OpsTopic", display_name="Bedrock batch notifier alarms", master_key=key, enforce_ssl=True
        )
        # CloudWatch publishes alarm notifications as a service: it needs the topic policy and the key policy,
        # both limited to this account's alarms named after this stack.
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=f"{self._prefix}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        self.ops_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowStackAlarms",
                principals=[CLOUDWATCH],
                actions=["sns:Publish"],
                resources=[self.ops_topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowStackAlarmsToUseTheKey",
                principals=[CLOUDWATCH],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=from_our_alarms,
            )
        )
        self.ops_subscriptions = [
            sns.Subscription(
                self,
                address,
                topic=self.ops_topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=address,
                dead_letter_queue=dead_letter_queue,
            )
            for address in config.ops_emails
        ]

        failed_polls = cloudwatch.MathExpression(
            expression="FILL(errors, 0) + FILL(failures, 0)",
            using_metrics={
                "errors": poller.metric_errors(period=period, statistic="Sum"),
                "failures": notifier_metric(POLL_FAILURES, c.POLLER_SERVICE, period=period),
            },
            label="Failed polls",
            period=period,
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            c.ALARM_POLLER_ERRORS,
            failed_polls,
            "Polls failed in two consecutive schedule periods; see the poller's log group.",
            threshold=1,
            periods=2,
        )
        self._alarm(
            c.ALARM_POLLER_NOT_RUNNING,
            poller.metric_invocations(period=period, statistic="Sum"),
            "The poller has not run for three schedule periods; check the EventBridge rule and throttles.",
            threshold=1,
            periods=3,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )
        self._alarm(
            c.ALARM_PUBLISH_FAILURES,
            notifier_metric(PUBLISH_FAILURES, c.POLLER_SERVICE, period=period),
            "SNS rejected publishes in two consecutive periods; the outbox keeps them, check the topic and key.",
            threshold=1,
            periods=2,
        )
        self._alarm(
            c.ALARM_DEAD_LETTERS,
            dead_letter_queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
            "A dropped poll or an undeliverable email is in the dead-letter queue.",
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            c.ALARM_FAST_PATH_DEAD_LETTERS,
            fast_path.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            f"A Bedrock state-change event was handed back {c.STATE_CHANGE_MAX_RECEIVE_COUNT} times (malformed, or "
            "its job unreadable for hours); the scheduled poll still covers its job.",
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        if slack is not None:
            self._alarm(
                c.ALARM_SLACK_PERMANENT_FAILURES,
                notifier_metric(SLACK_PERMANENT_FAILURES, c.SLACK_SERVICE, period=FIVE_MINUTES),
                "Slack refused a message for good (credentials, channel, or a secret still holding {}).",
                threshold=1,
            )
            self._alarm(
                c.ALARM_SLACK_DEAD_LETTERS,
                slack.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                "Slack messages failed five times and wait in the Slack DLQ; redrive them once Slack works.",
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )

        self.dashboard = self._dashboard(poller, topic, dead_letter_queue, fast_path, slack, period)

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float,
        periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=comparison,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(self.ops_topic))
        alarm.add_ok_action(actions.SnsAction(self.ops_topic))
        self.alarms[name] = alarm

    def _dashboard(
        self,
        poller: lambda_.IFunction,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        fast_path: FastPath,
        slack: SlackDelivery | None,
        period: Duration,
    ) -> cloudwatch.Dashboard:
        def poller_metric(name: str, label: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return notifier_metric(name, c.POLLER_SERVICE, period=period, statistic=statistic).with_(label=label)

        # SEARCH, so a status Bedrock adds later shows up without a deploy.
        by_status = cloudwatch.MathExpression(
            expression=(
                f'SEARCH(\'{{{METRICS_NAMESPACE},Status,service}} MetricName="{TRANSITIONS_BY_STATUS}" '
                f"service=\"{c.POLLER_SERVICE}\"', 'Sum', {int(period.to_seconds())})"
            ),
            using_metrics={},
            label="",
            period=period,
        )
        sent: list[cloudwatch.IMetric] = [
            poller_metric(TRANSITIONS_DETECTED, "Transitions detected"),
            poller_metric(TRANSITIONS_PUBLISHED, "Published to the topic"),
            topic.metric_number_of_notifications_delivered(period=period, label="Delivered by SNS"),
        ]
        failed: list[cloudwatch.IMetric] = [
            poller_metric(PUBLISH_FAILURES, "Publish failures"),
            topic.metric_number_of_notifications_failed(period=period, label="SNS delivery failures"),
        ]
        queues = [
            dead_letter_queue.metric_approximate_number_of_messages_visible(label="Dead-letter queue"),
            fast_path.queue.metric_approximate_number_of_messages_visible(label="State-change events waiting"),
            fast_path.dead_letter_queue.metric_approximate_number_of_messages_visible(label="State-change DLQ"),
        ]
        if slack is not None:
            sent.append(notifier_metric(SLACK_MESSAGES_SENT, c.SLACK_SERVICE, period=period).with_(label="Slack sent"))
            failed += [
                notifier_metric(SLACK_RETRYABLE_FAILURES, c.SLACK_SERVICE, period=period).with_(
                    label="Slack retryable failures"
                ),
                notifier_metric(SLACK_PERMANENT_FAILURES, c.SLACK_SERVICE, period=period).with_(
                    label="Slack permanent failures"
                ),
            ]
            queues += [
                slack.queue.metric_approximate_number_of_messages_visible(label="Slack queue"),
                slack.dead_letter_queue.metric_approximate_number_of_messages_visible(label="Slack DLQ"),
            ]
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{self._prefix}-{Aws.REGION}",
            default_interval=Duration.days(1),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Transitions by status", left=[by_status], stacked=True, width=12),
            cloudwatch.GraphWidget(
                title="Jobs tracked (not terminal)",
                left=[poller_metric(JOBS_TRACKED, "Jobs tracked", "Maximum")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Poll duration (ms)",
                left=[
                    poller_metric(POLL_DURATION, "Average", "Average"),
                    poller_metric(POLL_DURATION, "Maximum", "Maximum"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Poller runs",
                left=[
                    poller.metric_invocations(period=period, label="Invocations"),
                    poller.metric_errors(period=period, label="Errors"),
                    poller.metric_throttles(period=period, label="Throttles"),
                    poller_metric(POLL_FAILURES, "Poll failures"),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Notifications sent", left=sent, width=8),
            cloudwatch.GraphWidget(title="Notifications failed", left=failed, width=8),
            cloudwatch.GraphWidget(title="Queues (messages visible)", left=queues, width=8),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),
        )
        return dashboard
