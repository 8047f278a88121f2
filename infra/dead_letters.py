"""Where deliveries outside Slack end up when they fail: dropped polls and undeliverable emails."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import DEAD_LETTER_RETENTION_DAYS


class DeadLetters(Construct):
    """One queue, for inspection only (nothing in it is meant to be redriven):
    - the poller's asynchronous invocations that failed or expired (Lambda on-failure destination record),
    - scheduled events EventBridge could not hand to Lambda (rule target DLQ),
    - notifications SNS could not deliver to an email subscription (subscription redrive policy).

    SQS-managed encryption rather than the CMK: three AWS services write here, and EventBridge's KMS requests
    carry no aws:SourceArn / aws:SourceAccount, so a CMK would need a key policy grant to events.amazonaws.com
    that nothing could scope to this stack. The queue policy does scope each writer to its own source ARN.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
        )
