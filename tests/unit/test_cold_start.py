"""In Lambda, a missing or malformed variable stops the cold start with a message naming it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC123"


def import_in_lambda(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT / "functions"),
        "AWS_LAMBDA_FUNCTION_NAME": "notifier",
        "AWS_DEFAULT_REGION": "us-east-1",
        **env,
    }
    return subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-c", f"import {module}"], env=environment, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("module", "env", "message"),
    [
        ("notifier.poller.entry", {"STATE_TABLE_NAME": "state"}, "TOPIC_ARN is not set"),
        (
            "notifier.poller.entry",
            {"STATE_TABLE_NAME": "state", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"},
            "is not an SNS topic ARN",
        ),
        ("notifier.slack.entry", {"STATE_TABLE_NAME": "state"}, "SLACK_SECRET_ARN is not set"),
    ],
)
def test_bad_configuration_fails_the_cold_start(module, env, message):
    result = import_in_lambda(module, env)
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert message in result.stderr


def test_good_configuration_imports_cleanly():
    env = {"STATE_TABLE_NAME": "state", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:transitions"}
    assert import_in_lambda("notifier.poller.entry", env).returncode == 0


@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("notifier.poller.entry", {"STATE_TABLE_NAME": "state", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}),
        ("notifier.slack.entry", {"STATE_TABLE_NAME": "state", "SLACK_SECRET_ARN": SECRET_ARN}),
    ],
)
def test_the_cold_start_logs_the_sdk_that_parses_responses(module, env):
    import boto3
    import botocore

    result = import_in_lambda(module, {**env, "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:transitions"})

    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(line) for line in result.stdout.splitlines() if '"Cold start"' in line]
    assert (line["boto3"], line["botocore"]) == (boto3.__version__, botocore.__version__)


def loaded_after_import(module: str, env: dict[str, str]) -> set[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT / "functions"),
        "AWS_LAMBDA_FUNCTION_NAME": "notifier",
        "LAMBDA_TASK_ROOT": str(ROOT / "functions"),  # Powertools traces only inside Lambda
        "AWS_DEFAULT_REGION": "us-east-1",
        **env,
    }
    script = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


SLACK_ENV = {"STATE_TABLE_NAME": "state", "SLACK_SECRET_ARN": SECRET_ARN}
POLLER_ENV = {"STATE_TABLE_NAME": "state", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:transitions"}


@pytest.mark.parametrize(("module", "env"), [("notifier.poller", POLLER_ENV), ("notifier.slack", SLACK_ENV)])
def test_with_tracing_off_the_cold_start_does_not_import_the_xray_sdk(module, env):
    assert "aws_xray_sdk.core" not in loaded_after_import(module, env)
    assert "aws_xray_sdk.core" not in loaded_after_import(module, {**env, "TRACING": "false"})


@pytest.mark.parametrize(("module", "env"), [("notifier.poller", POLLER_ENV), ("notifier.slack", SLACK_ENV)])
def test_with_tracing_on_the_handler_traces_aws_and_slack_calls(module, env):
    loaded = loaded_after_import(module, {**env, "TRACING": "true"})

    assert {"aws_xray_sdk.core", "aws_xray_sdk.ext.botocore.patch", "aws_xray_sdk.ext.httplib.patch"} <= loaded


def test_a_tracing_value_that_is_not_a_boolean_fails_the_cold_start():
    result = import_in_lambda("notifier.poller.entry", {**POLLER_ENV, "TRACING": "sometimes"})

    assert result.returncode != 0
    assert 'TRACING="sometimes" is not a boolean' in result.stderr
