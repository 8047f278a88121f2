import json
from datetime import UTC, datetime, timedelta

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
    assert text.startswith("Bedrock batch job Failed: evaluation-")


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
    assert set(message_attributes(notice())) == {"status", "previousStatus", "modelId", "jobName"}


def test_records_line_says_only_what_bedrock_counted():
    failed_early = notice(message="Validation failed")
    failed_early = Notice.from_document({**failed_early.to_document(), "records": {"total": 48000}})
    assert "Records:    48000 total\n" in email_text(failed_early)
    nothing = Notice.from_document({**notice().to_document(), "records": {}})
    assert "Records:" not in email_text(nothing)
