#!/usr/bin/env python3
"""`cdk synth` / `cdk deploy` entry point. Configuration: notifier.config.json, overridden by -c key=value.

Before synthesizing, it prints what the deploy will deliver (to stderr, which the CDK CLI shows).
"""

from __future__ import annotations

import sys

from aws_cdk import App

from infra.application import build, load, reads_legacy_context
from infra.config import ConfigError
from infra.deliveries import summary, warnings

app = App()
try:
    config, sources = load(app)
except ConfigError as error:
    raise SystemExit(f"Configuration error: {error}") from None
print(summary(config, sources), file=sys.stderr)
for warning in warnings(config, legacy_context=reads_legacy_context(sources)):
    print(warning, file=sys.stderr)
build(app, config)
app.synth()
