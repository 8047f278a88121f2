"""`npx cdk synth` as a person runs it: no AWS credentials, no Docker, no lookups, real bundling."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint

from infra import REPO_ROOT, bundling
from tests.infra.test_cfn_lint import REGIONS

pytestmark = pytest.mark.slow

STACK = "BedrockBatchNotifier"
# What a credential or a Slack secret looks like; none may reach a template.
SECRET_SHAPES = [
    r"xox[abposr]-[A-Za-z0-9-]{8,}",
    r"hooks\.slack\.com/services/T[A-Z0-9]{4,}",
    r"AKIA[0-9A-Z]{16}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r'"botToken"\s*:\s*"[^".]',
]


def cdk_synth(output: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    # Nothing from the caller's AWS setup, and a docker command that cannot run: bundling must be local.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CDK_"))}
    env.update(
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DOCKER=str(output.parent / "no-docker-here"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(output.parent / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(output.parent / "no-aws-credentials"),
    )
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(output), *arguments]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)  # noqa: S603


@dataclass
class Run:
    output: Path
    stderr: str


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    # A configuration file of its own: the developer's notifier.config.json must not change what is checked.
    directory = tmp_path_factory.mktemp("cli")
    config_file = directory / "notifier.config.json"
    config_file.write_text(json.dumps({"emails": ["team@example.com"], "opsEmails": ["ops@example.com"]}))
    output = directory / "cdk.out"
    result = cdk_synth(output, "-c", f"configFile={config_file}", "-c", "slack=true")
    assert result.returncode == 0, result.stderr[-4000:]
    return Run(output, result.stderr)


@pytest.fixture(scope="module")
def synthesized(cli_run: Run) -> Path:
    return cli_run.output


def test_the_cli_shows_what_the_deploy_will_deliver(cli_run: Run) -> None:
    lines = cli_run.stderr.splitlines()

    assert any(
        line.startswith("Stack BedrockBatchNotifier (configuration: ")
        and line.endswith("notifier.config.json, then -c slack)")
        for line in lines
    ), cli_run.stderr[-2000:]
    assert "  email  team@example.com: Completed, Expired, Failed, PartiallyCompleted, Stopped" in lines
    assert "  ops    ops@example.com (alarms)" in lines


def template(output: Path) -> dict[str, Any]:
    return dict(json.loads((output / f"{STACK}.template.json").read_text()))


def function_asset(output: Path) -> Path:
    assets = json.loads((output / f"{STACK}.assets.json").read_text())["files"]
    (entry,) = [a for a in assets.values() if a["source"].get("packaging") == "zip"]
    return output / entry["source"]["path"]


def test_the_asset_is_bundled_without_docker(synthesized: Path) -> None:
    asset = function_asset(synthesized)
    top = {p.name for p in asset.iterdir()}

    for module in ("__init__.py", "poller/__init__.py", "slack/__init__.py", "core/table_layout.py"):
        assert (asset / "notifier" / module).is_file(), module
    assert not list(asset.glob("*.egg-info")), "the installed package's metadata is not part of the function code"
    assert {"aws_lambda_powertools", "aws_xray_sdk", "slack_sdk"} <= top
    # Provided by the Lambda runtime, so not shipped again; but the Bedrock model of the locked botocore is.
    assert not top & {"boto3", "botocore", "s3transfer", "urllib3"}
    assert (asset / "sdk-models" / "bedrock" / "2023-04-20" / "service-2.json").is_file()


def test_every_module_has_bytecode_for_3_13_when_a_3_13_is_here(synthesized: Path) -> None:
    asset = function_asset(synthesized)
    modules = list(asset.rglob("*.py"))
    compiled = {p.parent.parent / p.name.replace(".cpython-313.pyc", ".py") for p in asset.rglob("*.cpython-313.pyc")}

    if bundling.bytecode_python() is None:
        assert compiled == set(), "without a Python 3.13 the asset ships no bytecode"
    else:
        assert set(modules) <= compiled
    assert not [p for p in asset.rglob("*.pyc") if ".cpython-313." not in p.name]


def test_compiled_wheels_are_for_lambda_arm64_and_python_3_13(synthesized: Path) -> None:
    asset = function_asset(synthesized)
    extensions = list(asset.rglob("*.so"))
    tags = [line for wheel in asset.glob("*.dist-info/WHEEL") for line in wheel.read_text().splitlines()]
    platform_tags = [t for t in tags if t.startswith("Tag:") and not t.endswith("-none-any")]

    assert extensions, "expected at least one compiled extension (wrapt, for the X-Ray SDK)"
    assert all(e.name.endswith(".cpython-313-aarch64-linux-gnu.so") for e in extensions), extensions
    assert platform_tags
    assert all("cp313" in t and "aarch64" in t for t in platform_tags), platform_tags


def test_both_functions_deploy_that_asset(synthesized: Path) -> None:
    asset = function_asset(synthesized)
    functions = [r for r in template(synthesized)["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]

    assert len(functions) == 2
    assert {f["Properties"]["Code"]["S3Key"] for f in functions} == {asset.name.removeprefix("asset.") + ".zip"}


def test_no_secret_reaches_the_template(synthesized: Path) -> None:
    text = (synthesized / f"{STACK}.template.json").read_text()
    secrets = [r for r in template(synthesized)["Resources"].values() if r["Type"] == "AWS::SecretsManager::Secret"]

    assert [s["Properties"]["SecretString"] for s in secrets] == ["{}"]
    for shape in SECRET_SHAPES:
        assert not re.search(shape, text), shape


def test_cdk_nag_reported_nothing(synthesized: Path) -> None:
    report = json.loads((synthesized / "validation-report.json").read_text())

    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_nothing_was_looked_up(synthesized: Path) -> None:
    manifest = json.loads((synthesized / "manifest.json").read_text())

    assert "missing" not in manifest
    assert manifest["artifacts"][STACK]["environment"] == "aws://unknown-account/unknown-region"


def test_cfn_lint_finds_nothing_in_the_cli_template(synthesized: Path) -> None:
    matches = lint((synthesized / f"{STACK}.template.json").read_text(), regions=REGIONS)

    assert [f"{m.rule.id} {m.message}" for m in matches] == []


def test_a_bad_value_fails_the_synth_with_the_key_and_what_it_accepts(tmp_path: Path) -> None:
    config_file = tmp_path / "notifier.config.json"
    config_file.write_text('{"scheduleMinutes": 0}')

    result = cdk_synth(tmp_path / "cdk.out", "-c", f"configFile={config_file}")

    assert result.returncode != 0
    # The file named, the key, the value and what it accepts.
    assert (
        f"Configuration error: {config_file}: scheduleMinutes=0 is out of range "
        "(accepted: a whole number of minutes from 1 to 60)"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdk.out" / f"{STACK}.template.json").exists()
