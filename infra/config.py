"""The stack's configuration: one frozen object read from notifier.config.json, with `-c key=value` on top.

The keys, their defaults, ranges and meanings are the rows of notifier.core.settings.SETTINGS; this module
reads values with them. Every value is checked before any construct exists. A bad value raises ConfigError
naming where it came from (the file, or -c), the key, the value and what the key accepts, so `cdk synth` fails
with a message a person can act on.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import REPO_ROOT
from infra.constants import CONTEXT_KEY
from notifier.core.jobs import KNOWN_STATUSES, TERMINAL_STATUSES
from notifier.core.settings import (
    BY_KEY,
    FALSE_WORDS,
    LOG_RETENTION_DAYS,
    SETTINGS,
    TRUE_WORDS,
    Function,
    Setting,
    show,
)


class ConfigError(ValueError):
    """A configuration value the stack cannot use; the message names the key and the accepted values."""


__all__ = ["LOG_RETENTION_DAYS", "ConfigError", "EmailSubscriber", "NotifierConfig"]

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


def _error(key: str, value: Any, problem: str, accepted: str) -> ConfigError:
    return ConfigError(f"{key}={show(value)} {problem} (accepted: {accepted})")


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


def _read_number(minimum: float, maximum: float) -> Callable[[str, Any, str], float]:
    def read(key: str, value: Any, accepted: str) -> float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise _error(key, value, "is not a number", accepted)
        if not minimum <= number <= maximum:
            raise _error(key, value, "is out of range", accepted)
        return number

    return read


def _choice(options: Iterable[int | str], *, accepted: str, upper: bool = False) -> _Parser:
    options = tuple(options)

    def read(key: str, value: Any, accepted: str) -> int | str:
        text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None
        for option in options:
            if text is not None and (text.upper() if upper else text.lower()) == str(option):
                return option
        raise _error(key, value, "is not accepted", accepted)

    return _Parser(accepted, read)


def _read_flag(key: str, value: Any, accepted: str) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
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
            raise _error(key, value, f"has an unusable pattern {show(pattern)}", accepted)
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
            statuses = _read_optional_statuses(
                f"{where}.statuses", entry.get("statuses"), BY_KEY["emailStatuses"].accepted
            )
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


# How each kind of key is read; "text" keys name their pattern below.
_READERS: dict[str, Callable[[str, Any, str], Any]] = {
    "statuses": _read_statuses,
    "status filter": _read_optional_statuses,
    "patterns": _read_patterns,
    "emails": _read_emails,
    "addresses": _read_addresses,
    "boolean": _read_flag,
}
_TEXT_PATTERNS = {"stackName": (_STACK_NAME, False), "slackSecretArn": (_SECRET_ARN, True), "slackSecretName": (_SECRET_NAME, True)}  # fmt: skip


def _parser(setting: Setting) -> _Parser:
    """The reader of one key, with the range, choices and accepted values of its row in the table."""
    assert setting.key is not None
    if setting.key == "reservedConcurrency":
        return _Parser(setting.accepted, _read_reserved_concurrency)
    if setting.kind == "integer":
        minimum, maximum = setting.bounds
        return _Parser(setting.accepted, _read_integer(int(minimum), int(maximum)))
    if setting.kind == "number":
        return _Parser(setting.accepted, _read_number(*setting.bounds))
    if setting.kind == "choice":
        return _choice(setting.choices, accepted=setting.accepted, upper=setting.key == "logLevel")
    if setting.kind == "text":
        pattern, optional = _TEXT_PATTERNS[setting.key]
        return _text(pattern, setting.accepted, optional=optional)
    return _Parser(setting.accepted, _READERS[setting.kind])


# The configuration keys, in the table's order: every row of notifier.core.settings.SETTINGS that has a key.
KEYS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.key)
KEY_NAMES = tuple(k.name for k in KEYS)
_PARSERS = {k.name: _parser(k) for k in KEYS}
_FIELDS = {k.name: k.field for k in KEYS}
_SLACK_ONLY = ("slackSecretArn", "slackSecretName", "slackStatuses")
# Not a configuration key: the command line's way to read another configuration file.
CONFIG_FILE_KEY = "configFile"
# Local and untracked (.gitignore): an upgrade (git pull) never touches it, so it never conflicts.
CONFIG_FILE = REPO_ROOT / "notifier.config.json"
CONFIG_EXAMPLE = REPO_ROOT / "notifier.config.example.json"


def _default(key: str) -> Any:
    return BY_KEY[key].default


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
    """Everything the stack can be told. Build it with from_context / from_mapping, which check every value.

    The defaults are the table's (notifier.core.settings.SETTINGS); the two timeouts follow the schedule.
    """

    stack_name: str = _default("stackName")
    schedule_minutes: int = _default("scheduleMinutes")
    notify_statuses: frozenset[str] = _default("notifyStatuses")
    job_name_patterns: tuple[str, ...] = _default("jobNamePatterns")
    model_id_patterns: tuple[str, ...] = _default("modelIdPatterns")
    error_rate_warning: float = _default("errorRateWarning")
    emails: tuple[EmailSubscriber, ...] = _default("emails")
    email_statuses: frozenset[str] | None = _default("emailStatuses")
    ops_emails: tuple[str, ...] = _default("opsEmails")
    slack: bool = _default("slack")
    slack_secret_arn: str | None = _default("slackSecretArn")
    slack_secret_name: str | None = _default("slackSecretName")
    slack_statuses: frozenset[str] | None = _default("slackStatuses")
    slack_broadcast_statuses: frozenset[str] = _default("slackBroadcastStatuses")
    slack_secret_max_age_seconds: int = _default("slackSecretMaxAgeSeconds")
    slack_message_ttl_days: int = _default("slackMessageTtlDays")
    baseline_lookback_days: int = _default("baselineLookbackDays")
    notify_on_first_run: bool = _default("notifyOnFirstRun")
    overlap_minutes: int = _default("overlapMinutes")
    job_ttl_days: int = _default("jobTtlDays")
    publish_max_per_second: int = _default("publishMaxPerSecond")
    poller_memory_mb: int = _default("pollerMemoryMb")
    poller_timeout_seconds: int = _default("pollerTimeoutSeconds")
    timeout_reserve_seconds: int = _default("timeoutReserveSeconds")
    reserved_concurrency: int | None = _default("reservedConcurrency")
    slack_memory_mb: int = _default("slackMemoryMb")
    slack_timeout_seconds: int = _default("slackTimeoutSeconds")
    log_retention_days: int = _default("logRetentionDays")
    log_level: str = _default("logLevel")
    tracing: bool = _default("tracing")
    removal_policy: str = _default("removalPolicy")

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
        """Reads camelCase keys as the configuration file has them; an unknown key or a bad value raises ConfigError."""
        return cls.from_layers([("", raw)])

    @classmethod
    def from_layers(cls, layers: Sequence[tuple[str, Mapping[str, Any]]]) -> NotifierConfig:
        """Each (where, keys) layer on top of the ones before; an error names where the key came from."""
        raw: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for where, keys in layers:
            for key in sorted(keys):
                if key not in _FIELDS:
                    raise _not_a_key(key, prefix=where)
                raw[key], origin[key] = keys[key], where
        values: dict[str, Any] = {}
        for key, value in raw.items():
            try:
                values[_FIELDS[key]] = _PARSERS[key](key, value)
            except ConfigError as error:
                raise ConfigError(f"{origin[key]}{error}") from None
        schedule = values.get("schedule_minutes", cls.schedule_minutes)
        values.setdefault("poller_timeout_seconds", default_poller_timeout(schedule))
        values.setdefault("timeout_reserve_seconds", default_timeout_reserve(values["poller_timeout_seconds"]))
        return cls(**values)

    @classmethod
    def from_context(cls, context: Mapping[str, Any], config_file: ConfigFile | None = None) -> NotifierConfig:
        """The configuration file's keys, then each `-c key=value` of the command line on top.

        A "notifier" object in the CDK context (cdk.json, as earlier versions kept it) is read first, so an
        upgraded checkout keeps its subscriptions; the summary printed at synth says to move it to the file.
        """
        return cls.from_layers(layers(context, config_file))

    @property
    def destroy_on_delete(self) -> bool:
        return self.removal_policy == "destroy"

    @property
    def uses_existing_slack_secret(self) -> bool:
        return bool(self.slack_secret_arn or self.slack_secret_name)

    @property
    def default_email_statuses(self) -> frozenset[str] | None:
        """emailStatuses, or the terminal statuses among those published: one email per job, not one per step.

        None (every published status) when notifyStatuses publishes no terminal status at all.
        """
        if self.email_statuses is not None:
            return self.email_statuses
        return (TERMINAL_STATUSES & self.notify_statuses) or None

    def email_filter(self, subscriber: EmailSubscriber) -> frozenset[str] | None:
        """The statuses one email subscription receives; None: every published status."""
        return subscriber.statuses if subscriber.statuses is not None else self.default_email_statuses


@dataclass(frozen=True)
class ConfigFile:
    """The configuration file every deploy reads: its path, and how to name it in messages."""

    path: Path
    required: bool  # named on the command line: a missing file is a mistake, not "no configuration yet"

    @property
    def shown(self) -> str:
        try:
            return str(self.path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(self.path)

    def read(self) -> dict[str, Any] | None:
        """The file's keys; None when there is no file (and none was asked for)."""
        if not self.path.is_file():
            if self.required:
                raise ConfigError(f"{self.shown}: no such file (named by -c {CONFIG_FILE_KEY})")
            return None
        try:
            keys = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"{self.shown}: is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
        if not isinstance(keys, dict):
            raise ConfigError(f"{self.shown}: is {show(keys)}, not a JSON object of configuration keys")
        return keys


