"""What `cdk destroy` leaves behind: nothing for a trial (removalPolicy=destroy), the data a production keeps
otherwise. docs/teardown.md gives the commands for exactly the retained set checked here."""

from __future__ import annotations

from infra import REPO_ROOT
from tests.infra.conftest import Synth

KEEPING = {"Retain", "RetainExceptOnCreate", "Snapshot"}
# What docs/teardown.md tells a user to delete by hand after destroying a production stack.
RETAINED_IN_PRODUCTION = {
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
}


def kept(synth: Synth) -> dict[str, str]:
    return {
        logical_id: resource["Type"]
        for logical_id, resource in synth.json["Resources"].items()
        if resource.get("DeletionPolicy") in KEEPING or resource.get("UpdateReplacePolicy") in KEEPING
    }


def test_a_trial_stack_leaves_nothing_behind(dev_synth: Synth) -> None:
    """removalPolicy=destroy: every resource goes with the stack, and the table is not protected from it."""
    assert kept(dev_synth) == {}
    table = dev_synth.only("AWS::DynamoDB::Table")["Properties"]
    assert table.get("DeletionProtectionEnabled", False) is False


def test_a_production_stack_keeps_its_table_key_secret_and_logs(full_synth: Synth) -> None:
    assert set(kept(full_synth).values()) == RETAINED_IN_PRODUCTION
    assert full_synth.only("AWS::DynamoDB::Table")["Properties"]["DeletionProtectionEnabled"] is True


def test_the_teardown_page_has_a_delete_command_for_each_retained_resource() -> None:
    page = (REPO_ROOT / "docs" / "teardown.md").read_text()

    for command in (
        "aws dynamodb update-table",
        "--no-deletion-protection-enabled",
        "aws dynamodb delete-table",
        "aws kms schedule-key-deletion",
        "aws secretsmanager delete-secret",
        "aws logs delete-log-group",
        "removalPolicy",
    ):
        assert command in page, command
