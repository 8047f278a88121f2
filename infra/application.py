"""Builds the app the CDK CLI synthesizes: configuration first, then the stack, then cdk-nag."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from aws_cdk import App

from infra import nag
from infra.config import CONFIG_FILE, CONFIG_FILE_KEY, CONTEXT_LAYER, ConfigFile, NotifierConfig, layers
from infra.deliveries import summary, warnings
from infra.stack import NotifierStack


def config_file(app: App) -> ConfigFile:
    """notifier.config.json, or the file `-c configFile=PATH` names (one per stack: dev, prod)."""
    named = app.node.try_get_context(CONFIG_FILE_KEY)
    if named:
        return ConfigFile(Path(str(named)), required=True)
    return ConfigFile(CONFIG_FILE, required=False)


def load(app: App) -> tuple[NotifierConfig, list[str]]:
    """The configuration, and where it came from, lowest first (for the summary printed at synth).

    Raises ConfigError, naming the file or -c, the key and the accepted values, before any construct exists.
    """
    found = layers(app.node.get_all_context(), config_file(app))
    sources = [f"-c {', '.join(sorted(keys))}" if where == "-c " else where.removesuffix(": ") for where, keys in found]
    return NotifierConfig.from_layers(found), sources


def load_config(app: App) -> NotifierConfig:
    return load(app)[0]


def reads_legacy_context(sources: list[str]) -> bool:
    return CONTEXT_LAYER.removesuffix(": ") in sources


def build(app: App, config: NotifierConfig | None = None, *, acknowledge: bool = True) -> NotifierStack:
    config = config or load_config(app)
    stack = NotifierStack(app, config=config)
    if acknowledge:
        nag.acknowledge(stack.notifier)
    nag.add_checks(app)
    return stack


def run(app: App, out: TextIO) -> NotifierStack:
    """What `cdk synth` runs: reads the configuration, says what the deploy will deliver, builds the stack."""
    config, sources = load(app)
    print(summary(config, sources), file=out)
    for warning in warnings(config, legacy_context=reads_legacy_context(sources)):
        print(warning, file=out)
    return build(app, config)
