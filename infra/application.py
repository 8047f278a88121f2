"""Builds the app the CDK CLI synthesizes: configuration first, then the stack, then cdk-nag."""

from __future__ import annotations

from aws_cdk import App

from infra import nag
from infra.config import NotifierConfig
from infra.stack import NotifierStack


def load_config(app: App) -> NotifierConfig:
    """Raises ConfigError, naming the key and the accepted values, before any construct exists."""
    return NotifierConfig.from_context(app.node.get_all_context())


def build(app: App, config: NotifierConfig | None = None, *, acknowledge: bool = True) -> NotifierStack:
    config = config or load_config(app)
    stack = NotifierStack(app, config=config)
    if acknowledge:
        nag.acknowledge(stack.notifier)
    nag.add_checks(app)
    return stack
