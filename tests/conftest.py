"""Shared fixtures. Each service's stand-in lives in its own module under tests/fixtures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytest_plugins = ["tests.fixtures.aws", "tests.fixtures.bedrock", "tests.fixtures.slack", "tests.fixtures.poller"]


@dataclass
class FakeLambdaContext:
    """The parts of the Lambda context object the functions read."""

    function_name: str = "notifier-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:notifier-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
