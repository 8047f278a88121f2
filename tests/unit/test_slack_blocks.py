"""Block Kit rendering: what people read, within every Slack limit."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.slack_standin import validate_message
from notifier.core.jobs import RecordCounts
from notifier.core.notice import Notice
from notifier.slack.blocks import (
    MAX_BUTTON_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    TRUNCATION_MARKER,
    UNKNOWN_STATUS_STYLE,
    SlackMessage,
    format_duration,
    job_summary_message,
    progress_text,
    records_text,
    style_for,
    thread_reply_message,
    transition_message,
    truncate,
)
from tests.fixtures.slack import notice_document

RENDERERS = [transition_message, job_summary_message, thread_reply_message]


def sample(**overrides: object) -> Notice:
    return Notice.from_document(notice_document(**overrides))


def texts(message: SlackMessage) -> list[str]:
    found = []
    for block in message.blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(item["text"] for item in block.get("fields", []))
        found.extend(item["text"]["text"] for item in block.get("elements", []) if "text" in item.get("text", {}))
        found.extend(item["text"] for item in block.get("elements", []) if isinstance(item.get("text"), str))
    return found


@pytest.mark.parametrize("render", RENDERERS)
def test_every_message_is_accepted_by_slack_and_has_a_fallback(render):
    message = render(sample())

    validate_message(message.as_payload())
    assert message.text
    assert message.attachments[0]["color"] == style_for("Completed").color


def test_a_transition_shows_what_people_look_for():
    # Given a completed job with some failed records
    message = transition_message(sample())

    # Then the message names the job, the model, the change, the counts, the output and links the console
    everything = "\n".join([message.text, *texts(message)])
    assert ":white_check_mark:" in message.text
    assert "nightly-eval-2024-05-01" in everything
    assert "anthropic.claude-3-haiku-20240307-v1:0" in everything
    assert "InProgress → *Completed*" in everything
    assert "98 succeeded · 2 failed · 100 total" in everything
    assert "2h 5m" in everything
    assert "s3://team-batch-output/nightly/2024-05-01/" in everything
    assert "<!date^1714557600^" in everything  # submitted, shown in the reader's time zone
    button = next(block for block in message.blocks if block["type"] == "actions")["elements"][0]
    assert button["url"].startswith("https://us-east-1.console.aws.amazon.com/bedrock/")


def test_a_long_failure_message_is_cut_with_a_marker_not_rejected():
    # Given a failure message far longer than a section may be
    notice = sample(status="Failed", message="x" * 10_000 + "END")

    for render in RENDERERS:
        message = render(notice)
        validate_message(message.as_payload())
        failure = next(text for text in texts(message) if text.startswith("*Message*"))
        assert len(failure) <= MAX_SECTION_TEXT
        assert TRUNCATION_MARKER in failure
        assert "END" not in failure
        assert failure.endswith("```")


def test_a_long_job_name_is_cut_in_the_header_and_the_fallback():
    notice = sample(jobName="j" * 500)

    message = transition_message(notice)

    header = message.blocks[0]["text"]["text"]
    assert len(header) == MAX_HEADER_TEXT
    assert header.endswith(TRUNCATION_MARKER)
    assert len(message.text) <= MAX_FALLBACK_TEXT
    validate_message(message.as_payload())


def test_an_unknown_status_still_renders_with_a_neutral_look():
    notice = sample(status="Archived", previousStatus="Completed")

    for render in RENDERERS:
        message = render(notice)
        validate_message(message.as_payload())
        assert UNKNOWN_STATUS_STYLE.emoji in message.text
        assert message.attachments[0]["color"] == UNKNOWN_STATUS_STYLE.color


def test_a_first_seen_job_reads_as_new():
    message = transition_message(sample(previousStatus=None, status="Submitted", endTime=None))

    assert "new → Submitted" in message.text
    assert any("new → *Submitted*" in text for text in texts(message))
    assert any("not yet" in text for text in texts(message))


def test_missing_records_read_as_not_reported_and_draw_no_progress_bar():
    notice = sample(status="InProgress", endTime=None, records={})

    summary = job_summary_message(notice)

    assert records_text(notice.records) == "not reported yet"
    assert progress_text(notice.records) is None
    assert not any("▰" in text for text in texts(summary))
    assert any("so far" in text for text in texts(summary))
    validate_message(summary.as_payload())


def test_the_parent_draws_progress_from_record_counts():
    notice = sample(status="InProgress", endTime=None, records={"total": 200, "processed": 120})

    bar = progress_text(notice.records)

    assert bar is not None
    assert bar.startswith("`▰▰▰▰▰▰▱▱▱▱`")
    assert "60% · 120 of 200 records processed" in bar
    assert any(bar in text for text in texts(job_summary_message(notice)))


def test_user_text_cannot_mention_the_channel_or_create_links():
    notice = sample(status="Failed", message="<!channel> see <https://evil.example|here> & more")

    failure = next(text for text in texts(transition_message(notice)) if text.startswith("*Message*"))

    assert "<!channel>" not in failure
    assert "&lt;!channel&gt;" in failure
    assert "&amp; more" in failure


def test_no_console_button_without_an_https_console_url():
    message = transition_message(sample(consoleUrl=""))

    assert not any(block["type"] == "actions" for block in message.blocks)
    validate_message(message.as_payload())


def test_truncate_keeps_the_limit_and_does_not_split_an_entity():
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 30, 20)
    assert len(cut) == 20
    assert cut.endswith(TRUNCATION_MARKER)
    assert truncate("abcdef&amp;" + "z" * 30, 20) == "abcdef" + TRUNCATION_MARKER


@pytest.mark.parametrize(
    ("seconds", "expected"), [(5, "5s"), (65, "1m 5s"), (3_700, "1h 1m"), (90_000, "1d 1h"), (-3, "0s")]
)
def test_durations_read_naturally(seconds, expected):
    assert format_duration(seconds) == expected


@settings(max_examples=60, deadline=None)
@given(
    job_name=st.text(min_size=1, max_size=400),
    model_id=st.text(min_size=1, max_size=2_500),
    message=st.none() | st.text(max_size=6_000),
    output=st.none() | st.text(max_size=3_500),
    status=st.sampled_from(["Completed", "Failed", "InProgress", "SomethingNew", "x" * 200]),
    previous=st.none() | st.text(min_size=1, max_size=200),
    counts=st.lists(st.none() | st.integers(min_value=0, max_value=10**12), min_size=4, max_size=4),
)
def test_any_notice_renders_within_slack_limits(job_name, model_id, message, output, status, previous, counts):
    notice = replace(
        sample(),
        job_name=job_name,
        model_id=model_id,
        message=message,
        output_s3_uri=output,
        status=status,
        previous_status=previous,
        records=RecordCounts(*counts),
    )

    for render in RENDERERS:
        rendered = render(notice)
        validate_message(rendered.as_payload())
        assert len(rendered.text) <= MAX_FALLBACK_TEXT
        for block in rendered.blocks:
            if block["type"] == "actions":
                assert len(block["elements"][0]["text"]["text"]) <= MAX_BUTTON_TEXT


def every_record_failed(**overrides: object) -> Notice:
    return sample(
        records={"total": 100, "processed": 100, "success": 0, "error": 100},
        outcome="failed",
        severity="critical",
        errorRate=1.0,
        **overrides,
    )


@pytest.mark.parametrize("render", RENDERERS)
def test_a_completed_job_whose_every_record_failed_is_red_and_says_so(render):
    # Given Bedrock's Completed for a job whose every record failed
    message = render(every_record_failed())

    # Then nothing about it is green or ticked, and its summary line says what happened
    validate_message(message.as_payload())
    assert message.attachments[0]["color"] == style_for("Failed").color != style_for("Completed").color
    assert ":white_check_mark:" not in "\n".join([message.text, *texts(message)])
    assert message.text.startswith(":x: ")
    assert message.text.endswith("every record failed")
    assert any("*every record failed*" in text for text in texts(message))


def test_the_outcome_field_names_the_outcome_severity_and_error_rate():
    everything = "\n".join(texts(transition_message(every_record_failed())))
    assert "*Outcome*\nfailed (critical) · 100% errors" in everything


@pytest.mark.parametrize(
    ("outcome", "severity", "status", "emoji", "colour_of"),
    [
        ("succeeded", "info", "Completed", ":white_check_mark:", "Completed"),
        ("succeededWithErrors", "info", "Completed", ":white_check_mark:", "Completed"),
        ("succeededWithErrors", "warning", "Completed", ":warning:", "PartiallyCompleted"),
        ("failed", "critical", "Completed", ":x:", "Failed"),
        ("failed", "critical", "Failed", ":x:", "Failed"),
        ("stopped", "warning", "Stopped", ":no_entry_sign:", "PartiallyCompleted"),
        ("expired", "critical", "Expired", ":alarm_clock:", "Expired"),
        ("partial", "warning", "Expired", ":warning:", "PartiallyCompleted"),
        ("partial", "warning", "PartiallyCompleted", ":warning:", "PartiallyCompleted"),
    ],
)
def test_each_outcome_has_its_emoji_and_a_colour_for_its_severity(outcome, severity, status, emoji, colour_of):
    message = transition_message(sample(status=status, outcome=outcome, severity=severity))
    assert message.text.startswith(emoji + " ")
    assert message.attachments[0]["color"] == style_for(colour_of).color


def test_a_document_without_an_outcome_looks_as_its_status_did():
    message = transition_message(sample(records={"total": 100, "processed": 100, "success": 0, "error": 100}))
    assert message.text.startswith(":white_check_mark: ")
    assert message.attachments[0]["color"] == style_for("Completed").color
