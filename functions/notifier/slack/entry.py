"""The Slack function: an SQS batch of SNS notifications (one transition each) -> Slack.

Returns ``{"batchItemFailures": [...]}``: a message that could not be delivered goes back to the queue on its
own (notifier.slack.batch says when it is offered again), a permanent failure goes to the DLQ at once.
A transition already delivered (SQS redelivery, SNS duplicate) is not posted again: Powertools Idempotency keyed
on transitionId.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from notifier.core.notice import Notice
from notifier.core.observability import log_cold_start, logger, metrics, traced
from notifier.core.settings import SlackSettings
from notifier.slack.batch import BatchDelivery, DeliveryMode, SlackDependencies
from notifier.slack.bot import ClaimWait
from notifier.slack.message_store import IDEMPOTENCY_KEY_PREFIX, SlackMessageStore, idempotency_layer
from notifier.slack.retry import Sleep
from notifier.slack.secret import SlackSecretSource


def _deliver_transition(*, notice: Notice, mode: DeliveryMode) -> dict[str, Any]:
    return mode.deliver(notice)


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    return {**(response or {}), "replayed": True}


def build_dependencies(
    settings: SlackSettings,
    *,
    sleep: Sleep = time.sleep,
    secrets_provider: SecretsProvider | None = None,
    claim_wait: ClaimWait | None = None,
) -> SlackDependencies:
    """The composition root: the real adapters, with boto3's default endpoint resolution (AWS_ENDPOINT_URL)."""
    dynamodb = boto3.client("dynamodb")
    config = IdempotencyConfig(
        # Powertools turns the Notice into a dict of its fields; the key is the hash of transition_id alone, the
        # same key as when the function took the document's "transitionId", so redeliveries across an upgrade match.
        event_key_jmespath="transition_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
        response_hook=_mark_replayed,
    )
    deliver_once = idempotent_function(
        _deliver_transition,
        data_keyword_argument="notice",
        persistence_store=idempotency_layer(settings.state_table_name, dynamodb),
        config=config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    return SlackDependencies(
        settings=settings,
        secrets=SlackSecretSource(settings.secret_arn, settings.secret_max_age_seconds, secrets_provider),
        store=SlackMessageStore(settings.state_table_name, dynamodb, ttl_days=settings.message_ttl_days),
        idempotency_config=config,
        deliver_once=deliver_once,
        sqs=boto3.client("sqs"),
        sleep=sleep,
        claim_wait=claim_wait,
    )


@functools.cache
def default_dependencies(settings: SlackSettings) -> SlackDependencies:
    """Built once per cold start (and per settings, which only tests change); tests pass their own instead."""
    return build_dependencies(settings)


@logger.inject_lambda_context
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext, dependencies: SlackDependencies | None = None) -> dict:
    return deliver_batch(event, context, dependencies or default_dependencies(SlackSettings.from_env()))


def deliver_batch(event: dict[str, Any], context: LambdaContext, dependencies: SlackDependencies) -> dict:
    dependencies.idempotency_config.register_lambda_context(context)
    batch = BatchDelivery(dependencies, remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000)
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return dict(
            process_partial_response(event=event, record_handler=batch.handle, processor=processor, context=context)
        )
    finally:
        batch.publish_metrics()


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    SlackSettings.from_env()  # fail the cold start, not the first batch, when the configuration is wrong
    log_cold_start()
