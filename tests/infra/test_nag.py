"""cdk-nag (AwsSolutions and Serverless packs): no unacknowledged finding, and no acknowledgement without one.

cdk-nag 3 is a CDK policy-validation plugin: at synth it reports violations to CDK, which writes them to
validation-report.json in the cloud assembly and, for error-level findings, fails the synth (in a test it raises
with the report). An acknowledged finding is dropped by the pack itself, so the raw findings are read from a
stack built without the acknowledgements, with NagPack.validate_scope.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra import nag
from tests.infra.conftest import DEV, FULL, Synth, cdk_context

EXISTING_SECRET_ARN = {
    "slack": True,
    "slackSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/slack-AbC123",
}


def findings(scope: Any) -> set[tuple[str, str, str]]:
    """(rule id, path of the resource, severity) of every finding the two packs report under scope."""
    found = set()
    for pack in nag.packs():
        for violation in pack.validate_scope(scope).violations:
            for resource in violation.violating_resources:
                found.add((violation.rule_name, str(resource.construct_path), violation.severity))
    return found


def unacknowledged(notifier: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> Any:
    from aws_cdk import App

    from infra.application import build
    from infra.config import NotifierConfig

    config = NotifierConfig.from_layers([("", notifier or {}), ("-c ", overrides or {})])
    return build(App(context=cdk_context()), config, acknowledge=False)


def test_the_synthesized_stacks_have_no_finding_left(any_synth: Synth) -> None:
    """Synth succeeded (an error would have failed it); warnings would show here."""
    assert findings(any_synth.stack) == set()


@pytest.mark.parametrize(
    ("notifier", "overrides"),
    [({}, {}), (FULL, {}), ({}, DEV), (EXISTING_SECRET_ARN, {})],
    ids=["default", "full", "dev", "existing-secret-arn"],
)
def test_the_acknowledged_findings_are_exactly_the_findings(
    notifier: dict[str, Any], overrides: dict[str, Any]
) -> None:
    """A new finding fails here (and the synth); so does an acknowledgement that no longer matches anything."""
    stack = unacknowledged(notifier, overrides)
    accepted = nag.accepted_findings(stack.notifier)
    raw = findings(stack)

    def covers(finding: nag.Finding, rule_id: str, path: str) -> bool:
        return finding.rule_id == rule_id and (path == finding.path or path.startswith(finding.path + "/"))

    unaccepted = sorted((rule, path) for rule, path, _ in raw if not any(covers(f, rule, path) for f in accepted))
    unused = sorted((f.rule_id, f.path) for f in accepted if not any(covers(f, r, p) for r, p, _ in raw))
    assert unaccepted == []
    assert unused == []
    for rule, path, _ in raw:
        assert sum(covers(f, rule, path) for f in accepted) == 1, (rule, path)


def test_an_unacknowledged_error_fails_the_synth() -> None:
    from aws_cdk.assertions import Template

    stack = unacknowledged()

    with pytest.raises(Exception, match="ValidationFailed") as failure:
        Template.from_stack(stack)
    report = str(failure.value)
    assert "AwsSolutions-IAM5[Resource::*]" in report
    assert "Serverless-LambdaLatestVersion" in report


def test_each_acknowledgement_says_why() -> None:
    stack = unacknowledged(FULL)

    for finding in nag.accepted_findings(stack.notifier):
        assert len(finding.reason) >= 80, finding.rule_id
        assert not finding.reason.lower().startswith(("ok", "fine", "needed", "required")), finding.rule_id


def test_the_acknowledged_rules(full_synth: Synth) -> None:
    """The whole list, so a change to it shows in review."""
    accepted = sorted(
        (f.rule_id, f.path.removeprefix("BedrockBatchNotifier/Default/"))
        for f in nag.accepted_findings(full_synth.stack.notifier)
    )

    assert accepted == sorted(
        [
            ("AwsSolutions-IAM5[Resource::*]", "Poller/Handler/Role/DefaultPolicy"),
            (
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>"
                ":model-invocation-job/*]",
                "Poller/Handler/Role/DefaultPolicy",
            ),
            ("AwsSolutions-L1", "Poller/Handler/Function"),
            ("Serverless-LambdaLatestVersion", "Poller/Handler/Function"),
            ("Serverless-LambdaDLQ", "Poller/Handler/Function"),
            ("AwsSolutions-SQS3", "DeadLetters/Queue"),
            ("Serverless-SQSRedrivePolicy", "DeadLetters/Queue"),
            (
                "Serverless-LambdaEventSourceMappingDestination",
                "Poller/Handler/Function/SqsEventSource:BedrockBatchNotifierFastPathQueueE15AE5D4",
            ),
            ("Serverless-SQSRedrivePolicy", "FastPath/DeadLetterQueue"),
            ("AwsSolutions-IAM5[Resource::*]", "Slack/Handler/Role/DefaultPolicy"),
            ("AwsSolutions-L1", "Slack/Handler/Function"),
            ("Serverless-LambdaLatestVersion", "Slack/Handler/Function"),
            ("Serverless-LambdaDLQ", "Slack/Handler/Function"),
            (
                "Serverless-LambdaEventSourceMappingDestination",
                "Slack/Handler/Function/SqsEventSource:BedrockBatchNotifierSlackQueueA73075BB",
            ),
            ("Serverless-SQSRedrivePolicy", "Slack/DeadLetterQueue"),
            ("AwsSolutions-SMG4", "Slack/Secret"),
        ]
    )
