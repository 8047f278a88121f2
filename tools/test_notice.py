"""The test notice: a schemaVersion 1 document of kind "test", clearly marked, never taken for a job's status.

It carries every field of a transition (so any subscriber parses it) with values no real job has: status
"Test", a job name and ARN of its own, a fresh transitionId each time (so no deduplication swallows it). The
stack's own email and Slack subscriptions admit kind "test" whatever their status filter (infra/topic.py); a
subscriber filtering on status, model or job name does not receive it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from notifier.core.notice import KIND_TEST, SCHEMA_VERSION
from notifier.core.timefmt import isoformat

TEST_STATUS = "Test"
TEST_JOB_NAME = "notifier-test-notification"
TEST_MODEL_ID = "none (test notification)"
SUBJECT = "[TEST] Bedrock batch notifier: test notification"


def topic_region_and_account(topic_arn: str) -> tuple[str, str]:
    """arn:aws:sns:REGION:ACCOUNT:NAME -> (REGION, ACCOUNT)."""
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[4].isdigit():
        raise ValueError(f"{topic_arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return parts[3], parts[4]


def build_test_notice(topic_arn: str, now: datetime, sent_by: str, transition_id: str | None = None) -> dict[str, Any]:
    region, account = topic_region_and_account(topic_arn)
    transition = transition_id or uuid.uuid4().hex
    moment = isoformat(now)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": KIND_TEST,
        "transitionId": transition,
        "jobArn": f"arn:aws:bedrock:{region}:{account}:model-invocation-job/test-{transition[:12]}",
        "jobName": TEST_JOB_NAME,
        "modelId": TEST_MODEL_ID,
        "region": region,
        "accountId": account,
        "previousStatus": None,
        "status": TEST_STATUS,
        "submitTime": moment,
        "lastModifiedTime": moment,
        "endTime": None,
        "message": f"Test notification sent by {sent_by}; no batch job changed status.",
        "records": {"total": None, "processed": None, "success": None, "error": None},
        "inputS3Uri": None,
        "outputS3Uri": None,
        "consoleUrl": f"https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/batch-inference",
        "detectedAt": moment,
        "outcome": None,
        "severity": "info",
        "errorRate": None,
    }


def email_text(document: dict[str, Any], topic_arn: str) -> str:
    return "\n".join(
        [
            "TEST NOTIFICATION: no Bedrock batch job changed status.",
            "",
            f"{document['message']} If you read this, email delivery from the notifier works; Slack, when it is",
            "on, gets the same test as a message marked TEST.",
            "",
            f"Topic:          {topic_arn}",
            f"Account:        {document['accountId']} ({document['region']})",
            f"Sent at:        {document['detectedAt']}",
            f"Transition id:  {document['transitionId']}",
        ]
    )


def message_attributes(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The attributes a transition carries, plus kind: filters on status, model or job name leave it out."""
    values = {
        "kind": KIND_TEST,
        "status": TEST_STATUS,
        "previousStatus": "none",
        "modelId": str(document["modelId"]),
        "jobName": str(document["jobName"]),
        "severity": "info",  # a filter on severity warning or critical leaves it out, as a status filter does
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def publish_request(topic_arn: str, document: dict[str, Any]) -> dict[str, Any]:
    """The arguments of sns.publish, structured as the poller's (JSON document by default, text for email)."""
    body = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return {
        "TopicArn": topic_arn,
        "Subject": SUBJECT,
        "MessageStructure": "json",
        "Message": json.dumps({"default": body, "email": email_text(document, topic_arn)}, ensure_ascii=False),
        "MessageAttributes": message_attributes(document),
    }
