"""The stack's configuration: one frozen object read from the cdk.json context key "notifier" and `-c` overrides.

Every value is checked before any construct exists. A bad value raises ConfigError naming the key, the value
and what the key accepts, so `cdk synth` fails with a message a person can act on.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.constants import CONTEXT_KEY, DEFAULT_STACK_NAME
from notifier.core.jobs import DEFAULT_NOTIFY_STATUSES, KNOWN_STATUSES


class ConfigError(ValueError):
    """A configuration value the stack cannot use; the message names the key and the accepted values."""


# The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REMOVAL_POLICIES = ("retain", "destroy")
DEFAULT_SLACK_BROADCAST_STATUSES = frozenset({"Failed", "Expired", "PartiallyCompleted"})

MAX_SCHEDULE_MINUTES = 60  # the not-running alarm spans three periods; slower polls would make it blind for hours
MAX_POLLER_TIMEOUT_SECONDS = 240  # a poll needs seconds; four minutes leaves room for a backlog of transitions
MIN_POLL_WORK_SECONDS = 10  # what the poller must have left once TIMEOUT_RESERVE_SECONDS is set aside

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,99}$")
# The full ARN, with the six characters Secrets Manager appends: IAM grants name it exactly.
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_CAMEL_KEY = re.compile(r"^[a-z][A-Za-z0-9]*$")
_NULLS = {"", "null", "none", "off"}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _show(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError:
        return repr(value)


def _error(key: str, value: Any, problem: str, accepted: str) -> ConfigError:
    return ConfigError(f"{key}={_show(value)} {problem} (accepted: {accepted})")


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NULLS)


def _items(key: str, value: Any, accepted: str) -> list[Any]:
    """A list from JSON, or from `-c key=a,b` (comma-separated, or a JSON array in the string)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return [part.strip() for part in text.split(",") if part.strip()]
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise _error(key, text, "is not a JSON array", accepted) from None
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    raise _error(key, value, "is not a list", accepted)


@dataclass(frozen=True)
class EmailSubscriber:
    """One email subscription; statuses None means the emailStatuses default (None there too: every status)."""

    address: str
    statuses: frozenset[str] | None = None


@dataclass(frozen=True)
class _Parser:
    """Reads one key's raw value (JSON from cdk.json, or a string from `-c`) into its typed value."""

    accepted: str
    read: Callable[[str, Any, str], Any]  # (key, raw value, accepted) -> value, or ConfigError

    def __call__(self, key: str, value: Any) -> Any:
        return self.read(key, value, self.accepted)


def _read_integer(minimum: int, maximum: int) -> Callable[[str, Any, str], int]:
    def read(key: str, value: Any, accepted: str) -> int:
        number: int | None = None
        whole_float = isinstance(value, float) and value.is_integer()
        digits = isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value) is not None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif whole_float or digits:
            number = int(value)
        if number is None:
            raise _error(key, value, "is not a whole number", accepted)
        if not minimum <= number <= maximum:
            raise _error(key, value, "is out of range", accepted)
        return number

    return read


def _integer(minimum: int, maximum: int, unit: str = "") -> _Parser:
    return _Parser(f"a whole number{unit} from {minimum} to {maximum}", _read_integer(minimum, maximum))


def _choice(options: Iterable[int | str], *, upper: bool = False) -> _Parser:
    options = tuple(options)

    def read(key: str, value: Any, accepted: str) -> int | str:
        text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None
        for option in options:
            if text is not None and (text.upper() if upper else text.lower()) == str(option):
                return option
        raise _error(key, value, "is not accepted", accepted)

    return _Parser("one of " + ", ".join(str(o) for o in options), read)


def _read_flag(key: str, value: Any, accepted: str) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _error(key, value, "is not a boolean", accepted)


def _read_statuses(key: str, value: Any, accepted: str) -> frozenset[str]:
    names = _items(key, value, accepted)
    if not names:
        raise _error(key, value, "names no status", accepted)
    if not all(isinstance(name, str) for name in names):
        raise _error(key, value, "has entries that are not status names", accepted)
    unknown = sorted(set(names) - KNOWN_STATUSES)
    if unknown:
        raise _error(key, value, f"has unknown status {', '.join(unknown)}", accepted)
    return frozenset(names)


