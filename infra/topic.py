"""The notification topic: one message per transition, fanned out to email, Slack and any other subscriber."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.deliveries import status_filter

__all__ = ["NotificationTopic", "apply_filter", "status_filter"]


def apply_filter(subscription: sns.Subscription, statuses: Iterable[str] | None) -> None:
    """Written on the L1 resource: the L2 filter_policy cannot say "$or"."""
    policy = status_filter(statuses)
    if policy is not None:
        resource = subscription.node.default_child
        assert isinstance(resource, sns.CfnSubscription)
        resource.filter_policy = policy


class NotificationTopic(Construct):
    """SNS topic encrypted with the messaging CMK, publishing over TLS only, with the configured emails.

    Email works with a KMS-encrypted topic as is: SNS decrypts before it sends. Each email subscription has
    a redrive policy to the dead-letter queue, so a notification SNS could not deliver is kept for 14 days.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        topic_name: str,
        display_name: str,
        emails: Iterable[tuple[str, frozenset[str] | None]],
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Topic", topic_name=topic_name, display_name=display_name, master_key=key, enforce_ssl=True
        )
        # The ARN spelled out from the name, not a Ref: the key policy can name this topic without the
        # key <-> topic reference cycle a Ref would make (the topic is encrypted with that key).
        self.topic_arn_literal = Stack.of(self).format_arn(service="sns", resource=topic_name)
        self.email_subscriptions: list[sns.Subscription] = []
        for address, statuses in emails:
            # Keyed by address: reordering the list must not replace (and re-confirm) a subscription.
            subscription = sns.Subscription(
                self,
                address,
                topic=self.topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=address,
                dead_letter_queue=dead_letter_queue,
            )
            apply_filter(subscription, statuses)
            self.email_subscriptions.append(subscription)
