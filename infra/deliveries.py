"""What a deploy will deliver, and to whom, in words: printed at every synth, so a deploy holds no surprise."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from infra.config import NotifierConfig
from infra.constants import ATTRIBUTE_KIND, ATTRIBUTE_STATUS
from notifier.core.notice import KIND_TEST


def status_filter(statuses: Iterable[str] | None) -> dict[str, Any] | None:
    """The FilterPolicy (MessageAttributes scope) of one of the stack's own subscriptions; None: no filter.

    A status filter on the String attribute "status" the poller sets, or the attribute "kind" being "test": a
    test notice (python -m tools.test_notification) reaches every email and Slack subscription of the stack,
    whatever statuses it is limited to, and no subscriber of someone else's that filters on status.
    """
    if statuses is None:
        return None
    return {"$or": [{ATTRIBUTE_STATUS: sorted(statuses)}, {ATTRIBUTE_KIND: [KIND_TEST]}]}


def _statuses(statuses: Iterable[str] | None) -> str:
    return "every published status" if statuses is None else ", ".join(sorted(statuses))


def _secret(config: NotifierConfig) -> str:
    if config.slack_secret_arn:
        return f"existing secret {config.slack_secret_arn}"
    if config.slack_secret_name:
        return f"existing secret named {config.slack_secret_name}"
    return "a secret the stack creates (store the credentials with the SlackSecretPutCommand output)"


def reaches_nobody(config: NotifierConfig) -> bool:
    return not config.emails and not config.slack and not config.ops_emails


def summary(config: NotifierConfig, sources: Sequence[str]) -> str:
    """One line per delivery: each email address with its statuses, Slack, the ops emails, the stack."""
    read = ", then ".join(sources) if sources else "no configuration file: the defaults"
    lines = [f"Stack {config.stack_name} (configuration: {read})"]
    lines += [f"  email  {e.address}: {_statuses(config.email_filter(e))}" for e in config.emails]
    if not config.emails:
        lines.append("  email  none")
    if config.slack:
        lines.append(f"  slack  on: {_statuses(config.slack_statuses)}; {_secret(config)}")
    else:
        lines.append("  slack  off")
    lines.append(f"  ops    {', '.join(config.ops_emails) or 'none'} (alarms)")
    return "\n".join(lines)


def warnings(config: NotifierConfig, *, legacy_context: bool = False) -> list[str]:
    """What a person should hear before deploying; none of it stops the synth."""
    found = []
    if reaches_nobody(config):
        found.append(
            "WARNING: this deploy reaches nobody: no emails, slack off and no opsEmails. Set them in "
            "notifier.config.json (start from notifier.config.example.json), or subscribe to the TopicArn output."
        )
    if legacy_context:
        found.append(
            'NOTE: configuration keys are read from cdk.json\'s context "notifier" object; move them to '
            "notifier.config.json, which upgrades never touch."
        )
    return found
