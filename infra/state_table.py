"""The state table: job states, the poll cursor, the outbox, and the Slack function's records."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from notifier.core.table_layout import INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class StateTable(Construct):
    """The layout of notifier.core.table_layout, declared once for AWS.

    On demand: a poll every few minutes costs fractions of a cent, provisioned capacity would cost more idle.
    Encryption uses the AWS managed key (aws/dynamodb): the table holds job names, ARNs and S3 URIs, not
    secrets; a CMK would add a dollar a month and a key policy every reader must be granted, for no reader
    we need to exclude (access is already scoped by IAM to the two functions).
    """

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string(PARTITION_KEY),
            sort_key=_string(SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=retain,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        # Sparse indexes: only the items that carry their keys (open jobs, jobs with unpublished notices).
        for index, partition_key, sort_key in INDEXES:
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=_string(partition_key),
                sort_key=_string(sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
