"""Lambda entry point of the poller: a scheduled poll, or one job named by a Bedrock state-change event."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from notifier.core.errors import InvalidEvent
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
    tracer,
)
from notifier.core.settings import PollerSettings
from notifier.poller.bedrock import BedrockJobs
from notifier.poller.job_store import StateStore
from notifier.poller.poll import Deadline, Poll, PollReport
from notifier.poller.publisher import NoticePublisher

SCHEDULED = "Scheduled Event"
JOB_STATE_CHANGE = "Batch Inference Job State Change"


@dataclass(frozen=True)
class Dependencies:
    bedrock: BedrockJobs
    store: StateStore
    publisher: NoticePublisher


_cached: dict[PollerSettings, Dependencies] = {}


def build_dependencies(settings: PollerSettings) -> Dependencies:
    """Clients are made once per cold start (and per settings, which only tests change)."""
    if settings not in _cached:
        _cached[settings] = Dependencies(
            bedrock=BedrockJobs(),
            store=StateStore(settings.state_table_name),
            publisher=NoticePublisher(settings.topic_arn, settings.publish_max_per_second),
        )
    return _cached[settings]


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
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext, dependencies: Dependencies | None = None) -> dict[str, Any]:
    settings = PollerSettings.from_env()
    try:
        job_arn = job_arn_of(event)
    except InvalidEvent as error:
        logger.error("Rejected an event the poller does not handle", extra={"reason": str(error)})
        raise
    deps = dependencies or build_dependencies(settings)
    poll = Poll(
        deps.bedrock,
        deps.store,
        deps.publisher,
        settings,
        region=os.environ.get("AWS_REGION", "us-east-1"),
        account_id=_account_of(context),
        deadline=Deadline(context.get_remaining_time_in_millis, settings.time_reserve),
    )
    started = context.get_remaining_time_in_millis()
    try:
        report = poll.run() if job_arn is None else poll.run_for_job(job_arn)
    except Exception:
        # Bedrock unavailable, DynamoDB failing: what was recorded is kept; the alarm watches this metric.
        metrics.add_metric(name=POLL_FAILURES, unit=MetricUnit.Count, value=1)
        _emit(poll.report, started - context.get_remaining_time_in_millis())
        raise
    _emit(report, started - context.get_remaining_time_in_millis())
    logger.info("Poll finished", extra=_summary(report))
    return _summary(report)


def _summary(report: PollReport) -> dict[str, Any]:
    return {
        "jobsListed": report.jobs_listed,
        "pages": report.pages,
        "transitions": dict(report.transitions),
        "published": report.published,
        "publishFailures": report.publish_failures,
        "openJobs": report.open_jobs,
        "complete": report.complete,
        "baseline": report.silent,
    }


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    PollerSettings.from_env()  # fail the cold start, not the first poll, when the configuration is wrong
    log_cold_start()
