#!/usr/bin/env python3
"""`cdk synth` / `cdk deploy` entry point. Configuration: cdk.json context "notifier", overridden by -c key=value."""

from __future__ import annotations

from aws_cdk import App

from infra.application import build
from infra.config import ConfigError

app = App()
try:
    build(app)
except ConfigError as error:
    raise SystemExit(f'Configuration error (cdk.json "notifier" or -c): {error}') from None
app.synth()
