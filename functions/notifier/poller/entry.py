"""Lambda entry point of the poller: a scheduled poll, or the jobs named by Bedrock state-change events, one by
one or as the SQS batch the fast-path queue hands over."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from notifier.core.errors import InvalidEvent, JobNotRead
from notifier.core.observability import (
    JOBS_LISTED,
    JOBS_TRACKED,
    LIST_PAGES,
    POLL_DURATION,
    POLL_FAILURES,
    PUBLISH_FAILURES,
    TRANSITIONS_BY_STATUS,
    TRANSITIONS_DETECTED,
    TRANSITIONS_PUBLISHED,
    UNKNOWN_STATUSES,
    log_cold_start,
    logger,
    metrics,
    traced,
)
from notifier.core.settings import PollerSettings
from notifier.poller.bedrock import BedrockJobs
from notifier.poller.job_store import StateStore
from notifier.poller.poll import Deadline, Poll, PollReport
from notifier.poller.ports import JobSource, JobStore, NoticeSink
from notifier.poller.publisher import NoticePublisher

SCHEDULED = "Scheduled Event"
JOB_STATE_CHANGE = "Batch Inference Job State Change"
SQS_SOURCE = "aws:sqs"


@dataclass(frozen=True)
class Dependencies:
    bedrock: JobSource
    store: JobStore
    publisher: NoticeSink
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the Lambda's clock


def build_dependencies(settings: PollerSettings) -> Dependencies:
    """The composition root: the real adapters, with boto3's default endpoint resolution (AWS_ENDPOINT_URL)."""
    store = StateStore(settings.state_table_name)
    return Dependencies(
        bedrock=BedrockJobs(),
        store=store,
        # The state table keeps the send window, so every running poller shares one pace.
        publisher=NoticePublisher(settings.topic_arn, settings.publish_max_per_second, window=store),
    )


@functools.cache
def default_dependencies(settings: PollerSettings) -> Dependencies:
    """Built once per cold start (and per settings, which only tests change); tests pass their own instead."""
    return build_dependencies(settings)


def job_arn_of(event: dict[str, Any]) -> str | None:
    """The job a state-change event names, or None for a full poll; InvalidEvent for any other event."""
    if not isinstance(event, dict):
        raise InvalidEvent("the event is not a JSON object")
    kind = event.get("detail-type")
    if kind == SCHEDULED:
        return None
    if kind == JOB_STATE_CHANGE:
        detail = event.get("detail")
        detail = detail if isinstance(detail, dict) else {}
        resources = event.get("resources")
        resources = resources if isinstance(resources, list) else []
        candidates = [detail.get("batchJobArn"), detail.get("jobArn"), *resources]
        for arn in candidates:
            if isinstance(arn, str) and ":model-invocation-job/" in arn:
                return arn
        # Something changed but the event does not say which job: a full poll finds it.
        logger.warning("State-change event without a job ARN; running a full poll", extra={"event_id": event.get("id")})
        return None
    raise InvalidEvent(
        f"detail-type {kind!r} is not handled (accepted: {SCHEDULED!r} from an EventBridge schedule, "
        f"{JOB_STATE_CHANGE!r} from Bedrock)"
    )


