"""notifier.config.json: the one file every deploy reads, and what synth says about it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config import ConfigError, ConfigFile, EmailSubscriber, NotifierConfig
from infra.deliveries import summary, warnings


def written(tmp_path: Path, text: str) -> ConfigFile:
    path = tmp_path / "notifier.config.json"
    path.write_text(text)
    return ConfigFile(path, required=False)


def error_of(config_file: ConfigFile, **context: object) -> str:
    with pytest.raises(ConfigError) as raised:
        NotifierConfig.from_context(context, config_file)
    return str(raised.value)


def test_the_file_is_read(tmp_path: Path) -> None:
    given = NotifierConfig.from_context({}, written(tmp_path, json.dumps({"emails": ["a@x.com"], "slack": True})))

    assert given.emails == (EmailSubscriber("a@x.com"),)
    assert given.slack


def test_no_file_means_the_defaults_unless_one_was_named(tmp_path: Path) -> None:
    missing = tmp_path / "notifier.config.json"

    assert NotifierConfig.from_context({}, ConfigFile(missing, required=False)) == NotifierConfig()
    assert error_of(ConfigFile(missing, required=True)).endswith(
        "notifier.config.json: no such file (named by -c configFile)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"emails": ["a@x.com"],}', "notifier.config.json: is not valid JSON: Expecting property name enclosed in "
         "double quotes at line 1 column 24"),
        ('["a@x.com"]', 'notifier.config.json: is ["a@x.com"], not a JSON object of configuration keys'),
        ('{"email": ["a@x.com"]}', "notifier.config.json: email is not a configuration key; did you mean emails?"),
        ('{"scheduleMinutes": 0}', "notifier.config.json: scheduleMinutes=0 is out of range (accepted: a whole "
         "number of minutes from 1 to 60)"),
        ('{"emails": ["team@example"]}', 'notifier.config.json: emails[0]="team@example" is not an email address'),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    assert message in error_of(written(tmp_path, text))


def test_a_bad_command_line_value_is_named_as_the_command_line_s(tmp_path: Path) -> None:
    message = error_of(written(tmp_path, '{"scheduleMinutes": 5}'), scheduleMinutes="0")

    assert message.startswith('-c scheduleMinutes="0" is out of range')


def test_synth_says_what_each_delivery_will_receive() -> None:
    config = NotifierConfig.from_mapping(
        {
            "emails": ["team@example.com", {"address": "oncall@example.com", "statuses": ["Failed"]}],
            "opsEmails": ["ops@example.com"],
            "slack": True,
            "slackSecretName": "team/slack",
            "stackName": "Notifier-dev",
        }
    )

    assert summary(config, ["notifier.config.json", "-c slack"]).splitlines() == [
        "Stack Notifier-dev (configuration: notifier.config.json, then -c slack)",
        "  email  team@example.com: Completed, Expired, Failed, PartiallyCompleted, Stopped",
        "  email  oncall@example.com: Failed",
        "  slack  on: every published status; existing secret named team/slack",
        "  ops    ops@example.com (alarms)",
    ]
    assert warnings(config) == []


def test_a_deploy_that_reaches_nobody_is_warned_of_but_not_refused() -> None:
    nobody = NotifierConfig()

    assert summary(nobody, []).splitlines()[1:] == ["  email  none", "  slack  off", "  ops    none (alarms)"]
    (warning,) = warnings(nobody)
    assert warning.startswith("WARNING: this deploy reaches nobody: no emails, slack off and no opsEmails.")
    assert warnings(NotifierConfig.from_mapping({"opsEmails": ["ops@example.com"]})) == []
