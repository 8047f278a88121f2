"""The sandbox runs the functions with the environment the stack sets: local/stack_environment.json is the
synthesized template's, for the stack as cdk.json configures it with Slack on."""

from __future__ import annotations

from local import runtime
from tests.infra.conftest import Synth, synthesize


def test_the_local_runtime_reads_the_functions_environment_as_synthesized() -> None:
    synth: Synth = synthesize(notifier={"slack": True})

    assert runtime.extract(synth.json) == runtime.load(), (
        "local/stack_environment.json differs from the stack: regenerate it with `python -m local.runtime`"
    )
