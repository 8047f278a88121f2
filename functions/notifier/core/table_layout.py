"""The state table's layout: the one definition the CDK stack, the functions and the local sandbox share.

One table, two string keys. Item kinds (pk / sk):
  job state        JOB#<jobArn>    / STATE      status, last seen fields, and the job's unpublished notices
  poll cursor      CURSOR          / CURSOR     the submit-time watermark
  send window      SENDWINDOW      / <second>   messages published in that wall-clock second, by every run
  Slack message    SLACK#<jobArn>  / <channel>  the ts of the job's Slack message (bot-token mode)
  idempotency      IDEMPOTENCY#... / ...        Powertools Idempotency records of the Slack function
Two sparse indexes over job items: jobs that are not terminal carry the OPEN_INDEX keys, so one Query
lists every tracked open job; jobs with unpublished notices (the outbox, kept in the job item so that a
status and its notice are written by one conditional put) carry the PENDING_INDEX keys.
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

PENDING_INDEX = "pending-notices"
PENDING_INDEX_PARTITION_KEY = "pendingPk"
PENDING_INDEX_SORT_KEY = "pendingSk"
PENDING_INDEX_PARTITION_VALUE = "PENDING"
PENDING_ATTRIBUTE = "pending"  # map transitionId -> notice document (JSON)
# A run that publishes a job's pending notices claims them first (owner, and epoch seconds until the claim lapses).
CLAIM_OWNER_ATTRIBUTE = "claimedBy"
CLAIM_UNTIL_ATTRIBUTE = "claimedUntil"

# (index name, partition key, sort key); both project every attribute.
INDEXES = (
    (OPEN_INDEX, OPEN_INDEX_PARTITION_KEY, OPEN_INDEX_SORT_KEY),
    (PENDING_INDEX, PENDING_INDEX_PARTITION_KEY, PENDING_INDEX_SORT_KEY),
)

JOB_PREFIX = "JOB#"
JOB_SORT_VALUE = "STATE"
CURSOR_PARTITION = "CURSOR"
CURSOR_SORT_VALUE = "CURSOR"
SEND_WINDOW_PARTITION = "SENDWINDOW"
SLACK_PREFIX = "SLACK#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"


def job_key(job_arn: str) -> dict[str, str]:
    return {PARTITION_KEY: JOB_PREFIX + job_arn, SORT_KEY: JOB_SORT_VALUE}


def cursor_key() -> dict[str, str]:
    return {PARTITION_KEY: CURSOR_PARTITION, SORT_KEY: CURSOR_SORT_VALUE}


def send_window_key(second: int) -> dict[str, str]:
    return {PARTITION_KEY: SEND_WINDOW_PARTITION, SORT_KEY: str(second)}


def create_table_request(table_name: str) -> dict[str, Any]:
    """DynamoDB CreateTable arguments for the table the stack declares (used by tests and the sandbox)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (PARTITION_KEY, SORT_KEY, *(key for _, pk, sk in INDEXES for key in (pk, sk)))
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, partition, sort in INDEXES
        ],
    }
