"""The pages a user follows name things that exist: alarms, outputs, files, Slack scopes."""

from __future__ import annotations

import re

import yaml

from infra import REPO_ROOT
from tests.infra.conftest import Synth

DOCS = REPO_ROOT / "docs"


def test_the_runbook_has_a_section_for_each_alarm(full_synth: Synth) -> None:
    sections = set(re.findall(r"^## (\w+)$", (DOCS / "runbook.md").read_text(), re.MULTILINE))

    assert set(full_synth.stack.monitoring.alarms) <= sections


def test_the_runbook_reads_only_outputs_the_stack_has(full_synth: Synth) -> None:
    used = set(re.findall(r"\$\(out (\w+)\)", (DOCS / "runbook.md").read_text()))

    assert used
    assert used <= set(full_synth.json["Outputs"])


def test_the_runbook_redrives_the_slack_dlq_and_purges_the_other() -> None:
    runbook = (DOCS / "runbook.md").read_text()

    assert "aws sqs start-message-move-task --region $REGION --source-arn $SLACK_DLQ_ARN" in runbook
    assert "aws sqs purge-queue --region $REGION --queue-url $DLQ_URL" in runbook


def test_the_slack_app_manifest_has_a_bot_user_and_the_scopes_both_modes_use() -> None:
    manifest = yaml.safe_load((DOCS / "slack-app-manifest.yaml").read_text())

    assert manifest["features"]["bot_user"]["display_name"]
    # history: bot mode looks for a message it may already have posted before posting it again
    scopes = {"chat:write", "channels:history", "groups:history", "incoming-webhook"}
    assert scopes <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert manifest["settings"]["token_rotation_enabled"] is False


def test_every_relative_link_of_the_readme_and_the_docs_points_at_a_file() -> None:
    pages = [REPO_ROOT / "README.md", REPO_ROOT / "CHANGELOG.md", *DOCS.glob("*.md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
