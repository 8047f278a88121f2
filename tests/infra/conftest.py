"""Synthesized stacks, built once per session: synthesis is slow, assertions are cheap.

Three configurations cover every branch of the stack: the defaults (no configuration file), everything on
(Slack, emails with filters, ops emails), and a dev stack (destroy, no reserved concurrency, an existing secret
by name, a one-minute schedule). Bundling is skipped here; tests/infra/test_cli.py bundles for real.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import REPO_ROOT

CDK_JSON = REPO_ROOT / "cdk.json"
SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}

FULL = {
    "slack": True,
    "slackStatuses": ["Failed", "Completed", "PartiallyCompleted", "Expired"],
    "emails": ["team@example.com", {"address": "oncall@example.com", "statuses": ["Failed", "Expired"]}],
    "emailStatuses": ["Completed", "Failed", "PartiallyCompleted", "Expired", "Stopped"],
    "opsEmails": ["ops@example.com"],
    "jobNamePatterns": ["nightly-*", "eval-?"],
    "modelIdPatterns": ["anthropic.*"],
}
# As the command line gives them: every value a string.
DEV = {
    "stackName": "BedrockBatchNotifier-dev",
    "removalPolicy": "destroy",
    "reservedConcurrency": "off",
    "scheduleMinutes": "1",
    "slack": "true",
    "slackSecretName": "team/slack-notifier",
    "logRetentionDays": "7",
    "logLevel": "debug",
    "notifyOnFirstRun": "true",
    "tracing": "true",
    "errorRateWarning": "0.1",
}


def cdk_context(**extra: Any) -> dict[str, Any]:
    """cdk.json's context, as the CLI would pass it, plus extra keys (`-c` overrides, `configFile`)."""
    context = dict(json.loads(CDK_JSON.read_text())["context"])
    context.update(SKIP_BUNDLING)
    context.update(extra)
    return context


@dataclass
class Synth:
    app: Any
    stack: Any
    template: Any  # aws_cdk.assertions.Template
    json: dict[str, Any]
    printed: str  # what synth told the person deploying

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == resource_type}

    def only(self, resource_type: str) -> dict[str, Any]:
        found = self.resources(resource_type)
        assert len(found) == 1, f"{len(found)} {resource_type}"
        return next(iter(found.values()))

    def logical_id(self, construct: Any) -> str:
        child = construct.node.default_child or construct
        return str(self.stack.resolve(self.stack.get_logical_id(child)))


def synthesize(*, notifier: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> Synth:
    """notifier: the configuration file's keys; overrides: top-level keys, as `-c key=value` passes.

    The file is a temporary one, so a developer's own notifier.config.json never changes what the tests see.
    """
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.application import run

    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as directory:
        config_file = Path(directory) / "notifier.config.json"
        config_file.write_text(json.dumps(notifier or {}))
        app = App(context=cdk_context(configFile=str(config_file), **(overrides or {})))
        stack = run(app, printed)
    template = Template.from_stack(stack)
    return Synth(app, stack, template, template.to_json(), printed.getvalue())


@pytest.fixture(scope="session")
def default_synth() -> Synth:
    return synthesize()


@pytest.fixture(scope="session")
def full_synth() -> Synth:
    return synthesize(notifier=FULL)


@pytest.fixture(scope="session")
def dev_synth() -> Synth:
    return synthesize(overrides=DEV)


@pytest.fixture(scope="session", params=["default", "full", "dev"])
def any_synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(f"{request.param}_synth")
