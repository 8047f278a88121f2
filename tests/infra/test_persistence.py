"""A deploy is what the configuration file says: changing one key keeps every other subscription."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import FULL, Synth, synthesize


def subscriptions(synth: Synth) -> dict[str, Any]:
    return synth.resources("AWS::SNS::Subscription")


def test_a_second_deploy_with_one_key_changed_keeps_every_subscription(full_synth: Synth) -> None:
    """The README's deploys once removed the emails a first deploy made; now every deploy reads the file."""
    # Given the file of the full configuration, deployed once (full_synth); when a second deploy changes one key
    # on the command line, as a person trying a faster schedule would:
    second = synthesize(notifier=FULL, overrides={"scheduleMinutes": "2"})

    # Then every email, ops and Slack subscription is still there, unchanged.
    first_subscriptions = subscriptions(full_synth)
    assert len(first_subscriptions) == 4  # two emails, the ops email, the Slack queue
    assert subscriptions(second) == first_subscriptions
    # And what was asked for did change.
    rules = [r for r in second.resources("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]]
    assert [r["Properties"]["ScheduleExpression"] for r in rules] == ["rate(2 minutes)"]
    assert set(second.json["Resources"]) == set(full_synth.json["Resources"])


def test_synth_prints_the_deliveries_and_warns_when_nobody_is_reached(default_synth: Synth, full_synth: Synth) -> None:
    assert "WARNING: this deploy reaches nobody" in default_synth.printed
    assert "WARNING" not in full_synth.printed
    assert "  email  oncall@example.com: Expired, Failed" in full_synth.printed
    assert (
        "  slack  on: Completed, Expired, Failed, PartiallyCompleted; a secret the stack creates" in full_synth.printed
    )
    assert "  ops    ops@example.com (alarms)" in full_synth.printed
