"""The outcome rule: what came of a job that ended, from its status and record counts alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from notifier.core.jobs import NON_TERMINAL_STATUSES, TERMINAL_STATUSES, RecordCounts
from notifier.core.outcome import (
    CRITICAL,
    DEFAULT_ERROR_RATE_WARNING,
    EXPIRED,
    FAILED,
    INFO,
    PARTIAL,
    STOPPED,
    SUCCEEDED,
    SUCCEEDED_WITH_ERRORS,
    WARNING,
    Assessment,
    assess,
    error_rate,
    every_record_failed,
    percent,
    summary,
)

NO_COUNTS = RecordCounts()


def counts(total: int | None, success: int | None, error: int | None, processed: int | None = -1) -> RecordCounts:
    """Counts as Bedrock reports them; processed defaults to success + error."""
    if processed == -1:
        processed = None if success is None or error is None else success + error
    return RecordCounts(total=total, processed=processed, success=success, error=error)


@pytest.mark.parametrize(
    ("status", "records", "expected"),
    [
        ("Completed", counts(100, 100, 0), Assessment(SUCCEEDED, INFO, 0.0)),
        ("Completed", counts(100, 98, 2), Assessment(SUCCEEDED_WITH_ERRORS, INFO, 0.02)),
        ("Completed", counts(100, 80, 20), Assessment(SUCCEEDED_WITH_ERRORS, WARNING, 0.2)),
        ("Completed", counts(100, 0, 100), Assessment(FAILED, CRITICAL, 1.0)),
        ("Failed", counts(10, 0, 3), Assessment(FAILED, CRITICAL, 1.0)),
        ("Failed", NO_COUNTS, Assessment(FAILED, CRITICAL, None)),
        ("Stopped", counts(100, 40, 0), Assessment(STOPPED, WARNING, 0.0)),
        ("Stopped", counts(100, 0, 40), Assessment(STOPPED, WARNING, 1.0)),  # a person stopped it: that is the news
        ("Expired", counts(100, 0, 0), Assessment(EXPIRED, CRITICAL, None)),
        ("Expired", NO_COUNTS, Assessment(EXPIRED, CRITICAL, None)),
        ("Expired", counts(100, 60, 0), Assessment(PARTIAL, WARNING, 0.0)),
        ("Expired", counts(100, 0, 60), Assessment(FAILED, CRITICAL, 1.0)),
        ("PartiallyCompleted", counts(10000, 9874, 126), Assessment(PARTIAL, WARNING, 0.0126)),
        ("PartiallyCompleted", counts(100, 0, 30), Assessment(FAILED, CRITICAL, 1.0)),
    ],
)
def test_each_terminal_status_and_its_counts_give_one_outcome(status, records, expected):
    assert assess(status, records) == expected


@pytest.mark.parametrize("status", [*NON_TERMINAL_STATUSES, "Archived"])
def test_a_job_not_ended_has_no_outcome_and_is_info_even_with_every_record_failed_so_far(status):
    assessment = assess(status, counts(100, 0, 50))
    assert assessment.outcome is None
    assert assessment.severity == INFO
    assert assessment.error_rate == 1.0  # the rate is a fact of the counts, reported while it runs too


def test_completed_that_every_record_failed_is_critical_whatever_the_threshold():
    assert assess("Completed", counts(100, 0, 100), error_rate_warning=1.0).severity == CRITICAL
    # Bedrock may leave out processedRecordCount or successRecordCount: errors equal to the total are enough.
    assert assess("Completed", RecordCounts(total=100, error=100)).outcome == FAILED
    assert assess("Completed", RecordCounts(processed=100, error=100)).outcome == FAILED


def test_the_threshold_is_exclusive_and_compares_the_exact_rate():
    at = counts(100, 95, 5)
    just_above = counts(100_000, 94_999, 5_001)
    assert assess("Completed", at).severity == INFO  # 5% is not above 5%
    assert assess("Completed", just_above).severity == WARNING  # 5.001%, though it rounds to 0.05
    assert assess("Completed", just_above).error_rate == 0.05
    assert DEFAULT_ERROR_RATE_WARNING == 0.05


def test_the_configured_threshold_decides_between_info_and_warning():
    records = counts(100, 80, 20)
    assert assess("Completed", records, error_rate_warning=0.25).severity == INFO
    assert assess("Completed", records, error_rate_warning=0.19).severity == WARNING
    # 0: any failed record is a warning; 1: only every record failed is more than info.
    assert assess("Completed", counts(10_000, 9_999, 1), error_rate_warning=0).severity == WARNING
    assert assess("Completed", counts(100, 1, 99), error_rate_warning=1).severity == INFO
    assert assess("Completed", counts(100, 100, 0), error_rate_warning=0).severity == INFO


def test_missing_counts_leave_the_outcome_to_the_status_and_the_rate_null():
    assert assess("Completed", NO_COUNTS) == Assessment(SUCCEEDED, INFO, None)
    assert assess("PartiallyCompleted", NO_COUNTS) == Assessment(PARTIAL, WARNING, None)
    # A total alone says nothing of errors.
    assert assess("Completed", RecordCounts(total=100)) == Assessment(SUCCEEDED, INFO, None)
    # Errors without anything to divide them by: succeededWithErrors, but no rate to hold against the threshold.
    assert assess("Completed", RecordCounts(error=3)) == Assessment(SUCCEEDED_WITH_ERRORS, INFO, None)


def test_error_rate_is_the_share_of_processed_records_that_failed():
    assert error_rate(counts(1000, 300, 100)) == 0.25  # a job that stopped early: judged on what it read
    assert error_rate(RecordCounts(total=200, success=50, error=50)) == 0.5  # no processed count: success + error
    assert error_rate(RecordCounts(total=200, error=50)) == 0.25  # only the total to go by
    assert error_rate(RecordCounts(total=0, processed=0, success=0, error=0)) is None  # nothing to divide by
    assert error_rate(RecordCounts(total=100, processed=100, success=100)) is None  # errors not reported
    assert error_rate(RecordCounts(total=10, processed=5, success=0, error=9)) == 1.0  # never above 1


def test_the_rate_on_the_wire_is_rounded_to_four_digits():
    assert assess("Completed", counts(3, 2, 1)).error_rate == 0.3333


def test_every_record_failed_needs_errors_and_no_success():
    assert every_record_failed(counts(100, 0, 100))
    assert every_record_failed(counts(100, 0, 40))  # no success among what was processed
    assert not every_record_failed(counts(100, 1, 99))
    assert not every_record_failed(counts(100, 0, 0))
    assert not every_record_failed(NO_COUNTS)
    assert not every_record_failed(RecordCounts(total=100, error=99))


@pytest.mark.parametrize(
    ("rate", "shown"),
    [(0.0126, "1.26%"), (0.05, "5%"), (1.0, "100%"), (0.0, "0%"), (0.12345, "12.35%"), (1e-5, "<0.01%")],
)
def test_percent_reads_as_people_write_it(rate, shown):
    assert percent(rate) == shown


@pytest.mark.parametrize(
    ("status", "records", "said"),
    [
        ("Completed", counts(100, 100, 0), None),
        ("Completed", counts(100, 98, 2), "2% of records failed"),
        ("Completed", counts(100, 0, 100), "every record failed"),
        ("Completed", RecordCounts(total=100, error=100), "every record failed"),
        ("PartiallyCompleted", counts(100, 0, 40), "no record succeeded"),
        ("PartiallyCompleted", counts(1000, 600, 0), "60% of records processed"),
        ("PartiallyCompleted", counts(10000, 9874, 126), "1.26% of records failed"),
        ("PartiallyCompleted", NO_COUNTS, None),
        ("Expired", counts(100, 0, 0), "no record was processed"),
        ("Expired", NO_COUNTS, None),
        ("Failed", counts(10, 0, 3), None),  # the status says it
        ("Stopped", counts(100, 40, 0), None),
        ("InProgress", counts(100, 0, 50), None),
    ],
)
def test_the_summary_says_what_the_status_does_not(status, records, said):
    assessment = assess(status, records)
    assert summary(status, assessment.outcome, records, assessment.error_rate) == said


def test_every_terminal_status_has_an_outcome_even_without_counts():
    for status in TERMINAL_STATUSES:
        assert assess(status, NO_COUNTS).outcome is not None


def test_the_readme_s_example_of_each_kind_is_what_the_rule_gives():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    examples = [json.loads(line) for line in re.findall(r'^(\{"status": .*"errorRate": .*\})$', readme, re.MULTILINE)]
    assert len(examples) >= 10
    kinds = set()
    for example in examples:
        assessment = assess(example["status"], RecordCounts(**example["records"]))
        assert (assessment.outcome, assessment.severity, assessment.error_rate) == (
            example["outcome"],
            example["severity"],
            example["errorRate"],
        ), example
        kinds.add(assessment.outcome)
    assert kinds == {SUCCEEDED, SUCCEEDED_WITH_ERRORS, FAILED, STOPPED, EXPIRED, PARTIAL, None}
