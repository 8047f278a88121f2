"""The notifier as a library: its construct inside a user's own CDK app, and the release it carries."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from infra import REPO_ROOT, __version__
from tests.infra.conftest import SKIP_BUNDLING, Synth


def users_own_stack() -> tuple[Any, Any, dict[str, Any]]:
    """What docs/library.md shows: a stack of the user's, the notifier in it, a queue of theirs subscribed."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sns_subscriptions as subscriptions
    from aws_cdk import aws_sqs as sqs
    from aws_cdk.assertions import Template

    from infra import nag
    from infra.config import NotifierConfig
    from infra.notifier import BedrockBatchNotifier

    app = App(context=SKIP_BUNDLING)  # a bare app: none of this project's cdk.json feature flags
    stack = Stack(app, "TeamPlatform")
    notifier = BedrockBatchNotifier(
        stack,
        "BatchJobAlerts",
        config=NotifierConfig.from_mapping({"emails": ["team@example.com"], "slack": True, "scheduleMinutes": 10}),
    )
    nag.acknowledge(notifier)
    queue = sqs.Queue(stack, "FailedJobs", enforce_ssl=True)
    notifier.notifications.topic.add_subscription(
        subscriptions.SqsSubscription(
            queue,
            raw_message_delivery=True,
            filter_policy={"severity": sns.SubscriptionFilter.string_filter(allowlist=["warning", "critical"])},
        )
    )
    return stack, notifier, Template.from_stack(stack).to_json()


def test_the_construct_synthesizes_inside_a_users_own_stack() -> None:
    stack, notifier, template = users_own_stack()
    resources = template["Resources"]

    def of_type(resource_type: str) -> list[dict[str, Any]]:
        return [r for r in resources.values() if r["Type"] == resource_type]

    assert len(of_type("AWS::DynamoDB::Table")) == 1
    assert len(of_type("AWS::Lambda::Function")) == 2  # poller and Slack
    (topic,) = [t for t in of_type("AWS::SNS::Topic") if t["Properties"].get("TopicName")]
    # Names follow the user's stack, so the key and topic policies still name the notifier's own alarms.
    assert topic["Properties"]["TopicName"] == "TeamPlatform-notifications"
    alarms = {a["Properties"]["AlarmName"] for a in of_type("AWS::CloudWatch::Alarm")}
    assert "TeamPlatform-PollerNotRunning" in alarms
    assert all(name.startswith("TeamPlatform-") for name in alarms)
    # The user's own subscriber hangs off the notifier's topic.
    topic_id = stack.resolve(stack.get_logical_id(notifier.notifications.topic.node.default_child))
    sqs_subscriptions = [s for s in of_type("AWS::SNS::Subscription") if s["Properties"]["Protocol"] == "sqs"]
    assert {"Ref": topic_id} in [s["Properties"]["TopicArn"] for s in sqs_subscriptions]
    assert any(s["Properties"].get("RawMessageDelivery") for s in sqs_subscriptions)
    # Filtered on the severity attribute the poller sets: only jobs that did not simply work.
    [mine] = [s for s in sqs_subscriptions if s["Properties"].get("RawMessageDelivery")]
    assert mine["Properties"]["FilterPolicy"] == {"severity": ["warning", "critical"]}


def test_the_stack_keeps_the_logical_ids_of_its_stateful_resources(full_synth: Synth) -> None:
    """The stack holds the construct under the id "Default", which CDK leaves out of logical ids: an upgrade
    from a release whose stack held these resources directly replaces none of them."""
    stack = full_synth.stack

    assert full_synth.logical_id(stack.state_table.table) == "StateTable8C4E6068"
    assert full_synth.logical_id(stack.key) == "MessagingKey34A1B3F7"
    assert full_synth.logical_id(stack.notifications.topic) == "NotificationsTopicAE679CBD"
    assert full_synth.logical_id(stack.slack.secret) == "SlackSecret0D48E608"
    assert "NotificationsteamexamplecomAA2554C5" in full_synth.json["Resources"]  # an email subscription


def test_one_version_in_pyproject_the_package_the_changelog_and_the_stack(default_synth: Synth) -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    latest = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.MULTILINE)

    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert pyproject["project"]["version"] == __version__
    assert latest is not None
    assert latest.group(1) == __version__
    assert default_synth.json["Outputs"]["NotifierVersion"]["Value"] == __version__
