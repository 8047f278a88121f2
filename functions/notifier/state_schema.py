"""The state table's layout: the one definition the CDK stack, the functions and the local sandbox share.

One table, two string keys. Item kinds (pk / sk):
  job state        JOB#<jobArn>    / STATE      status and last seen fields of one job
  outbox entry     OUTBOX          / <detectedAt>#<transitionId>   a detected transition not yet published
  poll cursor      CURSOR          / CURSOR     the submit-time watermark
  Slack message    SLACK#<jobArn>  / <channel>  the ts of the job's Slack message (bot-token mode)
  idempotency      IDEMPOTENCY#... / ...        Powertools Idempotency records of the Slack function
Jobs that are not terminal carry the sparse OPEN_INDEX keys, so one Query lists every tracked open job.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expiresAt"

OPEN_INDEX = "open-jobs"
OPEN_INDEX_PARTITION_KEY = "openPk"
OPEN_INDEX_SORT_KEY = "openSk"
OPEN_INDEX_PARTITION_VALUE = "OPEN"

JOB_PREFIX = "JOB#"
JOB_SORT_VALUE = "STATE"
OUTBOX_PARTITION = "OUTBOX"
CURSOR_PARTITION = "CURSOR"
CURSOR_SORT_VALUE = "CURSOR"
SLACK_PREFIX = "SLACK#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"


def job_key(job_arn: str) -> dict[str, str]:
    return {PARTITION_KEY: JOB_PREFIX + job_arn, SORT_KEY: JOB_SORT_VALUE}


def cursor_key() -> dict[str, str]:
    return {PARTITION_KEY: CURSOR_PARTITION, SORT_KEY: CURSOR_SORT_VALUE}


def create_table_request(table_name: str) -> dict[str, Any]:
    """DynamoDB CreateTable arguments for the table the stack declares (used by tests and the sandbox)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": OPEN_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": OPEN_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": OPEN_INDEX,
                "KeySchema": [
                    {"AttributeName": OPEN_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": OPEN_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
