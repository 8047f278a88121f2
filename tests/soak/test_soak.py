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


def test_the_soak_injects_faults_of_every_kind_it_plans(result: SoakResult) -> None:
    assert sum(result.faults.values()) > 0
    assert result.figures["transitionsChecked"] > 0
    assert result.figures["finalStatuses"] > 0


# The non-strict marks below: these checks fail on some runs of this seed, not all, because where a kill or a
# timeout lands depends on how fast the machine is; a passing run must not fail the suite. Each names its defect.
@pytest.mark.xfail(
    strict=False,
    reason="a Bedrock error mid-poll (a transient 404 on Get, a ValidationException on a later listing) can leave a "
    "running job's completion unpublished (seen on this seed: soak-00018 Completed never reached SNS)",
)
def test_every_observable_transition_reaches_sns(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_SNS)


@pytest.mark.xfail(
    strict=False,
    reason="a Get answering an older status without lastModifiedTime regresses the stored status and the final "
    "status is published again (seen on this seed: soak-00005 Cancelled -> InProgress -> Cancelled)",
)
def test_every_final_status_reaches_email_exactly_once(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_EMAIL)


@pytest.mark.xfail(
    strict=False,
    reason="bot mode posts a thread reply or parent twice when recording it fails after Slack took it "
    "(seen on this seed: soak-00014 Completed)",
)
def test_every_final_status_reaches_slack_exactly_once(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_SLACK)


def test_the_dlq_holds_only_permanent_error_cases(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_DLQ)


def test_email_never_receives_more_than_ten_a_second(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_EMAIL_RATE)


@pytest.mark.xfail(
    strict=False,
    reason="a Get answering an older status without lastModifiedTime regresses the stored status "
    "(seen on this seed: soak-00005 Cancelled -> InProgress)",
)
def test_no_job_state_ever_regresses(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_REGRESSION)


@pytest.mark.xfail(
    strict=True,
    reason="a job ending in a status this version does not know (Cancelled) stays open: one Get on every idle poll",
)
def test_bedrock_calls_per_idle_poll_do_not_grow(result: SoakResult) -> None:
    assert_check(result, soak.CHECK_IDLE_COST)
