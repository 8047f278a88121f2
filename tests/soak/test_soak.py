"""The short soak: the real functions through faults at every boundary, then the soak's checks, one test each.

`make soak` runs the long version (2,000 jobs over a simulated week); this one runs inside `make test`.
"""

from __future__ import annotations

import pytest

from local import soak
from local.soak import SoakOptions, SoakResult, render, run_soak

SHORT = SoakOptions(jobs=60, days=0.5, seed=2)

# One soak run serves every check below, so they stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("soak")


@pytest.fixture(scope="module")
def result() -> SoakResult:
    outcome = run_soak(SHORT)
    print(render(outcome))
    return outcome


def assert_check(result: SoakResult, name: str) -> None:
    check = result.check(name)
    assert check.passed, f"{name}: {check.detail}"


# Faults at every boundary: Bedrock, DynamoDB, SNS, Secrets Manager, Slack, SQS, the functions' processes and
# their timeouts. Each entry: the fired kinds any one of which shows it.
FAULTS_AT_EVERY_BOUNDARY = (
    ("Bedrock ListModelInvocationJobs ThrottlingException", "Bedrock GetModelInvocationJob ThrottlingException"),
    (
        "Bedrock ListModelInvocationJobs InternalServerException",
        "Bedrock GetModelInvocationJob InternalServerException",
    ),
    ("Bedrock ListModelInvocationJobs ValidationException",),
    ("Bedrock GetModelInvocationJob ResourceNotFoundException",),
    ("Bedrock Get answered an older status without lastModifiedTime",),
    ("Bedrock listing lag (job hidden from listings)",),
    ("DynamoDB throttling",),
    ("DynamoDB write applied, answer lost (500)",),
    ("DynamoDB conditional write refused (observed: overlap or a retried write)",),
    ("SNS throttling", "SNS 5xx"),
    ("Secrets Manager 5xx",),
    ("SIGKILL of a worker before its next call",),
    ("poller Lambda timeout (short time left, slow calls)",),
    ("overlapping poller invocations",),
    ("SQS redelivery of a delivered message",),
    ("Slack 429",),
    ("Slack 5xx",),
    ("Slack function timeout (slow Slack, short time left)",),
    ("Slack permanent error, once (channel_not_found)",),
    ("Slack permanent error (invalid_blocks) for a refused job",),
)


def test_the_soak_injects_faults_at_every_boundary(result: SoakResult) -> None:
    not_fired = [kinds for kinds in FAULTS_AT_EVERY_BOUNDARY if not any(result.faults[kind] for kind in kinds)]
    assert not not_fired
    assert result.figures["transitionsChecked"] > 0
    assert result.figures["finalStatuses"] > 0


def test_the_soak_tries_every_kind_of_bad_input(result: SoakResult) -> None:
    assert set(result.figures["badInputs"]) == set(soak.BAD_INPUTS)


def test_every_observable_transition_reaches_sns(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_SNS)


def test_every_final_status_reaches_email_exactly_once(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_EMAIL)


def test_every_final_status_reaches_slack_exactly_once(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_SLACK)


def test_the_dlq_holds_only_permanent_error_cases(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_DLQ)


def test_email_never_receives_more_than_ten_a_second(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_EMAIL_RATE)


def test_no_job_state_ever_regresses(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_REGRESSION)


def test_bedrock_calls_per_idle_poll_do_not_grow(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_IDLE_COST)


def test_every_bad_input_is_refused_and_nothing_is_sent_for_it(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_BAD_INPUTS)
