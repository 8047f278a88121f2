"""Keeping the Slack secret out of logs and traces: slack_sdk's logger silenced, webhook hosts left out of X-Ray."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit


def _silenced_logger() -> logging.Logger:
    """slack_sdk logs the full request URL (the webhook secret) at INFO and DEBUG; give it a logger that drops all."""
    silenced = logging.getLogger("notifier.slack_sdk")
    silenced.setLevel(logging.CRITICAL + 1)
    silenced.propagate = False
    silenced.disabled = True
    if not silenced.handlers:
        silenced.addHandler(logging.NullHandler())
    return silenced


SDK_LOGGER = _silenced_logger()
_UNTRACED_HOSTS: set[str] = set()


def exclude_from_traces(url: str) -> None:
    """X-Ray's http.client patch (applied by Tracer) records each request's URL, and a webhook's path is its secret.

    Requests to this host are left out of traces instead. Slack Web API calls carry the token in a header, which
    X-Ray does not record, so only webhook hosts need this.
    """
    host = urlsplit(url).hostname
    if not host or host in _UNTRACED_HOSTS:
        return
    try:
        from aws_xray_sdk.ext.httplib import add_ignored
    except ImportError:  # tracing extras not installed: nothing records URLs
        return
    add_ignored(hostname=host)
    _UNTRACED_HOSTS.add(host)
