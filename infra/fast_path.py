"""The fast path: Bedrock's state-change events, buffered in a queue that the poller drains in batches."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.config import NotifierConfig


class FastPath(Construct):
    """EventBridge rule "Batch Inference Job State Change" -> SQS -> the poller (batches) -> same dedupe as the poll.

    Bedrock's events reach the poller within seconds and name jobs the listing may not show yet; the schedule stays
    the safety net. Not straight to the function: behind a running poll (reserved concurrency 1) asynchronous
    events wait at most one schedule period and then expire into the dead-letter queue, an alarm about nothing
    lost. Queued, they wait as long as it takes, and one invocation reads many jobs. A message the poller hands
    back (malformed, its job unreadable, no time left) returns after the visibility timeout; after
    STATE_CHANGE_MAX_RECEIVE_COUNT receives it moves to this path's own DLQ, which is alarmed.

    SQS-managed encryption, like the stack's dead-letter queue: EventBridge writes here, and its KMS requests carry
    no aws:SourceArn a key policy could be limited by. The queue policy limits the writer to this rule.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NotifierConfig,
        poller: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(c.DEAD_LETTER_RETENTION_DAYS),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(c.STATE_CHANGE_RETENTION_DAYS),
            visibility_timeout=Duration.seconds(config.poller_timeout_seconds * c.STATE_CHANGE_VISIBILITY_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=c.STATE_CHANGE_MAX_RECEIVE_COUNT
            ),
        )
        period = Duration.minutes(config.schedule_minutes)
        self.rule = events.Rule(
            self,
            "JobStateChanges",
            description="Queues Bedrock batch inference job state changes for the notifier's poller",
            event_pattern=events.EventPattern(source=["aws.bedrock"], detail_type=[c.JOB_STATE_CHANGE_DETAIL_TYPE]),
            targets=[
                # Only if EventBridge cannot write to the queue at all: retried, then the stack's dead-letter queue.
                targets.SqsQueue(
                    self.queue, retry_attempts=2, max_event_age=period, dead_letter_queue=dead_letter_queue
                )
            ],
        )
        # Grants the poller's role receive, delete and GetQueueAttributes on the queue.
        self.event_source = event_sources.SqsEventSource(
            self.queue,
            batch_size=c.STATE_CHANGE_BATCH_SIZE,
            max_batching_window=Duration.seconds(c.STATE_CHANGE_BATCHING_WINDOW_SECONDS),
            max_concurrency=c.STATE_CHANGE_MAX_CONCURRENCY,
            report_batch_item_failures=True,
        )
        poller.add_event_source(self.event_source)