def _read_optional_statuses(key: str, value: Any, accepted: str) -> frozenset[str] | None:
    return None if _is_null(value) else _read_statuses(key, value, accepted)


def _read_patterns(key: str, value: Any, accepted: str) -> tuple[str, ...]:
    if _is_null(value):
        return ()
    patterns = _items(key, value, accepted)
    for pattern in patterns:
        # The poller reads the list from one comma-separated environment variable.
        if not isinstance(pattern, str) or not pattern.strip() or "," in pattern or len(pattern) > 256:
            raise _error(key, value, f"has an unusable pattern {_show(pattern)}", accepted)
    return tuple(p.strip() for p in patterns)


_ADDRESS = "email addresses such as team@example.com"


def _address(key: str, value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 254 or not _EMAIL.match(value.strip()):
        raise _error(key, value, "is not an email address", _ADDRESS)
    return value.strip()


def _unique(key: str, addresses: Iterable[str]) -> None:
    seen: set[str] = set()
    for address in addresses:
        if address.lower() in seen:
            raise _error(key, address, "is listed twice", "each address once")
        seen.add(address.lower())


def _read_emails(key: str, value: Any, accepted: str) -> tuple[EmailSubscriber, ...]:
    if _is_null(value):
        return ()
    subscribers: list[EmailSubscriber] = []
    for index, entry in enumerate(_items(key, value, accepted)):
        where = f"{key}[{index}]"
        if isinstance(entry, EmailSubscriber):
            subscribers.append(entry)
        elif isinstance(entry, str):
            subscribers.append(EmailSubscriber(_address(where, entry)))
        elif isinstance(entry, dict):
            extra = sorted(set(entry) - {"address", "statuses"})
            if extra:
                raise _error(where, entry, f"has unknown field {', '.join(extra)}", '"address" and "statuses"')
            if "address" not in entry:
                raise _error(where, entry, 'has no "address"', accepted)
            statuses = _read_optional_statuses(f"{where}.statuses", entry.get("statuses"), STATUSES.accepted)
            subscribers.append(EmailSubscriber(_address(f"{where}.address", entry["address"]), statuses))
        else:
            raise _error(where, entry, "is neither an address nor an object", accepted)
    _unique(key, (s.address for s in subscribers))
    return tuple(subscribers)


def _read_addresses(key: str, value: Any, accepted: str) -> tuple[str, ...]:
    if _is_null(value):
        return ()
    addresses = tuple(_address(f"{key}[{i}]", a) for i, a in enumerate(_items(key, value, accepted)))
    _unique(key, addresses)
    return addresses


def _text(pattern: re.Pattern[str], accepted: str, *, optional: bool = False) -> _Parser:
    def read(key: str, value: Any, accepted: str) -> str | None:
        if optional and _is_null(value):
            return None
        if not isinstance(value, str) or not pattern.match(value.strip()):
            raise _error(key, value, "is malformed", accepted)
        return value.strip()

    return _Parser(accepted + (", or null" if optional else ""), read)


def _read_reserved_concurrency(key: str, value: Any, accepted: str) -> int | None:
    if _is_null(value) or value is False or (isinstance(value, str) and value.strip().lower() in {"false", "no"}):
        return None
    if str(value).strip() == "1" and not isinstance(value, bool):
        return 1
    raise _error(key, value, "is not accepted", accepted)


STATUSES = _Parser("a list of " + ", ".join(sorted(KNOWN_STATUSES)), _read_statuses)
OPTIONAL_STATUSES = _Parser(STATUSES.accepted + ", or null for every status", _read_optional_statuses)
PATTERNS = _Parser("a list of shell-style patterns (* ? [seq]) without commas, case-sensitive", _read_patterns)
EMAILS = _Parser('a list of addresses or of {"address": ..., "statuses": [...]} objects', _read_emails)
ADDRESSES = _Parser("a list of " + _ADDRESS, _read_addresses)
FLAG = _Parser("true or false", _read_flag)
RESERVED_CONCURRENCY = _Parser("1 (one poll at a time), or null/off for no reservation", _read_reserved_concurrency)


@dataclass(frozen=True)
class _Key:
    """One configuration key: its name in cdk.json, the field it fills, how it is read, and what it means."""

    name: str
    field: str
    parse: _Parser
    default: str
    meaning: str


KEYS: tuple[_Key, ...] = (
    _Key("stackName", "stack_name", _text(_STACK_NAME, "a CloudFormation stack name"), DEFAULT_STACK_NAME,
         "Name of the CloudFormation stack; another name deploys a second (e.g. dev) copy."),
    _Key("scheduleMinutes", "schedule_minutes", _integer(1, MAX_SCHEDULE_MINUTES, " of minutes"), "5",
         "How often the poller runs (EventBridge rate)."),
    _Key("notifyStatuses", "notify_statuses", STATUSES, "InProgress and the five terminal statuses",
         "Statuses the poller publishes; other transitions are recorded silently."),
    _Key("jobNamePatterns", "job_name_patterns", PATTERNS, "[] (every job)",
         "Publish only jobs whose name matches one of these patterns."),
    _Key("modelIdPatterns", "model_id_patterns", PATTERNS, "[] (every model)",
         "Publish only jobs whose model id matches one of these patterns."),
    _Key("emails", "emails", EMAILS, "[]",
         "Email subscriptions of the notification topic, each with an optional status filter."),
    _Key("emailStatuses", "email_statuses", OPTIONAL_STATUSES, "null (every status)",
         "Status filter of the email subscriptions that set none of their own."),
    _Key("opsEmails", "ops_emails", ADDRESSES, "[]", "Email subscriptions of the ops (alarm) topic."),
    _Key("slack", "slack", FLAG, "false", "Deploy Slack delivery: queue, DLQ, function and secret."),
    _Key("slackSecretArn", "slack_secret_arn", _text(_SECRET_ARN, "a secret's full ARN (ending in -XXXXXX)", optional=True), "null",
         "Use this existing secret instead of creating one."),
    _Key("slackSecretName", "slack_secret_name", _text(_SECRET_NAME, "a secret's name", optional=True), "null",
         "Use the existing secret of this name instead of creating one."),
    _Key("slackStatuses", "slack_statuses", OPTIONAL_STATUSES, "null (every status)",
         "Status filter of the Slack queue's subscription."),
    _Key("slackBroadcastStatuses", "slack_broadcast_statuses", STATUSES, "Failed, Expired, PartiallyCompleted",
         "Statuses whose thread reply is also posted to the channel (bot-token mode)."),
    _Key("slackSecretMaxAgeSeconds", "slack_secret_max_age_seconds", _integer(0, 86400, " of seconds"), "300",
         "How long the Slack function caches the secret."),
    _Key("baselineLookbackDays", "baseline_lookback_days", _integer(0, 365, " of days"), "8",
         "How far back the first run looks for jobs to record as its silent baseline."),
    _Key("notifyOnFirstRun", "notify_on_first_run", FLAG, "false",
         "Publish what the first run finds instead of recording it silently."),
    _Key("overlapMinutes", "overlap_minutes", _integer(1, 1440, " of minutes"), "10",
         "How far before the watermark each listing starts (clock skew, inclusive boundaries)."),
    _Key("jobTtlDays", "job_ttl_days", _integer(1, 3650, " of days"), "30",
         "How long a finished job's state stays in the table (DynamoDB TTL)."),
    _Key("publishMaxPerSecond", "publish_max_per_second", _integer(1, 9), "9",
         "Publish pace; SNS suspends email subscriptions that receive more than 10 messages a second, so at most 9."),
    _Key("pollerMemoryMb", "poller_memory_mb", _integer(128, 10240, " of MB"), "256", "Poller memory."),
    _Key("pollerTimeoutSeconds", "poller_timeout_seconds", _integer(10, 900, " of seconds"),
         "80% of the schedule, at most 240", "Poller timeout; must be shorter than the schedule."),
    _Key("timeoutReserveSeconds", "timeout_reserve_seconds", _integer(1, 600, " of seconds"),
         "a quarter of the timeout, 5 to 30", "The poller takes no new work this long before its timeout."),
    _Key("reservedConcurrency", "reserved_concurrency", RESERVED_CONCURRENCY, "1",
         "Reserved concurrency of the poller; null for accounts with a low concurrency limit."),
    _Key("slackMemoryMb", "slack_memory_mb", _integer(128, 10240, " of MB"), "256", "Slack function memory."),
    _Key("slackTimeoutSeconds", "slack_timeout_seconds", _integer(10, 900, " of seconds"), "60",
         "Slack function timeout; the Slack queue's visibility timeout is six times this."),
    _Key("logRetentionDays", "log_retention_days", _choice(LOG_RETENTION_DAYS), "30",
         "Retention of the functions' log groups."),
    _Key("logLevel", "log_level", _choice(LOG_LEVELS, upper=True), "INFO", "POWERTOOLS_LOG_LEVEL of both functions."),
    _Key("removalPolicy", "removal_policy", _choice(REMOVAL_POLICIES), "retain",
         "retain: the table (with deletion protection), key, secret and logs outlive the stack; "
         "destroy (dev stacks): they are deleted with it."),
)  # fmt: skip

KEY_NAMES = tuple(k.name for k in KEYS)
_FIELDS = {k.name: k.field for k in KEYS}
_SLACK_ONLY = ("slackSecretArn", "slackSecretName", "slackStatuses")


def default_poller_timeout(schedule_minutes: int) -> int:
    """80% of the schedule, so a run ends well before the next one starts; at most four minutes."""
    return min(MAX_POLLER_TIMEOUT_SECONDS, schedule_minutes * 60 * 4 // 5)


def default_timeout_reserve(timeout_seconds: int) -> int:
    return min(30, max(5, timeout_seconds // 4))


def _not_a_key(key: str, prefix: str = "") -> ConfigError:
    close = difflib.get_close_matches(key, KEY_NAMES, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ConfigError(f"{prefix}{key} is not a configuration key{hint} (accepted: {', '.join(KEY_NAMES)})")


@dataclass(frozen=True)
class NotifierConfig:
    """Everything the stack can be told. Build it with from_context / from_mapping, which check every value."""

    stack_name: str = DEFAULT_STACK_NAME
    schedule_minutes: int = 5
    notify_statuses: frozenset[str] = DEFAULT_NOTIFY_STATUSES
    job_name_patterns: tuple[str, ...] = ()
    model_id_patterns: tuple[str, ...] = ()
    emails: tuple[EmailSubscriber, ...] = ()
    email_statuses: frozenset[str] | None = None
    ops_emails: tuple[str, ...] = ()
    slack: bool = False
    slack_secret_arn: str | None = None
    slack_secret_name: str | None = None
    slack_statuses: frozenset[str] | None = None
    slack_broadcast_statuses: frozenset[str] = DEFAULT_SLACK_BROADCAST_STATUSES
    slack_secret_max_age_seconds: int = 300
    baseline_lookback_days: int = 8
    notify_on_first_run: bool = False
    overlap_minutes: int = 10
    job_ttl_days: int = 30
    publish_max_per_second: int = 9
    poller_memory_mb: int = 256
    poller_timeout_seconds: int = 240
    timeout_reserve_seconds: int = 30
    reserved_concurrency: int | None = 1
    slack_memory_mb: int = 256
    slack_timeout_seconds: int = 60
    log_retention_days: int = 30
    log_level: str = "INFO"
    removal_policy: str = "retain"

    def __post_init__(self) -> None:
        """The checks that involve more than one key."""
        schedule_seconds = self.schedule_minutes * 60
        if self.poller_timeout_seconds >= schedule_seconds:
            raise _error(
                "pollerTimeoutSeconds",
                self.poller_timeout_seconds,
                f"is not shorter than the schedule (scheduleMinutes={self.schedule_minutes} is {schedule_seconds} s),"
                " so polls could overlap",
                f"10 to {schedule_seconds - 1}",
            )
        if self.timeout_reserve_seconds > self.poller_timeout_seconds - MIN_POLL_WORK_SECONDS:
            raise _error(
                "timeoutReserveSeconds",
                self.timeout_reserve_seconds,
                f"leaves less than {MIN_POLL_WORK_SECONDS} s of the {self.poller_timeout_seconds} s poller timeout",
                f"1 to {self.poller_timeout_seconds - MIN_POLL_WORK_SECONDS}",
            )
        filters: list[tuple[str, frozenset[str] | None]] = [("emailStatuses", self.email_statuses)]
        filters += [(f"emails[{i}].statuses", e.statuses) for i, e in enumerate(self.emails)]
        filters.append(("slackStatuses", self.slack_statuses))
        for key, statuses in filters:
            never = sorted((statuses or frozenset()) - self.notify_statuses)
            if never:
                raise _error(
                    key,
                    sorted(statuses or ()),
                    f"filters on {', '.join(never)}, which notifyStatuses does not publish",
                    "statuses among notifyStatuses: " + ", ".join(sorted(self.notify_statuses)),
                )
        if self.slack_secret_arn and self.slack_secret_name:
            raise _error("slackSecretName", self.slack_secret_name, "is set as well as slackSecretArn", "one of them")
        if not self.slack:
            for key in _SLACK_ONLY:
                value = getattr(self, _FIELDS[key])
                if value is not None:
                    shown = sorted(value) if isinstance(value, frozenset) else value
                    raise _error(key, shown, "is set but slack is false", "slack=true, or leave it unset")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> NotifierConfig:
        """Reads camelCase keys as cdk.json has them; an unknown key or a bad value raises ConfigError."""
        for key in sorted(raw):
            if key not in _FIELDS:
                raise _not_a_key(key)
        values = {spec.field: spec.parse(spec.name, raw[spec.name]) for spec in KEYS if spec.name in raw}
        schedule = values.get("schedule_minutes", cls.schedule_minutes)
        values.setdefault("poller_timeout_seconds", default_poller_timeout(schedule))
        values.setdefault("timeout_reserve_seconds", default_timeout_reserve(values["poller_timeout_seconds"]))
        return cls(**values)

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> NotifierConfig:
        """cdk.json's "notifier" object, with each `-c key=value` of the command line on top."""
        base = context.get(CONTEXT_KEY) or {}
        if isinstance(base, str):
            try:
                base = json.loads(base)
            except json.JSONDecodeError:
                raise _error(CONTEXT_KEY, base, "is not a JSON object", "an object of configuration keys") from None
        if not isinstance(base, Mapping):
            raise _error(CONTEXT_KEY, base, "is not an object", "an object of configuration keys")
        raw = dict(base)
        for key, value in context.items():
            if key in _FIELDS:
                raw[key] = value
            elif key != CONTEXT_KEY and _CAMEL_KEY.match(key):
                # CDK's own context keys all carry a ':' or a '@'; a bare camelCase key is a mistyped -c override.
                raise _not_a_key(key, prefix="-c ")
        return cls.from_mapping(raw)

    @property
    def destroy_on_delete(self) -> bool:
        return self.removal_policy == "destroy"

    @property
    def uses_existing_slack_secret(self) -> bool:
        return bool(self.slack_secret_arn or self.slack_secret_name)

    def email_filter(self, subscriber: EmailSubscriber) -> frozenset[str] | None:
        """The statuses one email subscription receives; None: every published status."""
        return subscriber.statuses if subscriber.statuses is not None else self.email_statuses


def config_table() -> str:
    """The README's table of keys, from the definitions above."""
    lines = ["| Key | Default | Accepted values | Meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{k.name}` | {k.default} | {k.parse.accepted} | {k.meaning} |" for k in KEYS]
    return "\n".join(lines)
