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