CONTEXT_LAYER = f'cdk.json context "{CONTEXT_KEY}": '


def layers(context: Mapping[str, Any], config_file: ConfigFile | None) -> list[tuple[str, Mapping[str, Any]]]:
    """Where the keys come from, lowest first: a legacy cdk.json "notifier" object, the file, then -c."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    base = context.get(CONTEXT_KEY)
    if isinstance(base, str):
        try:
            base = json.loads(base)
        except json.JSONDecodeError:
            raise _error(CONTEXT_KEY, base, "is not a JSON object", "an object of configuration keys") from None
    if base is not None and not isinstance(base, Mapping):
        raise _error(CONTEXT_KEY, base, "is not an object", "an object of configuration keys")
    if base:
        found.append((CONTEXT_LAYER, base))
    if config_file is not None:
        keys = config_file.read()
        if keys is not None:
            found.append((f"{config_file.shown}: ", keys))
    overrides: dict[str, Any] = {}
    for key, value in context.items():
        if key in _FIELDS:
            overrides[key] = value
        elif key not in (CONTEXT_KEY, CONFIG_FILE_KEY) and _CAMEL_KEY.match(key):
            # CDK's own context keys all carry a ':' or a '@'; a bare camelCase key is a mistyped -c override.
            raise _not_a_key(key, prefix="-c ")
    if overrides:
        found.append(("-c ", overrides))
    return found


def function_environment(config: NotifierConfig, function: Function, given: Mapping[str, str]) -> dict[str, str]:
    """The variables the stack sets on one function, every one from the table.

    given: the values only the stack knows (its table's name, its topic's ARN, the function's service name).
    A row with a key gets the configured value, a row without one its default; internal rows stay unset, so
    the function uses its own default.
    """
    environment: dict[str, str] = {}
    for setting in SETTINGS:
        if function not in setting.functions or setting.internal or setting.env is None:
            continue
        if setting.env in given:
            environment[setting.env] = given[setting.env]
        elif setting.key is not None:
            environment[setting.env] = setting.to_env(getattr(config, setting.field))
        else:
            environment[setting.env] = setting.to_env(setting.default)
    unknown = sorted(set(given) - set(environment))
    assert not unknown, f"{function} reads no {', '.join(unknown)}"
    return environment
