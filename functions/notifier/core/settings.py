"""Validated settings read from the environment once per cold start.

Every problem is a ConfigurationError naming the variable and what it accepts, raised before any work.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from notifier.core.errors import ConfigurationError
from notifier.core.jobs import DEFAULT_NOTIFY_STATUSES, KNOWN_STATUSES

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set: the stack sets it; set it when running the function elsewhere")
    return value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number (accepted: {minimum:g} to {maximum:g})") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name}={raw!r} is out of range (accepted: {minimum:g} to {maximum:g})")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"true", "1", "yes"}:
        return True
    if raw in {"false", "0", "no"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (accepted: true or false)")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _statuses(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    names = _list(env, name)
    if not names:
        return default
    unknown = sorted(set(names) - KNOWN_STATUSES)
    if unknown:
        raise ConfigurationError(
            f"{name} has unknown status {', '.join(unknown)} (accepted: {', '.join(sorted(KNOWN_STATUSES))})"
        )
    return frozenset(names)


@dataclass(frozen=True)
class PollerSettings:
    state_table_name: str
    topic_arn: str
    notify_statuses: frozenset[str] = DEFAULT_NOTIFY_STATUSES
    job_name_patterns: tuple[str, ...] = ()
    model_id_patterns: tuple[str, ...] = ()
    overlap: timedelta = timedelta(minutes=10)
    baseline_lookback: timedelta = timedelta(days=8)
    notify_on_first_run: bool = False
    job_ttl: timedelta = timedelta(days=30)
    publish_max_per_second: float = 9.0
    time_reserve: timedelta = timedelta(seconds=30)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PollerSettings:
        env = os.environ if env is None else env
        topic_arn = _required(env, "TOPIC_ARN")
        if not _TOPIC_ARN.match(topic_arn):
            raise ConfigurationError(
                f"TOPIC_ARN={topic_arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
        return cls(
            state_table_name=_required(env, "STATE_TABLE_NAME"),
            topic_arn=topic_arn,
            notify_statuses=_statuses(env, "NOTIFY_STATUSES", DEFAULT_NOTIFY_STATUSES),
            job_name_patterns=_list(env, "JOB_NAME_PATTERNS"),
            model_id_patterns=_list(env, "MODEL_ID_PATTERNS"),
            overlap=timedelta(minutes=_number(env, "OVERLAP_MINUTES", 10, 1, 1440)),
            baseline_lookback=timedelta(days=_number(env, "BASELINE_LOOKBACK_DAYS", 8, 0, 365)),
            notify_on_first_run=_flag(env, "NOTIFY_ON_FIRST_RUN", False),
            job_ttl=timedelta(days=_number(env, "JOB_TTL_DAYS", 30, 1, 3650)),
            # Below SNS's email limit of 10 a second: at 10, any jitter suspends the subscriptions.
            publish_max_per_second=_number(env, "PUBLISH_MAX_PER_SECOND", 9, 1, 9),
            time_reserve=timedelta(seconds=_number(env, "TIMEOUT_RESERVE_SECONDS", 30, 1, 600)),
        )


DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    secret_arn: str
    state_table_name: str
    api_url: str = DEFAULT_SLACK_API_URL
    broadcast_statuses: frozenset[str] = frozenset({"Failed", "Expired", "PartiallyCompleted"})
    secret_max_age_seconds: int = 300
    # Delivery tuning: retries per Slack call (each for 429, 5xx and connection errors) and their backoff.
    max_retries: int = 2
    retry_backoff_seconds: float = 0.5
    http_timeout_seconds: float = 10.0
    # How long a delivered transitionId is remembered (SQS redeliveries and SNS duplicates come within hours).
    idempotency_ttl_seconds: int = 2 * 86400
    # How long the job -> Slack message mapping outlives the job's last transition.
    message_ttl_days: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        env = os.environ if env is None else env
        secret_arn = _required(env, "SLACK_SECRET_ARN")
        if not _SECRET_ARN.match(secret_arn):
            raise ConfigurationError(
                "SLACK_SECRET_ARN is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
            )
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
        if not re.match(r"^https?://", api_url):
            raise ConfigurationError(f"SLACK_API_URL={api_url!r} is not an http(s) URL")
        return cls(
            secret_arn=secret_arn,
            state_table_name=_required(env, "STATE_TABLE_NAME"),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            broadcast_statuses=_statuses(
                env, "SLACK_BROADCAST_STATUSES", frozenset({"Failed", "Expired", "PartiallyCompleted"})
            ),
            secret_max_age_seconds=int(_number(env, "SLACK_SECRET_MAX_AGE_SECONDS", 300, 0, 86400)),
            max_retries=int(_number(env, "SLACK_MAX_RETRIES", 2, 0, 5)),
            retry_backoff_seconds=_number(env, "SLACK_RETRY_BACKOFF_SECONDS", 0.5, 0, 10),
            http_timeout_seconds=_number(env, "SLACK_HTTP_TIMEOUT_SECONDS", 10, 1, 60),
            idempotency_ttl_seconds=int(_number(env, "SLACK_IDEMPOTENCY_TTL_HOURS", 48, 1, 24 * 14) * 3600),
            message_ttl_days=int(_number(env, "SLACK_MESSAGE_TTL_DAYS", 30, 1, 365)),
        )
