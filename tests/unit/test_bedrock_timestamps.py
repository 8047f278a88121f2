"""The Bedrock adapter's timestamp parser gives botocore's answer for every input, only faster for Bedrock's forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.poller import bedrock
from notifier.poller.bedrock import BedrockJobs, parse_timestamp

moments = st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(9998, 12, 30))
offsets = st.one_of(
    st.just(timedelta(0)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda minutes: timedelta(minutes=minutes)),
)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    """ISO-8601 as Bedrock writes it and the variations around it: fraction of 0 to 9 digits, Z, +00:00, -00:00,
    other offsets, none, a space or a lower-case t, a lower-case z."""
    moment = draw(moments)
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    zone = draw(
        st.one_of(
            st.sampled_from(["Z", "+00:00", "-00:00", "", "z", " UTC", "+0000"]),
            offsets.map(_offset_text),
        )
    )
    separator = draw(st.sampled_from(["T", "T", "T", " ", "t"]))
    return f"{moment:%Y-%m-%d}{separator}{moment:%H:%M:%S}{'.' + fraction if digits else ''}{zone}"


def _outcome(parser: Any, value: Any) -> tuple[str, Any]:
    try:
        parsed = parser(value)
    except Exception as error:  # both must fail the same way
        return ("error", type(error).__name__)
    return ("moment", (parsed, parsed.utcoffset(), parsed.isoformat() if parsed.tzinfo is None else None))


def assert_same_as_botocore(value: Any) -> None:
    expected, got = _outcome(botocore_parse_timestamp, value), _outcome(parse_timestamp, value)
    assert got == expected, value
    if expected[0] == "moment":
        # == on aware datetimes compares moments; the offset and the awareness must match too
        assert (got[1][0].tzinfo is None) == (expected[1][0].tzinfo is None), value


@settings(max_examples=1500, deadline=None)
@given(iso_texts())
def test_iso_8601_texts_parse_to_botocores_moment_and_offset(value):
    assert_same_as_botocore(value)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=0, max_value=4_102_444_800),  # epoch seconds, as numbers and as text
        st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
        st.integers(min_value=0, max_value=4_102_444_800).map(str),
        moments.map(lambda m: format_datetime(m.replace(tzinfo=UTC), usegmt=True)),  # RFC 822
        st.text(max_size=30),  # anything at all
    )
)
def test_every_other_input_gets_botocores_answer(value):
    assert_same_as_botocore(value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30T10:00:00Z",  # a day February does not have
        "2026-12-04T24:00:00Z",  # hour 24
        "2016-12-31T23:59:60Z",  # a leap second
        "2026-12-04T18:40:00.1234567Z",  # more digits than microseconds
        "2026-12-04T18:40:00+05:30",
        "2026-12-04T18:40:00.5-08:00",
        "2026-12-04T18:40:00",  # no zone
    ],
)
def test_edge_cases_get_botocores_answer(value):
    assert_same_as_botocore(value)


def test_bedrocks_own_form_takes_the_fast_path(monkeypatch):
    def botocore_was_asked(value: Any) -> datetime:
        raise AssertionError(f"fell back for {value!r}")

    monkeypatch.setattr(bedrock, "botocore_parse_timestamp", botocore_was_asked)
    assert parse_timestamp("2026-12-04T18:40:00.123Z") == datetime(2026, 12, 4, 18, 40, 0, 123000, tzinfo=UTC)
    assert parse_timestamp("2026-12-04T18:40:00+01:00") == datetime(
        2026, 12, 4, 18, 40, tzinfo=timezone(timedelta(hours=1))
    )


def _served(client: Any, document: dict[str, Any]) -> None:
    """Answers every request of this client with `document`, before it reaches the network."""

    def answer(request: Any, **_: Any) -> AWSResponse:
        response = AWSResponse(request.url, 200, {"Content-Type": "application/json"}, None)
        response._content = json.dumps(document).encode()
        return response

    client.meta.events.register("before-send.bedrock.*", answer)


def test_the_adapters_clients_parse_with_it_and_the_default_parser_can_be_asked_for(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    seen: list[Any] = []

    def recording(value: Any) -> datetime:
        seen.append(value)
        return parse_timestamp(value)

    jobs = BedrockJobs(timestamp_parser=recording)
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl"
    document = {
        "jobArn": arn,
        "jobName": "j",
        "modelId": "m",
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "status": "InProgress",
        "submitTime": "2026-12-04T18:40:00.123Z",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://b/in"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/out"}},
    }
    _served(jobs._client, document)
    job = jobs.get(arn)
    assert seen == ["2026-12-04T18:40:00.123Z"]
    assert job is not None
    assert job.submit_time == datetime(2026, 12, 4, 18, 40, 0, 123000, tzinfo=UTC)
    # the process's other clients keep botocore's default parser
    other = boto3.client("bedrock")
    _served(other, document)
    other.get_model_invocation_job(jobIdentifier=arn)
    assert seen == ["2026-12-04T18:40:00.123Z"]
