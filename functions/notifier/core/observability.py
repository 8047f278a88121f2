"""Logger, Metrics and Tracer, created once; metric names shared with the CDK stack's alarms and dashboard."""

from __future__ import annotations

import os

import boto3
import botocore
from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "BedrockBatchNotifier"

# Poller
JOBS_LISTED = "JobsListed"
LIST_PAGES = "ListPages"
JOBS_TRACKED = "JobsTracked"
TRANSITIONS_DETECTED = "TransitionsDetected"
TRANSITIONS_PUBLISHED = "TransitionsPublished"
PUBLISH_FAILURES = "PublishFailures"
POLL_DURATION = "PollDurationMs"
POLL_FAILURES = "PollFailures"
UNKNOWN_STATUSES = "UnknownStatuses"
# Per-status transition counts carry a "Status" dimension.
TRANSITIONS_BY_STATUS = "Transitions"

# Slack function
SLACK_MESSAGES_SENT = "SlackMessagesSent"
SLACK_RETRYABLE_FAILURES = "SlackRetryableFailures"
SLACK_PERMANENT_FAILURES = "SlackPermanentFailures"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
tracer = Tracer()


def log_cold_start() -> None:
    """Which SDK parses the AWS responses: the Lambda runtime's own, which changes under a deployed function.

    AWS_DATA_PATH is where the asset's own service models are (the poller's Bedrock model, for the record counts).
    """
    extra = {
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "awsDataPath": os.environ.get("AWS_DATA_PATH"),
    }
    logger.info("Cold start", extra=extra)
