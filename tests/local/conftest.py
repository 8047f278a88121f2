"""The local tier: the Bedrock emulator, the Slack stand-in, the sandbox and the preview (local/), not the notifier."""

from __future__ import annotations

from tests.integration.conftest import harness  # noqa: F401 - the preview reads a table the real poller wrote
