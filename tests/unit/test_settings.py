"""The functions' settings: read from the environment with the rows of the one settings table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.core.errors import ConfigurationError
from notifier.core.settings import BY_ENV, FALSE_WORDS, SETTINGS, TRUE_WORDS, PollerSettings, SlackSettings

BASE = {"STATE_TABLE_NAME": "state", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:transitions"}
SLACK_BASE = {"STATE_TABLE_NAME": "state", "SLACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}


def test_defaults_are_the_table_s() -> None:
    settings = PollerSettings.from_env(BASE)

    assert settings == PollerSettings("state", BASE["TOPIC_ARN"])
    assert settings.overlap == timedelta(minutes=BY_ENV["OVERLAP_MINUTES"].default) == timedelta(minutes=10)
    assert settings.baseline_lookback == timedelta(days=8)
    assert settings.notify_on_first_run is False
    assert settings.publish_max_per_second == 9
    assert settings.error_rate_warning == 0.05


def test_the_error_rate_threshold_is_a_share_from_0_to_1() -> None:
    assert PollerSettings.from_env({**BASE, "ERROR_RATE_WARNING": "0.2"}).error_rate_warning == 0.2
    assert PollerSettings.from_env({**BASE, "ERROR_RATE_WARNING": "0"}).error_rate_warning == 0.0
    assert PollerSettings.from_env({**BASE, "ERROR_RATE_WARNING": "1"}).error_rate_warning == 1.0


def test_the_slack_function_s_internal_tuning_is_read_from_its_variables() -> None:
    settings = SlackSettings.from_env(
        {
            **SLACK_BASE,
            "SLACK_MAX_RETRIES": "0",
            "SLACK_RETRY_BACKOFF_SECONDS": "0.01",
            "SLACK_HTTP_TIMEOUT_SECONDS": "2",
            "SLACK_IDEMPOTENCY_TTL_HOURS": "1",
            "SLACK_MESSAGE_TTL_DAYS": "7",
        }
    )

    assert (settings.max_retries, settings.retry_backoff_seconds, settings.http_timeout_seconds) == (0, 0.01, 2.0)
    assert (settings.idempotency_ttl_seconds, settings.message_ttl_days) == (3600, 7)
    assert SlackSettings.from_env(SLACK_BASE) == SlackSettings(SLACK_BASE["SLACK_SECRET_ARN"], "state")


@pytest.mark.parametrize("word", TRUE_WORDS + tuple(w.upper() for w in TRUE_WORDS))
def test_every_true_word_of_the_table_is_true(word: str) -> None:
    assert PollerSettings.from_env({**BASE, "NOTIFY_ON_FIRST_RUN": word}).notify_on_first_run is True


@pytest.mark.parametrize("word", FALSE_WORDS)
def test_every_false_word_of_the_table_is_false(word: str) -> None:
    assert PollerSettings.from_env({**BASE, "NOTIFY_ON_FIRST_RUN": word}).notify_on_first_run is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STATE_TABLE_NAME": ""}, "STATE_TABLE_NAME is not set"),
        (
            {"TOPIC_ARN": "transitions"},
            'TOPIC_ARN="transitions" is not an SNS topic ARN (accepted: arn:aws:sns:REGION:ACCOUNT:NAME)',
        ),
        (
            {"NOTIFY_STATUSES": "Failed,Done"},
            'NOTIFY_STATUSES="Failed,Done" has unknown status Done (accepted: a list of Completed, Expired, Failed, '
            "InProgress, PartiallyCompleted, Scheduled, Stopped, Stopping, Submitted, Validating)",
        ),
        ({"OVERLAP_MINUTES": "0"}, 'OVERLAP_MINUTES="0" is out of range (accepted: a whole number of minutes from 1'),
        ({"OVERLAP_MINUTES": "2.5"}, 'OVERLAP_MINUTES="2.5" is not a whole number'),
        (
            {"PUBLISH_MAX_PER_SECOND": "10"},
            'PUBLISH_MAX_PER_SECOND="10" is out of range (accepted: a whole number from 1 to 9)',
        ),
        ({"NOTIFY_ON_FIRST_RUN": "maybe"}, 'NOTIFY_ON_FIRST_RUN="maybe" is not a boolean (accepted: true or false)'),
        ({"ERROR_RATE_WARNING": "5"}, 'ERROR_RATE_WARNING="5" is out of range (accepted: a number from 0 to 1 (0.05'),
        ({"ERROR_RATE_WARNING": "5%"}, 'ERROR_RATE_WARNING="5%" is not a number'),
    ],
)
def test_bad_values_are_named_with_what_is_accepted(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        PollerSettings.from_env({**BASE, **env})

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_SECRET_ARN": "slack"}, 'SLACK_SECRET_ARN="slack" is not a Secrets Manager secret ARN'),
        ({"SLACK_API_URL": "slack.com"}, 'SLACK_API_URL="slack.com" is not an http(s) URL'),
        ({"SLACK_MAX_RETRIES": "9"}, 'SLACK_MAX_RETRIES="9" is out of range (accepted: a whole number from 0 to 5)'),
        ({"SLACK_HTTP_TIMEOUT_SECONDS": "soon"}, 'SLACK_HTTP_TIMEOUT_SECONDS="soon" is not a number'),
    ],
)
def test_bad_slack_values_are_named_with_what_is_accepted(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        SlackSettings.from_env({**SLACK_BASE, **env})

    assert message in str(raised.value)


class Recording(dict[str, str]):
    """An environment that notes every variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize(
    ("settings", "function", "base"), [(PollerSettings, "poller", BASE), (SlackSettings, "slack", SLACK_BASE)]
)
def test_each_function_reads_exactly_the_variables_the_table_gives_it(settings, function, base) -> None:  # type: ignore[no-untyped-def]
    env = Recording(base)

    settings.from_env(env)

    own = {s.env for s in SETTINGS if s.env and function in s.functions and s.library is None}
    assert env.asked == own
