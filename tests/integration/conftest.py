from __future__ import annotations

import pytest

from local.bedrock_emulator import BedrockEmulator
from tests.integration.poller_harness import Harness, subscribe_queue


@pytest.fixture
def harness(bedrock: BedrockEmulator, state_table: str, topic_arn: str, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """A poller environment as the stack sets it, with the SDK's retries kept short for fault tests."""
    monkeypatch.setenv("STATE_TABLE_NAME", state_table)
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "poller")
    return Harness(bedrock, state_table, topic_arn, subscribe_queue(topic_arn, "observer"))
