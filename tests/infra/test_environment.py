"""The functions' environment: every variable, wired to the table, topic and secret, and accepted by the code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from notifier.core.settings import DEFAULT_SLACK_API_URL, SETTINGS, PollerSettings, SlackSettings
from tests.infra.conftest import Synth

# What the Refs and GetAtts of the template stand for once deployed, to run the functions' own settings on them.
TABLE = "BedrockBatchNotifier-StateTable-1A2B3C"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:BedrockBatchNotifier-notifications"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:SlackSecret-AbC123"


def variables(synth: Synth, function: Any) -> dict[str, Any]:
    resource = synth.json["Resources"][synth.logical_id(function)]
    return dict(resource["Properties"]["Environment"]["Variables"])


def deployed(environment: dict[str, Any], synth: Synth) -> dict[str, str]:
    stack = synth.stack
    values = {
        synth.logical_id(stack.state_table.table): TABLE,
        synth.logical_id(stack.notifications.topic): TOPIC,
    }
    if stack.slack is not None and not stack.config.uses_existing_slack_secret:
        values[synth.logical_id(stack.slack.secret)] = SECRET

    def value(raw: Any) -> str:
        if isinstance(raw, str):
            return raw
        if "Ref" in raw:
            return values[raw["Ref"]]
        # An ARN built from a name (an existing secret): the pseudo parameters, then the literal rest.
        parts = raw["Fn::Join"][1]
        pseudo = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}
        return "".join(p if isinstance(p, str) else pseudo[p["Ref"]] for p in parts)

    return {name: value(raw) for name, raw in environment.items()}


def test_the_poller_environment(default_synth: Synth) -> None:
    stack = default_synth.stack

    assert variables(default_synth, stack.poller.function) == {
        "POWERTOOLS_SERVICE_NAME": "poller",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockBatchNotifier",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "STATE_TABLE_NAME": {"Ref": default_synth.logical_id(stack.state_table.table)},
        "TOPIC_ARN": {"Ref": default_synth.logical_id(stack.notifications.topic)},
        "NOTIFY_STATUSES": "Completed,Expired,Failed,InProgress,PartiallyCompleted,Stopped",
        "JOB_NAME_PATTERNS": "",
        "MODEL_ID_PATTERNS": "",
        "ERROR_RATE_WARNING": "0.05",
        "OVERLAP_MINUTES": "10",
        "BASELINE_LOOKBACK_DAYS": "8",
        "NOTIFY_ON_FIRST_RUN": "false",
        "JOB_TTL_DAYS": "30",
        "PUBLISH_MAX_PER_SECOND": "9",
        "TIMEOUT_RESERVE_SECONDS": "30",
        "AWS_MAX_ATTEMPTS": "6",
        "AWS_DATA_PATH": "/var/task/sdk-models",
        "TRACING": "false",
    }


def test_the_poller_reads_its_environment_as_configured(any_synth: Synth) -> None:
    config = any_synth.stack.config

    settings = PollerSettings.from_env(deployed(variables(any_synth, any_synth.stack.poller.function), any_synth))

    assert settings == PollerSettings(
        state_table_name=TABLE,
        topic_arn=TOPIC,
        notify_statuses=config.notify_statuses,
        job_name_patterns=config.job_name_patterns,
        model_id_patterns=config.model_id_patterns,
        overlap=timedelta(minutes=config.overlap_minutes),
        baseline_lookback=timedelta(days=config.baseline_lookback_days),
        notify_on_first_run=config.notify_on_first_run,
        job_ttl=timedelta(days=config.job_ttl_days),
        publish_max_per_second=config.publish_max_per_second,
        time_reserve=timedelta(seconds=config.timeout_reserve_seconds),
        tracing=config.tracing,
        error_rate_warning=config.error_rate_warning,
    )


def test_patterns_and_first_run_reach_the_poller(full_synth: Synth, dev_synth: Synth) -> None:
    full = variables(full_synth, full_synth.stack.poller.function)
    dev = variables(dev_synth, dev_synth.stack.poller.function)

    assert (full["JOB_NAME_PATTERNS"], full["MODEL_ID_PATTERNS"]) == ("nightly-*,eval-?", "anthropic.*")
    assert (dev["NOTIFY_ON_FIRST_RUN"], dev["TIMEOUT_RESERVE_SECONDS"], dev["POWERTOOLS_LOG_LEVEL"]) == (
        "true",
        "12",
        "DEBUG",
    )
    assert dev["TRACING"] == "true"
    assert (full["ERROR_RATE_WARNING"], dev["ERROR_RATE_WARNING"]) == ("0.05", "0.1")


def test_the_slack_environment(full_synth: Synth) -> None:
    stack = full_synth.stack

    assert variables(full_synth, stack.slack.function) == {
        "POWERTOOLS_SERVICE_NAME": "slack",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockBatchNotifier",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "SLACK_SECRET_ARN": {"Ref": full_synth.logical_id(stack.slack.secret)},
        "STATE_TABLE_NAME": {"Ref": full_synth.logical_id(stack.state_table.table)},
        "SLACK_API_URL": "https://slack.com/api/",
        "SLACK_BROADCAST_STATUSES": "Expired,Failed,PartiallyCompleted",
        "SLACK_SECRET_MAX_AGE_SECONDS": "300",
        "SLACK_MESSAGE_TTL_DAYS": "30",
        "TRACING": "false",
    }


def test_the_slack_function_reads_its_environment_as_configured(full_synth: Synth, dev_synth: Synth) -> None:
    for synth, secret in (
        (full_synth, SECRET),
        (dev_synth, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/slack-notifier"),
    ):
        config = synth.stack.config
        settings = SlackSettings.from_env(deployed(variables(synth, synth.stack.slack.function), synth))

        assert settings.secret_arn == secret
        assert settings.state_table_name == TABLE
        assert settings.api_url == DEFAULT_SLACK_API_URL
        assert settings.broadcast_statuses == config.slack_broadcast_statuses
        assert settings.secret_max_age_seconds == config.slack_secret_max_age_seconds
        assert settings.message_ttl_days == config.slack_message_ttl_days
        assert settings.tracing == config.tracing


class Recording(dict[str, str]):
    """An environment that notes every variable the code asks for."""

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    @property
    def asked(self) -> set[str]:
        self.__dict__.setdefault("_asked", set())
        return self.__dict__["_asked"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("function", "settings"), [("poller", PollerSettings), ("slack", SlackSettings)])
def test_every_variable_a_function_reads_is_set_by_the_stack_or_documented_as_internal(
    full_synth: Synth, function: str, settings: Any
) -> None:
    set_by_stack = variables(full_synth, getattr(full_synth.stack, function).function)
    environment = Recording(deployed(set_by_stack, full_synth))

    settings.from_env(environment)

    internal = {s.env for s in SETTINGS if s.env and function in s.functions and s.internal}
    assert environment.asked - set(set_by_stack) == internal
    # And the stack sets nothing the table does not declare for that function.
    declared = {s.env for s in SETTINGS if s.env and function in s.functions}
    assert set(set_by_stack) == declared - internal
