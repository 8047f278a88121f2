from datetime import timedelta

import pytest

from notifier.core.errors import ConfigurationError
from notifier.core.settings import PollerSettings

BASE = {"STATE_TABLE_NAME": "state", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:transitions"}


def test_defaults_are_documented_values():
    settings = PollerSettings.from_env(BASE)
    assert settings.overlap == timedelta(minutes=10)
    assert settings.baseline_lookback == timedelta(days=8)
    assert settings.notify_on_first_run is False
    assert settings.publish_max_per_second == 9


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STATE_TABLE_NAME": ""}, "STATE_TABLE_NAME is not set"),
        ({"TOPIC_ARN": "transitions"}, "TOPIC_ARN='transitions' is not an SNS topic ARN"),
        ({"NOTIFY_STATUSES": "Failed,Done"}, "NOTIFY_STATUSES has unknown status Done"),
        ({"OVERLAP_MINUTES": "0"}, "OVERLAP_MINUTES='0' is out of range"),
        ({"PUBLISH_MAX_PER_SECOND": "10"}, r"PUBLISH_MAX_PER_SECOND='10' is out of range \(accepted: 1 to 9\)"),
        ({"NOTIFY_ON_FIRST_RUN": "maybe"}, "NOTIFY_ON_FIRST_RUN='maybe' is not a boolean"),
    ],
)
def test_bad_values_are_named_with_what_is_accepted(env, message):
    with pytest.raises(ConfigurationError, match=message):
        PollerSettings.from_env({**BASE, **env})
