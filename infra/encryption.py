"""The customer managed key of the stack's messaging: both SNS topics and the Slack queues."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


class MessagingKey(Construct):
    """A rotating CMK. Services that deliver through it (SNS to SQS, CloudWatch to SNS) get their key policy
    statements from the construct that wires them up, next to the reason they need it."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the Bedrock batch notifier's SNS topics and Slack queues",
            enable_key_rotation=True,
            # Only in-flight messages depend on it; a week is enough to notice a mistaken deletion.
            pending_window=Duration.days(7),
            removal_policy=removal_policy,
        )
