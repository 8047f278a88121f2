"""Webhook mode: one Slack message per transition (or test notice)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from notifier.core.notice import Notice
from notifier.slack.blocks import delivery_test_message, transition_message
from notifier.slack.clients import WebhookSender


class WebhookMode:
    """One message per transition."""

    name = "webhook"
    calls_per_delivery = 1

    def __init__(self, sender: WebhookSender, on_sent: Callable[[], None]) -> None:
        self._sender = sender
        self._on_sent = on_sent

    def deliver(self, notice: Notice) -> dict[str, Any]:
        self._sender.send(delivery_test_message(notice) if notice.is_test else transition_message(notice))
        self._on_sent()
        return {"mode": self.name}
