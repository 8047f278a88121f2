#!/usr/bin/env python3
"""`cdk synth` / `cdk deploy` entry point. Configuration: notifier.config.json, overridden by -c key=value.

Before synthesizing, it prints what the deploy will deliver (to stderr, which the CDK CLI shows).
"""

from __future__ import annotations

import sys

from aws_cdk import App

from infra.application import run
from infra.config import ConfigError

app = App()
try:
    run(app, sys.stderr)
except ConfigError as error:
    raise SystemExit(f"Configuration error: {error}") from None
app.synth()
