"""SNS: publish one message to the notification topic."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.problems import Problem, error_code, explain_aws

_KMS_CODES = frozenset(
    {"KMSAccessDenied", "KMSDisabled", "KMSInvalidState", "KMSNotFound", "KMSOptInRequired", "KMSThrottling"}
)


def publish(sns: Any, request: dict[str, Any]) -> str:
    """The SNS MessageId; Problem naming the topic for each way the publish can be refused."""
    topic_arn = request["TopicArn"]
    region = sns.meta.region_name
    try:
        return str(sns.publish(**request)["MessageId"])
    except ClientError as error:
        code = error_code(error)
        if code == "NotFound":
            raise Problem(
                f"topic {topic_arn} not found: check the stack's TopicArn output and --region ({region})"
            ) from None
        if code in _KMS_CODES:
            raise Problem(
                f"SNS could not use the KMS key of topic {topic_arn} ({code}): your credentials need kms:GenerateDataKey and "
                "kms:Decrypt on the stack's MessagingKey, and the key must be enabled"
            ) from None
        raise explain_aws(error, action=f"sns:Publish on {topic_arn}", region=region) or error from None
    except BotoCoreError as error:
        raise explain_aws(error, action=f"sns:Publish on {topic_arn}", region=region) or error from None
