"""Each adapter's client takes AWS_MAX_ATTEMPTS as it is when the client is made.

botocore writes the attempts it resolved into the retries dict of the Config it is given; a Config shared at
module level would fix every later client at the first one's value (seen as a poll whose throttled call was
never retried because an earlier client in the process had been made under AWS_MAX_ATTEMPTS=1).
"""

import boto3
import pytest

from notifier.poller import bedrock, job_store, publisher


@pytest.mark.parametrize(
    ("service", "config"),
    [("bedrock", bedrock.client_config), ("dynamodb", job_store.client_config), ("sns", publisher.client_config)],
)
def test_a_client_made_later_takes_the_attempts_of_its_own_environment(service, config, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    first = boto3.client(service, config=config())
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "6")
    second = boto3.client(service, config=config())
    expected = 4 if service == "sns" else 6  # the SNS client pins its own (3 retries), whatever the environment
    assert second.meta.config.retries["total_max_attempts"] == expected
    assert first.meta.config.retries["total_max_attempts"] in {1, 4}


def test_the_bedrock_adapter_reads_the_attempts_of_its_own_client(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    bedrock.BedrockJobs()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "6")
    assert bedrock.BedrockJobs()._max_attempts == 6
