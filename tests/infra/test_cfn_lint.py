"""cfn-lint on the synthesized templates: no error, no warning."""

from __future__ import annotations

import json

from cfnlint.api import lint

from tests.infra.conftest import Synth

# Regions with every service the stack uses, in the commercial and an opt-in partition-like spread.
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def test_cfn_lint_finds_nothing(any_synth: Synth) -> None:
    matches = lint(json.dumps(any_synth.json), regions=REGIONS)

    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []
