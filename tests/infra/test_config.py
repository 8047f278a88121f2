"""The configuration object: defaults, how the file and -c values are read, and the promised error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import (
    CONFIG_EXAMPLE,
    KEYS,
    LOG_RETENTION_DAYS,
    ConfigError,
    ConfigFile,
    EmailSubscriber,
    NotifierConfig,
)
from notifier.core.jobs import DEFAULT_NOTIFY_STATUSES, TERMINAL_STATUSES
from notifier.core.settings import BY_KEY
from tests.infra.conftest import CDK_JSON


def config(**context: Any) -> NotifierConfig:
    return NotifierConfig.from_context(context)


def error_of(**context: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        NotifierConfig.from_context(context)
    return str(raised.value)


def test_defaults_are_the_documented_ones() -> None:
    defaults = config()

    assert defaults == NotifierConfig()
    assert defaults.schedule_minutes == 5
    assert defaults.notify_statuses == DEFAULT_NOTIFY_STATUSES == TERMINAL_STATUSES | {"InProgress"}
    assert defaults.poller_timeout_seconds == 240
    assert defaults.timeout_reserve_seconds == 30
    assert defaults.reserved_concurrency == 1
    assert defaults.removal_policy == "retain"
    assert not defaults.slack
    assert defaults.emails == ()
    assert defaults.baseline_lookback_days == 8
    assert defaults.overlap_minutes == 10
    assert defaults.job_ttl_days == 30
    assert not defaults.notify_on_first_run


def test_email_defaults_to_the_terminal_statuses_one_message_per_job() -> None:
    anyone = EmailSubscriber("team@example.com")

    assert config().email_filter(anyone) == TERMINAL_STATUSES
    assert "InProgress" not in (config().email_filter(anyone) or ())
    # Among the statuses published only, so the default never trips the notifyStatuses check.
    assert config(notifyStatuses="InProgress,Failed", emails="a@x.com").email_filter(anyone) == {"Failed"}
    # Nothing terminal is published: the addresses get what is.
    assert config(notifyStatuses="InProgress", emails="a@x.com").email_filter(anyone) is None


def test_cdk_json_holds_no_configuration() -> None:
    """The configuration lives in notifier.config.json, untracked, so an upgrade never conflicts with it."""
    assert "notifier" not in json.loads(CDK_JSON.read_text())["context"]


def test_the_example_file_is_a_configuration_that_reaches_someone() -> None:
    example = NotifierConfig.from_context({}, ConfigFile(CONFIG_EXAMPLE, required=True))

    assert example.emails
    assert example.ops_emails


def test_every_field_is_a_key_of_the_table_with_its_default() -> None:
    fields = set(NotifierConfig.__dataclass_fields__)
    defaults = NotifierConfig()

    assert {k.field for k in KEYS} == fields
    assert {k.field: getattr(defaults, k.field) for k in KEYS} == {k.field: k.default for k in KEYS}
    assert BY_KEY["publishMaxPerSecond"].maximum == 9  # SNS suspends an email subscription past 10 a second


def test_command_line_strings_are_read_as_their_types() -> None:
    """-c key=value always gives a string."""
    given = config(
        scheduleMinutes="1",
        notifyStatuses="Failed,Completed",
        emails="a@x.com,b@y.com",
        slack="true",
        reservedConcurrency="off",
        removalPolicy="DESTROY",
        logRetentionDays="90",
        logLevel="debug",
        jobNamePatterns="nightly-*,eval-?",
        tracing="on",
        errorRateWarning="0.2",
    )

    assert given.schedule_minutes == 1
    assert given.notify_statuses == {"Failed", "Completed"}
    assert given.emails == (EmailSubscriber("a@x.com"), EmailSubscriber("b@y.com"))
    assert given.slack
    assert given.reserved_concurrency is None
    assert given.removal_policy == "destroy"
    assert given.log_retention_days == 90
    assert given.log_level == "DEBUG"
    assert given.tracing is True
    assert given.job_name_patterns == ("nightly-*", "eval-?")
    assert given.error_rate_warning == 0.2


def test_command_line_overrides_the_file_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "notifier.config.json"
    path.write_text(json.dumps({"scheduleMinutes": 10, "opsEmails": ["ops@x.com"]}))

    given = NotifierConfig.from_context({"scheduleMinutes": "2"}, ConfigFile(path, required=True))

    assert given.schedule_minutes == 2
    assert given.ops_emails == ("ops@x.com",)


def test_a_legacy_cdk_json_object_is_read_beneath_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notifier.config.json"
    path.write_text(json.dumps({"scheduleMinutes": 10}))

    given = NotifierConfig.from_context(
        {"notifier": {"scheduleMinutes": 2, "opsEmails": ["ops@x.com"]}}, ConfigFile(path, required=True)
    )

    assert (given.schedule_minutes, given.ops_emails) == (10, ("ops@x.com",))


def test_emails_with_their_own_filters_and_a_default_filter() -> None:
    given = config(
        notifier={
            "emails": ["all@x.com", {"address": "failures@x.com", "statuses": ["Failed", "Expired"]}],
            "emailStatuses": ["Completed", "Failed"],
        }
    )

    everyone, failures = given.emails
    assert given.email_filter(everyone) == {"Completed", "Failed"}
    assert given.email_filter(failures) == {"Failed", "Expired"}


def test_emails_as_json_on_the_command_line() -> None:
    given = config(emails='[{"address": "a@x.com", "statuses": ["Failed"]}]')

    assert given.emails == (EmailSubscriber("a@x.com", frozenset({"Failed"})),)


def test_the_timeout_follows_a_shorter_schedule() -> None:
    """The poller's timeout stays below the rate, so runs never overlap; the reserve shrinks with it."""
    one_minute = config(scheduleMinutes=1)
    two_minutes = config(scheduleMinutes=2)

    assert one_minute.poller_timeout_seconds == 48
    assert one_minute.timeout_reserve_seconds == 12
    assert two_minutes.poller_timeout_seconds == 96
    assert config(scheduleMinutes=60).poller_timeout_seconds == 240


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"scheduleMinutes": "0"},
            'scheduleMinutes="0" is out of range (accepted: a whole number of minutes from 1 to 60)',
        ),
        ({"scheduleMinutes": 0.5}, "scheduleMinutes=0.5 is not a whole number (accepted: a whole number of minutes"),
        ({"scheduleMinutes": True}, "scheduleMinutes=true is not a whole number"),
        # SNS suspends an email subscription above 10 messages a second; 10 itself leaves no margin.
        ({"publishMaxPerSecond": 10}, "publishMaxPerSecond=10 is out of range (accepted: a whole number from 1 to 9)"),
        (
            {"notifyStatuses": "Failed,Done"},
            'notifyStatuses="Failed,Done" has unknown status Done (accepted: a list of Completed, Expired, Failed, '
            "InProgress, PartiallyCompleted, Scheduled, Stopped, Stopping, Submitted, Validating)",
        ),
        ({"notifyStatuses": []}, "notifyStatuses=[] names no status"),
        ({"notifyStatuses": 5}, "notifyStatuses=5 is not a list"),
        ({"emails": "team@example"}, 'emails[0]="team@example" is not an email address (accepted: email addresses'),
        ({"emails": ["a@x.com", "A@x.com"]}, 'emails="A@x.com" is listed twice'),
        ({"emails": [{"adress": "a@x.com"}]}, 'emails[0]={"adress": "a@x.com"} has unknown field adress'),
        (
            {"emails": [{"address": "a@x.com", "statuses": ["Bogus"]}]},
            'emails[0].statuses=["Bogus"] has unknown status Bogus',
        ),
        ({"opsEmails": "ops"}, 'opsEmails[0]="ops" is not an email address'),
        (
            {"notifier": {"scheduleMinute": 5}},
            "scheduleMinute is not a configuration key; did you mean scheduleMinutes?",
        ),
        ({"scheduleMinute": "5"}, "-c scheduleMinute is not a configuration key; did you mean scheduleMinutes?"),
        (
            {"logRetentionDays": "31"},
            'logRetentionDays="31" is not accepted (accepted: one of '
            + ", ".join(str(d) for d in LOG_RETENTION_DAYS)
            + ")",
        ),
        ({"logLevel": "verbose"}, 'logLevel="verbose" is not accepted (accepted: one of DEBUG, INFO, WARNING, ERROR)'),
        ({"removalPolicy": "keep"}, 'removalPolicy="keep" is not accepted (accepted: one of retain, destroy)'),
        ({"reservedConcurrency": 5}, "reservedConcurrency=5 is not accepted (accepted: 1 (one poll at a time)"),
        ({"slack": "maybe"}, 'slack="maybe" is not a boolean (accepted: true or false)'),
        ({"slackStatuses": "Failed"}, 'slackStatuses=["Failed"] is set but slack is false'),
        (
            {"slack": True, "slackSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x"},
            "slackSecretArn=",
        ),
        (
            {
                "slack": True,
                "slackSecretName": "a",
                "slackSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbC123",
            },
            'slackSecretName="a" is set as well as slackSecretArn',
        ),
        (
            {"pollerTimeoutSeconds": "300"},
            "pollerTimeoutSeconds=300 is not shorter than the schedule (scheduleMinutes=5 is 300 s), so polls could "
            "overlap (accepted: 10 to 299)",
        ),
        ({"scheduleMinutes": 1, "pollerTimeoutSeconds": 60}, "(accepted: 10 to 59)"),
        ({"timeoutReserveSeconds": 235}, "timeoutReserveSeconds=235 leaves less than 10 s of the 240 s poller timeout"),
        (
            {"notifyStatuses": "Failed", "emailStatuses": "Completed"},
            'emailStatuses=["Completed"] filters on Completed, which notifyStatuses does not publish '
            "(accepted: statuses among notifyStatuses: Failed)",
        ),
        ({"jobNamePatterns": ["a,b"]}, 'jobNamePatterns=["a,b"] has an unusable pattern "a,b"'),
        ({"stackName": "1-bad"}, 'stackName="1-bad" is malformed (accepted: a CloudFormation stack name (a letter'),
        ({"notifier": "[1]"}, "notifier=[1] is not an object (accepted: an object of configuration keys)"),
        # A percentage where a share is asked for: refused, not read as 500%.
        (
            {"errorRateWarning": 5},
            "errorRateWarning=5 is out of range (accepted: a number from 0 to 1 (0.05 is 5%; 0: any failed record "
            "warns))",
        ),
        ({"errorRateWarning": -0.1}, "errorRateWarning=-0.1 is out of range"),
        ({"errorRateWarning": "5%"}, 'errorRateWarning="5%" is not a number (accepted: a number from 0 to 1'),
        ({"errorRateWarning": True}, "errorRateWarning=true is not a number"),
        ({"errorRateWarning": "nan"}, 'errorRateWarning="nan" is not a number'),
    ],
)
def test_bad_values_are_refused_with_the_key_and_the_accepted_values(context: dict[str, Any], message: str) -> None:
    assert message in error_of(**context)


def test_an_existing_secret_by_full_arn_or_by_name() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/slack-AbC123"

    assert config(slack="true", slackSecretArn=arn).slack_secret_arn == arn
    assert config(slack="true", slackSecretName="team/slack").uses_existing_slack_secret
    assert not config(slack="true").uses_existing_slack_secret


def test_cdk_context_keys_are_not_mistaken_for_configuration() -> None:
    """The CLI's own keys carry ':' or '@'; they pass through."""
    given = config(
        **{"aws:cdk:bundling-stacks": [], "@aws-cdk/aws-iam:minimizePolicies": True, "acknowledged-issue-numbers": []}
    )

    assert given == NotifierConfig()
