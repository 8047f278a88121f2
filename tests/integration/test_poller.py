"""The poller over real HTTP: Bedrock emulator, DynamoDB and SNS in moto server, a queue watching the topic."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from notifier.core.errors import BedrockUnavailable, ConfigurationError, InvalidEvent
from notifier.poller import handler
from notifier.poller.rules import FULL_SWEEP_EVERY
from tests.integration.poller_harness import (
    SCHEDULED_EVENT,
    Harness,
    queued_batch,
    state_change_event,
    subscribe_queue,
)

LIST = "ListModelInvocationJobs"
GET = "GetModelInvocationJob"


def baseline(harness: Harness) -> None:
    harness.poll()
    assert harness.notices() == []


def test_first_run_is_a_silent_baseline_then_new_jobs_are_transitions_from_null(harness):
    # Given jobs that already exist when the notifier is deployed
    old = harness.bedrock.create_job("before-deploy", submit_time=harness.bedrock.now() - timedelta(days=3))
    harness.bedrock.set_status(old, "InProgress")
    harness.bedrock.create_job("finished-before-deploy", status="Completed")
    # When the first poll runs, it sends nothing
    summary = harness.poll()
    assert summary["baseline"] is True
    assert harness.notices() == []
    # Then a job submitted afterwards arrives as a transition from null, and the old job's end is not missed
    new = harness.bedrock.create_job("after-deploy")
    harness.bedrock.set_status(new, "InProgress")
    harness.bedrock.set_status(old, "Completed")
    harness.poll()
    assert sorted(harness.transitions()) == [
        ("after-deploy", None, "InProgress"),
        ("before-deploy", "InProgress", "Completed"),
    ]


def test_first_run_can_notify_instead(harness, monkeypatch):
    monkeypatch.setenv("NOTIFY_ON_FIRST_RUN", "true")
    harness.bedrock.create_job("already-running", status="InProgress")
    harness.poll()
    assert harness.transitions() == [("already-running", None, "InProgress")]


def test_long_job_submitted_before_the_watermark_is_followed_to_its_end(harness):
    bedrock = harness.bedrock
    start = bedrock.now() - timedelta(days=3)
    long_job = bedrock.create_job("three-day-job", submit_time=start)
    # thousands of other jobs came and went after it started
    bedrock.create_jobs(3000, start=start + timedelta(minutes=1), step=timedelta(seconds=60), status="Completed")
    harness.poll()  # baseline
    bedrock.set_status(long_job, "InProgress", records={"total": 1000, "processed": 10, "success": 10, "error": 0})
    harness.poll()
    bedrock.set_status(long_job, "Completed", records={"total": 1000, "processed": 1000, "success": 990, "error": 10})
    bedrock.calls.clear()
    harness.poll()
    assert harness.transitions() == [
        ("three-day-job", "Submitted", "InProgress"),
        ("three-day-job", "InProgress", "Completed"),
    ]
    # the last poll listed the new window and read the one tracked job older than it with a Get: not the 3,000,
    # and no listing by status for a single job
    assert bedrock.calls[LIST] == 1
    assert bedrock.calls[GET] == 1
    assert harness.notices()[-1]["records"] == {"total": 1000, "processed": 1000, "success": 990, "error": 10}


def test_skipped_intermediate_statuses_are_reported_honestly(harness):
    baseline(harness)
    job = harness.bedrock.create_job("quick")
    harness.poll()
    harness.bedrock.set_status(job, "InProgress")
    harness.bedrock.set_status(job, "Completed")
    harness.poll()
    assert harness.transitions() == [("quick", "Submitted", "Completed")]


def test_job_hidden_from_the_listing_is_still_found(harness):
    baseline(harness)
    job = harness.bedrock.create_job("shy", status="InProgress")
    harness.bedrock.hide_from_list(job, list_calls=1)  # every listing of one poll: the window, nothing else is due
    harness.poll()
    assert harness.notices() == []
    harness.poll()
    assert harness.transitions() == [("shy", None, "InProgress")]


def test_a_job_visible_late_within_the_overlap_is_published_even_after_it_finished(harness):
    bedrock = harness.bedrock
    baseline(harness)
    bedrock.create_job("first", status="Completed", submit_time=bedrock.now() - timedelta(minutes=8))
    harness.poll()  # the watermark moves on to it
    # Given a job Bedrock lists only 9 minutes after its submission (the overlap is 10), and that ends meanwhile
    late = bedrock.create_job("late", status="InProgress")
    bedrock.hide_from_list(late, list_calls=2)
    for _ in range(2):  # polls 3 and 6 minutes after it; the first moves the window on to Bedrock's Date
        bedrock.advance(timedelta(minutes=3))
        harness.poll()
    bedrock.set_status(late, "Completed")
    bedrock.advance(timedelta(minutes=3))
    harness.poll()
    # Then it is still found, by the window, not a listing by status
    assert [t for t in harness.transitions() if t[0] == "late"] == [("late", None, "Completed")]


def test_job_visible_only_after_its_submit_time_fell_behind_the_watermark(harness):
    bedrock = harness.bedrock
    baseline(harness)
    late = bedrock.create_job("late", submit_time=bedrock.now() - timedelta(hours=2), status="InProgress")
    bedrock.hide_from_list(late, list_calls=6)
    bedrock.create_job("newer", status="InProgress")  # moves the watermark two hours past "late"
    harness.poll()
    harness.poll()
    assert harness.transitions() == [("newer", None, "InProgress")]
    # later than the overlap: the next full sweep of the running statuses finds it, as it is still running
    bedrock.advance(FULL_SWEEP_EVERY)
    harness.poll()
    assert sorted(harness.transitions()) == [("late", None, "InProgress"), ("newer", None, "InProgress")]


def test_lambda_clock_five_minutes_ahead_of_bedrock_loses_nothing(harness):
    bedrock = harness.bedrock
    bedrock.set_now(bedrock.now() - timedelta(minutes=5))  # Bedrock's clock behind the Lambda's
    baseline(harness)
    for index in range(3):
        bedrock.advance(timedelta(seconds=40))
        job = bedrock.create_job(f"skewed-{index}")
        bedrock.set_status(job, "InProgress")
        harness.poll()
    assert [name for name, _, _ in harness.transitions()] == ["skewed-0", "skewed-1", "skewed-2"]


def test_thousands_of_jobs_across_pages_are_each_recorded_once(harness):
    bedrock = harness.bedrock
    baseline(harness)
    bedrock.create_jobs(2500, step=timedelta(milliseconds=100))  # Submitted: recorded, not notified by default
    published = [bedrock.create_job(f"running-{i}", status="InProgress") for i in range(3)]
    bedrock.calls.clear()
    summary = harness.poll()
    assert summary["transitions"] == {"Submitted": 2500, "InProgress": 3}
    assert bedrock.calls[LIST] == 3  # three pages of new jobs; no tracked job older than the window to follow
    assert len(_job_items(harness)) == 2503
    assert sorted(d["jobArn"] for d in harness.notices()) == sorted(published)
    # an idle poll afterwards records nothing and writes nothing
    summary = harness.poll()
    assert summary["transitions"] == {}
    assert harness.last_dependencies is not None
    store = harness.last_dependencies.store
    assert store.items_written == 0
    assert {"PutItem", "UpdateItem", "BatchWriteItem", "DeleteItem"}.isdisjoint(store.calls)


def _job_items(harness: Harness) -> dict[str, str]:
    return {i["jobArn"]["S"]: i["status"]["S"] for i in harness.table_items() if i["pk"]["S"].startswith("JOB#")}


def test_unknown_status_is_published_kept_open_and_logged(harness, caplog):
    baseline(harness)
    job = harness.bedrock.create_job("grown-api", status="InProgress")
    harness.poll()
    harness.bedrock.set_status(job, "Archived")
    caplog.clear()
    harness.poll()
    [warning] = [r for r in caplog.records if r.getMessage().startswith("Unknown job status")]
    assert warning.levelname == "WARNING"
    assert warning.job_arn == job
    assert warning.status == "Archived"
    harness.bedrock.set_status(job, "Completed")
    harness.poll()
    assert harness.transitions() == [
        ("grown-api", None, "InProgress"),
        ("grown-api", "InProgress", "Archived"),
        ("grown-api", "Archived", "Completed"),
    ]


def test_tracked_job_that_no_longer_exists_is_retired_not_retried(harness):
    bedrock = harness.bedrock
    baseline(harness)
    job = bedrock.create_job("deleted", status="InProgress", submit_time=bedrock.now() - timedelta(hours=1))
    harness.poll()
    bedrock.delete_job(job)
    summaries = []
    for _ in range(3):  # missed by three polls over an hour
        summaries.append(harness.poll())
        bedrock.advance(timedelta(minutes=30))
    assert [summary["retired"] for summary in summaries] == [0, 0, 1]
    bedrock.calls.clear()
    harness.poll()
    assert bedrock.calls[GET] == 0
    item = next(i for i in harness.table_items() if i["pk"]["S"] == f"JOB#{job}")
    assert item["retired"]["BOOL"] is True
    assert "openPk" not in item


def test_filtered_transitions_are_recorded_but_not_published(harness, monkeypatch):
    monkeypatch.setenv("NOTIFY_STATUSES", "Failed")
    monkeypatch.setenv("JOB_NAME_PATTERNS", "prod-*")
    baseline(harness)
    for name in ("prod-a", "dev-b"):
        job = harness.bedrock.create_job(name)
        harness.bedrock.set_status(job, "Failed", message="Validation failed")
    other = harness.bedrock.create_job("prod-c")
    harness.bedrock.set_status(other, "Completed")
    harness.poll()
    assert harness.transitions() == [("prod-a", None, "Failed")]
    recorded = {i["jobName"]["S"]: i["status"]["S"] for i in harness.table_items() if i["pk"]["S"].startswith("JOB#")}
    assert recorded == {"prod-a": "Failed", "dev-b": "Failed", "prod-c": "Completed"}


def test_subscribers_can_filter_on_status_model_and_job_name(harness):
    failed_only = subscribe_queue(harness.topic_arn, "failed-only", {"status": ["Failed", "Expired"]})
    one_model = subscribe_queue(harness.topic_arn, "nova-only", {"modelId": [{"prefix": "amazon.nova"}]})
    baseline(harness)
    bedrock = harness.bedrock
    for name, model, status in [
        ("a", "amazon.nova-pro-v1:0", "Failed"),
        ("b", "anthropic.claude-3-haiku-20240307-v1:0", "Completed"),
        ("c", "anthropic.claude-3-haiku-20240307-v1:0", "Expired"),
    ]:
        bedrock.set_status(bedrock.create_job(name, model_id=model), status)
    harness.poll()
    assert sorted(_names(failed_only)) == ["a", "c"]
    assert _names(one_model) == ["a"]
    assert len(harness.notices()) == 3


def test_a_completed_job_whose_every_record_failed_is_critical_and_subscribers_can_filter_on_severity(
    harness, monkeypatch
):
    critical = subscribe_queue(harness.topic_arn, "critical-only", {"severity": ["critical"]})
    not_success = subscribe_queue(harness.topic_arn, "needs-a-look", {"severity": ["warning", "critical"]})
    failed_outcome = subscribe_queue(harness.topic_arn, "failed-outcome", {"outcome": ["failed"]})
    monkeypatch.setenv("ERROR_RATE_WARNING", "0.1")
    baseline(harness)
    bedrock = harness.bedrock
    for name, records in [
        ("clean", {"total": 100, "processed": 100, "success": 100, "error": 0}),
        ("few-errors", {"total": 100, "processed": 100, "success": 92, "error": 8}),  # 8%: under the 10% set
        ("many-errors", {"total": 100, "processed": 100, "success": 85, "error": 15}),
        ("all-errors", {"total": 100, "processed": 100, "success": 0, "error": 100}),
    ]:
        bedrock.set_status(bedrock.create_job(name), "Completed", records=records)
    harness.poll()
    documents = {d["jobName"]: d for d in harness.notices()}
    assert {name: (d["outcome"], d["severity"], d["errorRate"]) for name, d in documents.items()} == {
        "clean": ("succeeded", "info", 0.0),
        "few-errors": ("succeededWithErrors", "info", 0.08),
        "many-errors": ("succeededWithErrors", "warning", 0.15),
        "all-errors": ("failed", "critical", 1.0),
    }
    assert _names(critical) == ["all-errors"]
    assert sorted(_names(not_success)) == ["all-errors", "many-errors"]
    assert _names(failed_outcome) == ["all-errors"]
    subjects = {item["document"]["jobName"]: item["envelope"]["Subject"] for item in harness.received}
    assert subjects["all-errors"] == "[CRITICAL] Bedrock batch job Completed, every record failed: all-errors"


def _names(queue_url: str) -> list[str]:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"])["jobName"] for m in messages]


def test_published_message_follows_the_schema_with_readable_email(harness):
    baseline(harness)
    job = harness.bedrock.create_job("nightly-eval", model_id="amazon.nova-lite-v1:0")
    harness.bedrock.set_status(
        job,
        "Failed",
        message="Input file has 3 malformed records",
        records={"total": 10, "processed": 3, "success": 0, "error": 3},
    )
    harness.poll()
    [item] = harness.notices() and harness.received
    document, envelope = item["document"], item["envelope"]
    assert set(document) == {
        "schemaVersion", "transitionId", "jobArn", "jobName", "modelId", "region", "accountId", "previousStatus",
        "status", "submitTime", "lastModifiedTime", "endTime", "message", "records", "inputS3Uri", "outputS3Uri",
        "consoleUrl", "detectedAt", "outcome", "severity", "errorRate",
    }  # fmt: skip
    assert document["schemaVersion"] == "1"
    assert document["previousStatus"] is None
    assert document["status"] == "Failed"
    assert document["accountId"] == "123456789012"
    assert document["endTime"] is not None
    assert document["message"] == "Input file has 3 malformed records"
    assert document["consoleUrl"].startswith("https://us-east-1.console.aws.amazon.com/bedrock/")
    assert (document["outcome"], document["severity"], document["errorRate"]) == ("failed", "critical", 1.0)
    assert envelope["Subject"] == "[CRITICAL] Bedrock batch job Failed: nightly-eval"


def test_missing_or_malformed_configuration_is_named_at_start(harness, lambda_context, monkeypatch):
    monkeypatch.delenv("TOPIC_ARN")
    with pytest.raises(ConfigurationError, match="TOPIC_ARN is not set"):
        handler(SCHEDULED_EVENT, lambda_context)
    monkeypatch.setenv("TOPIC_ARN", harness.topic_arn)
    monkeypatch.setenv("OVERLAP_MINUTES", "ten")
    with pytest.raises(ConfigurationError, match='OVERLAP_MINUTES="ten" is not a whole number'):
        handler(SCHEDULED_EVENT, lambda_context)


@pytest.mark.parametrize(
    "event",
    [
        {"detail-type": "Object Created", "source": "aws.s3"},
        {"source": "aws.bedrock", "detail": {}},
        [],
    ],
)
def test_unexpected_event_is_logged_and_rejected(harness, lambda_context, event):
    with pytest.raises(InvalidEvent):
        handler(event, lambda_context)
    assert harness.table_items() == []


def test_state_change_event_takes_the_fast_path_with_the_same_dedupe(harness, lambda_context):
    baseline(harness)
    job = harness.bedrock.create_job("evented")
    harness.bedrock.set_status(job, "Completed")
    event = {
        "detail-type": "Batch Inference Job State Change",
        "source": "aws.bedrock",
        "detail": {"batchJobArn": job, "status": "Completed"},
    }
    handler(event, lambda_context, dependencies=harness.dependencies())
    assert harness.transitions() == [("evented", None, "Completed")]
    harness.poll()
    assert len(harness.notices()) == 1


def test_a_queued_batch_of_state_changes_is_one_invocation_with_one_read_per_job(harness, lambda_context):
    baseline(harness)
    first, second, third = (harness.bedrock.create_job(name) for name in ("first", "second", "third"))
    for job in (first, second, third):
        harness.bedrock.set_status(job, "Completed")
    # Bedrock sends one event per status change; a busy poller finds several waiting, some about the same job.
    bodies = [json.dumps(state_change_event(job, "Completed")) for job in (first, second, first, third, first)]
    harness.bedrock.calls.clear()

    response = handler(queued_batch(bodies), lambda_context, dependencies=harness.dependencies())

    assert response == {"batchItemFailures": []}
    assert harness.bedrock.calls[GET] == 3
    assert sorted(harness.transitions()) == [
        ("first", None, "Completed"),
        ("second", None, "Completed"),
        ("third", None, "Completed"),
    ]
    harness.poll()
    handler(queued_batch(bodies), lambda_context, dependencies=harness.dependencies())
    assert len(harness.notices()) == 3, "the scheduled poll and a redelivered batch publish nothing again"


def test_a_malformed_queued_event_goes_back_alone(harness, lambda_context):
    baseline(harness)
    job = harness.bedrock.create_job("good")
    harness.bedrock.set_status(job, "Failed", message="quota")
    good = json.dumps(state_change_event(job, "Failed"))
    other = json.dumps({**state_change_event(job, "Failed"), "detail-type": "Object Created"})
    event = queued_batch(["{not json", good, other, "[]"])

    response = handler(event, lambda_context, dependencies=harness.dependencies())

    malformed = [r["messageId"] for r in event["Records"] if r["body"] != good]
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(malformed)
    assert len(malformed) == 3
    assert harness.transitions() == [("good", None, "Failed")]


def test_a_queued_event_whose_job_cannot_be_read_goes_back_with_its_duplicates_only(harness, lambda_context):
    baseline(harness)
    denied, fine = harness.bedrock.create_job("denied"), harness.bedrock.create_job("fine")
    for job in (denied, fine):
        harness.bedrock.set_status(job, "Completed")
    event = queued_batch([json.dumps(state_change_event(j, "Completed")) for j in (denied, fine, denied)])
    harness.bedrock.fail_next(GET, code="AccessDeniedException")  # the first read: the denied job's

    response = handler(event, lambda_context, dependencies=harness.dependencies())

    records = event["Records"]
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        records[0]["messageId"],
        records[2]["messageId"],
    ]
    assert harness.transitions() == [("fine", None, "Completed")]
    assert harness.bedrock.calls[GET] == 2, "the denied job is not read again for its second event"


def test_a_queued_batch_stops_reading_when_no_time_is_left_and_hands_the_rest_back(harness, lambda_context):
    baseline(harness)
    jobs = [harness.bedrock.create_job(f"job-{i}") for i in range(3)]
    for job in jobs:
        harness.bedrock.set_status(job, "Completed")
    event = queued_batch([json.dumps(state_change_event(j, "Completed")) for j in jobs])
    lambda_context.remaining_ms = 29_000  # under the 30 s reserve: no new work may start

    response = handler(event, lambda_context, dependencies=harness.dependencies())

    assert len(response["batchItemFailures"]) == 3
    assert harness.transitions() == []


def test_persistent_throttling_ends_the_run_with_an_error_and_nothing_half_written(harness):
    bedrock = harness.bedrock
    baseline(harness)
    arns = bedrock.create_jobs(5000, step=timedelta(milliseconds=10))
    bedrock.fail_next(LIST, count=10, after=2)  # page 3 of 5, and every retry of it
    with pytest.raises(BedrockUnavailable, match="ThrottlingException"):
        harness.poll()
    assert len(_job_items(harness)) == 2000  # two whole pages recorded, nothing of the third
    bedrock.clear_faults()
    harness.poll()
    assert set(_job_items(harness)) == set(arns)


def test_transient_throttling_is_retried_by_the_sdk(harness):
    baseline(harness)
    harness.bedrock.create_job("patient", status="InProgress")
    harness.bedrock.fail_next(LIST, count=1, code="ThrottlingException")
    harness.poll()
    assert harness.transitions() == [("patient", None, "InProgress")]


def test_many_jobs_finishing_at_once_are_read_by_status_not_one_by_one(harness):
    bedrock = harness.bedrock
    arns = bedrock.create_jobs(
        40, start=bedrock.now() - timedelta(hours=6), step=timedelta(minutes=1), status="InProgress"
    )
    harness.poll()  # baseline: 40 running jobs, all older than the listing window
    for index, arn in enumerate(arns):
        bedrock.set_status(arn, "Completed" if index % 4 else "Failed", message=None if index % 4 else "Out of quota")
    bedrock.calls.clear()
    harness.poll()
    assert bedrock.calls[GET] == 0
    # the new window, the one running status the tracked jobs have, Completed and Failed (then all are found)
    assert bedrock.calls[LIST] == 1 + 1 + 2
    assert sorted(d["status"] for d in harness.notices()) == ["Completed"] * 30 + ["Failed"] * 10
