import json
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.jobs import JobSnapshot, RecordCounts
from notifier.core.notice import Notice
from notifier.poller.sns_message import SUBJECT_LIMIT, email_text, message_attributes, publish_entry, subject

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456"


def notice(name: str = "nightly-eval", status: str = "Failed", **extra) -> Notice:
    job = JobSnapshot(
        ARN,
        name,
        "anthropic.claude-3-haiku-20240307-v1:0",
        status,
        T - timedelta(hours=26, minutes=5),
        last_modified_time=T,
        end_time=T,
        records=RecordCounts(total=1000, processed=1000, success=990, error=10),
        output_s3_uri="s3://bucket/out/",
        **extra,
    )
    return Notice.for_transition(job, "InProgress", "us-east-1", "123456789012", T)


def test_subject_fits_sns_limit_and_is_ascii():
    long_name = "évaluation-" + "x" * 200
    text = subject(notice(name=long_name))
    assert len(text) <= SUBJECT_LIMIT
    assert text.isascii()
    assert text.startswith("[CRITICAL] Bedrock batch job Failed: evaluation-")


def test_email_reads_well():
    text = email_text(notice(message="Model quota exceeded"))
    assert "is now Failed (was InProgress)" in text
    assert "Model:      anthropic.claude-3-haiku-20240307-v1:0" in text
    assert "Duration:   1d 2h" in text
    assert "Records:    1000 of 1000 processed, 990 succeeded, 10 failed" in text
    assert "Message:    Model quota exceeded" in text
    assert "Output:     s3://bucket/out/" in text
    assert (
        "https://us-east-1.console.aws.amazon.com/bedrock/home?region=us-east-1#/batch-inference/abc123def456" in text
    )


def test_publish_entry_keeps_json_for_machines_and_text_for_email_with_filterable_attributes():
    entry = publish_entry("0", notice())
    assert entry["MessageStructure"] == "json"
    body = json.loads(entry["Message"])
    assert set(body) == {"default", "email"}
    assert json.loads(body["default"])["status"] == "Failed"
    assert entry["MessageAttributes"]["status"] == {"DataType": "String", "StringValue": "Failed"}
    assert entry["MessageAttributes"]["previousStatus"]["StringValue"] == "InProgress"
    assert set(message_attributes(notice())) == {
        "status",
        "previousStatus",
        "modelId",
        "jobName",
        "severity",
        "outcome",
    }


def test_records_line_says_only_what_bedrock_counted():
    failed_early = notice(message="Validation failed")
    failed_early = Notice.from_document({**failed_early.to_document(), "records": {"total": 48000}})
    assert "Records:    48000 total\n" in email_text(failed_early)
    nothing = Notice.from_document({**notice().to_document(), "records": {}})
    assert "Records:" not in email_text(nothing)


def ended(status: str, total: int | None, success: int | None, error: int | None, processed: int | None = None):
    job = JobSnapshot(
        ARN,
        "nightly-eval",
        "anthropic.claude-3-haiku-20240307-v1:0",
        status,
        T - timedelta(hours=2),
        last_modified_time=T,
        end_time=T,
        records=RecordCounts(total=total, processed=processed, success=success, error=error),
    )
    return Notice.for_transition(job, "InProgress", "us-east-1", "123456789012", T)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (ended("Completed", 100, 100, 0, 100), "Bedrock batch job Completed: nightly-eval"),
        (ended("Completed", 100, 98, 2, 100), "Bedrock batch job Completed, 2% of records failed: nightly-eval"),
        (
            ended("Completed", 100, 80, 20, 100),
            "[WARNING] Bedrock batch job Completed, 20% of records failed: nightly-eval",
        ),
        (
            ended("Completed", 100, 0, 100, 100),
            "[CRITICAL] Bedrock batch job Completed, every record failed: nightly-eval",
        ),
        (ended("Failed", None, None, None), "[CRITICAL] Bedrock batch job Failed: nightly-eval"),
        (ended("Stopped", 100, 40, 0, 40), "[WARNING] Bedrock batch job Stopped: nightly-eval"),
        (ended("Expired", 100, 0, 0, 0), "[CRITICAL] Bedrock batch job Expired, no record was processed: nightly-eval"),
        (
            ended("Expired", 100, 60, 0, 60),
            "[WARNING] Bedrock batch job Expired, 60% of records processed: nightly-eval",
        ),
        (
            ended("PartiallyCompleted", 10000, 9874, 126, 10000),
            "[WARNING] Bedrock batch job PartiallyCompleted, 1.26% of records failed: nightly-eval",
        ),
    ],
)
def test_the_subject_of_each_outcome_says_whether_the_job_worked(n, expected):
    assert subject(n) == expected


def test_a_completed_job_whose_every_record_failed_never_reads_like_success_in_email():
    text = email_text(ended("Completed", 100, 0, 100, 100))
    assert text.startswith(
        "Bedrock batch inference job 'nightly-eval' is now Completed (was InProgress): every record failed.\n"
    )
    assert "Outcome:    failed (severity critical)" in text
    assert "Error rate: 100% of processed records failed" in text


def test_an_older_notice_without_outcome_reads_as_before():
    doc = ended("Completed", 100, 0, 100, 100).to_document()
    older = Notice.from_document({k: v for k, v in doc.items() if k not in ("outcome", "severity", "errorRate")})
    assert subject(older) == "Bedrock batch job Completed: nightly-eval"
    assert "Outcome:" not in email_text(older)
    assert "severity" not in message_attributes(older)


def test_severity_and_outcome_are_filterable_attributes_outcome_only_once_the_job_ended():
    critical = message_attributes(ended("Completed", 100, 0, 100, 100))
    assert critical["severity"] == {"DataType": "String", "StringValue": "critical"}
    assert critical["outcome"] == {"DataType": "String", "StringValue": "failed"}
    running = Notice.for_transition(
        JobSnapshot(ARN, "nightly-eval", "m", "InProgress", T - timedelta(hours=1)), "Scheduled", "us-east-1", "1", T
    )
    attributes = message_attributes(running)
    assert attributes["severity"]["StringValue"] == "info"
    assert "outcome" not in attributes
    # Message attributes stay within SNS's limit of 10 per message.
    assert len(critical) <= 10
