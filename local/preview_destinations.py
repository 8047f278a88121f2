"""What each destination of a configured stack would receive of the preview's notices, and what its filter drops.

The destinations and their filters are the stack's own, read from the same configuration (infra.config): every
email address with its status filter (its own statuses, else emailStatuses, else the terminal statuses among those
published), Slack with slackStatuses when it is on, the topic itself for subscribers of your own (no filter), and
the ops addresses, which receive alarms and never a job's message. A filter passes a notice when its status is
among the filter's statuses, or when it is a test notice: what the subscription's filter policy says
(infra.deliveries.status_filter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from infra.config import NotifierConfig
from notifier.core.notice import Notice

TOPIC = "topic"
EMAIL = "email"
SLACK = "slack"
OPS = "ops"


@dataclass(frozen=True)
class Destination:
    kind: str  # TOPIC, EMAIL, SLACK or OPS
    name: str  # the address, or what the destination is
    statuses: frozenset[str] | None  # its filter; None: every published notice
    receives_jobs: bool = True  # False: off (Slack), or a destination for alarms only (ops)
    note: str = ""
    sent: list[Notice] = field(default_factory=list)
    filtered: list[Notice] = field(default_factory=list)

    def admits(self, notice: Notice) -> bool:
        return self.receives_jobs and (self.statuses is None or notice.status in self.statuses or notice.is_test)


def configured_destinations(config: NotifierConfig) -> list[Destination]:
    """The stack's deliveries for this configuration, in the order a deploy's summary lists them."""
    found = [Destination(TOPIC, "JSON for subscribers of your own", None, note="no filter: every published message")]
    found += [Destination(EMAIL, e.address, config.email_filter(e)) for e in config.emails]
    if not config.emails:
        found.append(Destination(EMAIL, "none", None, receives_jobs=False, note="no emails in the configuration"))
    if config.slack:
        found.append(
            Destination(
                SLACK,
                "the Slack channel of the secret",
                config.slack_statuses,
                note="the secret's content sets the mode: a webhook posts one message per change, a bot token one "
                "message per job, updated in place, with the history in its thread (--slack-mode shows either)",
            )
        )
    else:
        found.append(Destination(SLACK, "off", None, receives_jobs=False, note="slack is false in the configuration"))
    found += [
        Destination(OPS, address, None, receives_jobs=False, note="alarms only, never a job's message")
        for address in config.ops_emails
    ]
    return found


def route(config: NotifierConfig, notices: Sequence[Notice]) -> list[Destination]:
    """Each destination with the notices it would be sent and those its filter drops."""
    destinations = configured_destinations(config)
    for destination in destinations:
        for notice in notices:
            (destination.sent if destination.admits(notice) else destination.filtered).append(notice)
    return destinations


def recipients(destinations: Sequence[Destination], notice: Notice, kind: str) -> list[Destination]:
    return [d for d in destinations if d.kind == kind and d.admits(notice)]