def is_queued_batch(event: Any) -> bool:
    """An SQS batch from the fast-path queue (each body an EventBridge event), not an EventBridge event itself."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == SQS_SOURCE for r in records)
    )


def queued_event(record: SQSRecord) -> dict[str, Any]:
    """The EventBridge event an SQS message of the fast-path queue carries."""
    try:
        event = json.loads(record.body)
    except (TypeError, ValueError):
        raise InvalidEvent(f"SQS message {record.message_id} does not carry a JSON event") from None
    if not isinstance(event, dict):
        raise InvalidEvent(f"SQS message {record.message_id} does not carry a JSON object")
    return event


def _account_of(context: LambdaContext) -> str:
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _emit(report: PollReport, duration_ms: float) -> None:
    metrics.add_metric(name=JOBS_LISTED, unit=MetricUnit.Count, value=report.jobs_listed)
    metrics.add_metric(name=LIST_PAGES, unit=MetricUnit.Count, value=report.pages)
    metrics.add_metric(name=TRANSITIONS_DETECTED, unit=MetricUnit.Count, value=sum(report.transitions.values()))
    metrics.add_metric(name=TRANSITIONS_PUBLISHED, unit=MetricUnit.Count, value=report.published)
    metrics.add_metric(name=PUBLISH_FAILURES, unit=MetricUnit.Count, value=report.publish_failures)
    metrics.add_metric(name=JOBS_TRACKED, unit=MetricUnit.Count, value=report.open_jobs)
    metrics.add_metric(name=UNKNOWN_STATUSES, unit=MetricUnit.Count, value=sum(report.unknown_statuses.values()))
    metrics.add_metric(name=POLL_DURATION, unit=MetricUnit.Milliseconds, value=duration_ms)
    for status, count in report.transitions.items():
        # A metric of its own per status, so the dashboard can chart transitions by status.
        with single_metric(
            name=TRANSITIONS_BY_STATUS, unit=MetricUnit.Count, value=count, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="service", value=metrics.service or "poller")
            metric.add_dimension(name="Status", value=status)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext, dependencies: Dependencies | None = None) -> dict[str, Any]:
    settings = PollerSettings.from_env()
    if is_queued_batch(event):
        deps = dependencies or default_dependencies(settings)
        time_left = Deadline(context.get_remaining_time_in_millis, settings.time_reserve)
        return drain_state_changes(event, context, lambda: _new_poll(deps, settings, context), time_left)
    try:
        job_arn = job_arn_of(event)
    except InvalidEvent as error:
        logger.error("Rejected an event the poller does not handle", extra={"reason": str(error)})
        raise
    deps = dependencies or default_dependencies(settings)
    return _summary(_run(_new_poll(deps, settings, context), job_arn, context))


def drain_state_changes(
    event: dict[str, Any], context: LambdaContext, new_poll: Callable[[], Poll], time_left: Deadline
) -> dict[str, Any]:
    """One invocation for a batch of queued state-change events: each job read once however many events name it,
    with the scheduled poll's dedupe. A record whose event is malformed, whose job's read failed, or that there is
    no time left for goes back to the queue alone (a batch item failure); the others are done."""
    outcomes: dict[str | None, str | None] = {}  # job ARN (None: a full poll) -> why it failed, None if it did not

    def handle(record: SQSRecord) -> None:
        try:
            job_arn = job_arn_of(queued_event(record))
        except InvalidEvent as error:
            logger.error("Rejected a queued event the poller does not handle", extra={"reason": str(error)})
            raise
        if job_arn not in outcomes:
            if time_left.work_left() <= 0:
                raise JobNotRead("no time left in this invocation")
            try:
                _run(new_poll(), job_arn, context)
                outcomes[job_arn] = None
            except InvalidEvent:
                raise  # an ARN the poller cannot read, rejected and logged by _run: handed back like a malformed one
            except Exception as error:
                outcomes[job_arn] = f"{type(error).__name__}: {error}"
                logger.exception("Reading the job failed; its events go back to the queue", extra={"job_arn": job_arn})
                raise
        failure = outcomes[job_arn]
        if failure is not None:
            raise JobNotRead(failure)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    returned = len(response.get("batchItemFailures", []))
    logger.info(
        "State-change batch finished",
        extra={"events": len(event["Records"]), "reads": len(outcomes), "returned": returned},
    )
    return dict(response)


def _new_poll(deps: Dependencies, settings: PollerSettings, context: LambdaContext) -> Poll:
    return Poll(
        deps.bedrock,
        deps.store,
        deps.publisher,
        settings,
        region=os.environ.get("AWS_REGION", "us-east-1"),
        account_id=_account_of(context),
        deadline=Deadline(context.get_remaining_time_in_millis, settings.time_reserve),
        clock=deps.clock,
    )


def _run(poll: Poll, job_arn: str | None, context: LambdaContext) -> PollReport:
    """A full poll (job_arn None) or a read of one job, with its metrics and log line."""
    started = context.get_remaining_time_in_millis()
    try:
        report = poll.run() if job_arn is None else poll.run_for_job(job_arn)
    except InvalidEvent as error:
        logger.error("Rejected an event the poller does not handle", extra={"reason": str(error)})
        raise
    except Exception:
        # Bedrock unavailable, DynamoDB failing: what was recorded is kept; the alarm watches this metric.
        metrics.add_metric(name=POLL_FAILURES, unit=MetricUnit.Count, value=1)
        _emit(poll.report, started - context.get_remaining_time_in_millis())
        raise
    _emit(report, started - context.get_remaining_time_in_millis())
    logger.info("Poll finished", extra=_summary(report))
    return report


def _summary(report: PollReport) -> dict[str, Any]:
    return {
        "jobsListed": report.jobs_listed,
        "pages": report.pages,
        "transitions": dict(report.transitions),
        "noticesRecorded": report.notices_recorded,
        "published": report.published,
        "publishFailures": report.publish_failures,
        "conflicts": report.conflicts,
        "retired": report.retired,
        "openJobs": report.open_jobs,
        "complete": report.complete,
        "baseline": report.silent,
    }


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    PollerSettings.from_env()  # fail the cold start, not the first poll, when the configuration is wrong
    log_cold_start()
