"""Logger and Metrics, created once, and the handlers' tracing; metric names shared with the CDK stack's alarms and
dashboard."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import boto3
import botocore
from aws_lambda_powertools import Logger, Metrics

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

# What the X-Ray SDK patches when tracing is on: the AWS calls (botocore) and Slack's (http.client, under urllib).
TRACED_MODULES = ("botocore", "httplib")

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)

Handler = TypeVar("Handler", bound=Callable[..., object])


def traced(handler: Handler) -> Handler:
    """Powertools Tracer's capture_lambda_handler when the `tracing` setting is on; the handler itself when off.

    Off, the X-Ray SDK is never imported: building a Tracer imports it and its recorder, sampler and clients, even
    when told it is disabled, and that is a large share of a cold start. Lambda's own active tracing still records
    each invocation either way.
    """
    from notifier.core.settings import TRACING  # settings imports this module's namespace

    if not TRACING.from_env(os.environ):
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(patch_modules=TRACED_MODULES)
    return tracer.capture_lambda_handler(capture_response=False)(handler)


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
