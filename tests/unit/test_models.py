from datetime import UTC, datetime

import pytest

from notifier.core.errors import InvalidNotice
from notifier.core.jobs import JobSnapshot, is_terminal
from notifier.core.notice import Notice, transition_id
from notifier.core.timefmt import isoformat


def test_transition_id_is_stable_per_job_and_status():
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123"
    assert transition_id(arn, "Completed") == transition_id(arn, "Completed")
    assert transition_id(arn, "Completed") != transition_id(arn, "Failed")


def test_unknown_status_is_not_terminal():
    assert not is_terminal("Archived")
    assert is_terminal("Expired")


def test_iso_strings_sort_like_the_moments():
    early = isoformat(datetime(2026, 1, 1, 9, 59, 59, 999000, tzinfo=UTC))
    late = isoformat(datetime(2026, 1, 1, 10, 0, tzinfo=UTC))
    assert early is not None
    assert late is not None
    assert early < late
    assert late == "2026-01-01T10:00:00.000Z"


def test_notice_document_round_trips():
    job = JobSnapshot.from_bedrock(
        {
            "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123",
            "jobName": "nightly",
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "status": "Completed",
            "submitTime": datetime(2026, 1, 1, tzinfo=UTC),
            "totalRecordCount": 100,
            "successRecordCount": 98,
            "errorRecordCount": 2,
            "processedRecordCount": 100,
        }
    )
    notice = Notice.for_transition(job, "InProgress", "us-east-1", "123456789012", datetime(2026, 1, 2, tzinfo=UTC))
    doc = notice.to_document()
    assert doc["records"] == {"total": 100, "processed": 100, "success": 98, "error": 2}
    assert doc["previousStatus"] == "InProgress"
    assert Notice.from_document(doc) == notice


@pytest.mark.parametrize(
    ("doc", "complaint"),
    [([], "not a JSON object"), ({"schemaVersion": "2"}, "schemaVersion"), ({"schemaVersion": "1"}, "lacks")],
)
def test_not_a_notice_is_named(doc, complaint):
    with pytest.raises(InvalidNotice, match=complaint):
        Notice.from_document(doc)


def _completed(success: int, error: int, **kwargs) -> Notice:
    job = JobSnapshot.from_bedrock(
        {
            "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123",
            "jobName": "nightly",
            "modelId": "amazon.nova-lite-v1:0",
            "status": "Completed",
            "submitTime": datetime(2026, 1, 1, tzinfo=UTC),
            "totalRecordCount": success + error,
            "processedRecordCount": success + error,
            "successRecordCount": success,
            "errorRecordCount": error,
        }
    )
    return Notice.for_transition(
        job, "InProgress", "us-east-1", "123456789012", datetime(2026, 1, 2, tzinfo=UTC), **kwargs
    )


def test_a_terminal_notice_carries_its_outcome_severity_and_error_rate_and_reads_back():
    notice = _completed(0, 100)
    doc = notice.to_document()
    assert (doc["outcome"], doc["severity"], doc["errorRate"]) == ("failed", "critical", 1.0)
    assert doc["schemaVersion"] == "1"
    assert Notice.from_document(doc) == notice


def test_the_threshold_given_to_the_notice_decides_its_severity():
    assert _completed(80, 20).severity == "warning"
    assert _completed(80, 20, error_rate_warning=0.5).severity == "info"


def test_a_document_written_before_outcomes_existed_still_parses_without_them():
    doc = _completed(0, 100).to_document()
    for key in ("outcome", "severity", "errorRate"):
        del doc[key]
    older = Notice.from_document(doc)
    assert (older.outcome, older.severity, older.error_rate) == (None, None, None)
    assert older.status == "Completed"


def test_a_word_this_version_does_not_know_reads_as_absent():
    doc = {**_completed(98, 2).to_document(), "outcome": "cancelled", "severity": "emergency"}
    notice = Notice.from_document(doc)
    assert (notice.outcome, notice.severity) == (None, None)


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("outcome", 3, "outcome is a int, not a string"),
        ("severity", ["critical"], "severity is a list, not a string"),
        ("errorRate", "5%", "errorRate is '5%', not a number from 0 to 1"),
        ("errorRate", 1.5, "errorRate is 1.5, not a number from 0 to 1"),
        ("errorRate", True, "errorRate is True, not a number from 0 to 1"),
    ],
)
def test_a_mistyped_outcome_field_is_named(key, value, complaint):
    with pytest.raises(InvalidNotice, match=complaint.replace("(", r"\(")):
        Notice.from_document({**_completed(98, 2).to_document(), key: value})


def test_an_integer_error_rate_reads_as_a_number():
    assert Notice.from_document({**_completed(0, 10).to_document(), "errorRate": 1}).error_rate == 1.0
