"""Every setting of the notifier, declared once, and the functions' settings read from that table.

SETTINGS is the table: each row gives a setting's configuration key (notifier.config.json, `-c key=value`), the
environment variable a function reads, its type, default, accepted values and meaning. The stack reads its
configuration with it (infra.config), the functions read their environment with it (PollerSettings,
SlackSettings), and the README's configuration tables are generated from it (`make config-table`).

It lives here, in the functions' package, so that the functions need nothing of infra; infra imports it.
Every problem is a ConfigurationError naming the variable, the value and what it accepts, raised before any work.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from notifier.core.errors import ConfigurationError
from notifier.core.jobs import DEFAULT_NOTIFY_STATUSES, KNOWN_STATUSES
from notifier.core.observability import METRICS_NAMESPACE
from notifier.core.outcome import DEFAULT_ERROR_RATE_WARNING

# The words read as true and false, in the configuration file, on the command line and in the environment.
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")

Kind = Literal[
    "integer", "number", "boolean", "statuses", "status filter", "patterns", "choice", "text", "emails", "addresses"
]
Function = Literal["poller", "slack"]
POLLER: Function = "poller"
SLACK: Function = "slack"

# The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
STATUS_LIST = "a list of " + ", ".join(sorted(KNOWN_STATUSES))
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def show(value: Any) -> str:
    """A value as a person would type it (JSON), for error messages."""
    if isinstance(value, frozenset | set):
        value = sorted(value)
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError:
        return repr(value)


@dataclass(frozen=True)
class Setting:
    """One row of the table.

    key: the configuration key, or None for a variable the stack fills in from its own resources (or one that is
    internal). env: the variable the functions read, or None for what only the stack uses. functions: whose
    environment holds env. library: who reads env when it is not the notifier's own settings (Powertools,
    botocore). internal: read with its default unless set by hand; the stack never sets it.
    """

    key: str | None
    env: str | None
    kind: Kind
    default: Any
    doc: str
    functions: tuple[Function, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    choices: tuple[Any, ...] = ()
    accepted_text: str | None = None
    default_text: str | None = None
    library: str | None = None
    internal: bool = False

    @property
    def name(self) -> str:
        return self.key or self.env or ""

    @property
    def field(self) -> str:
        """The snake_case field the key fills (infra.config.NotifierConfig)."""
        if self.key is None:
            raise AssertionError(f"{self.name} is not a configuration key")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.key).lower()

    @property
    def bounds(self) -> tuple[float, float]:
        if self.minimum is None or self.maximum is None:
            raise AssertionError(f"{self.name}: a {self.kind} setting states its range")
        return self.minimum, self.maximum

    @property
    def accepted(self) -> str:
        if self.accepted_text is not None:
            return self.accepted_text
        if self.kind == "integer":
            return f"a whole number{self.unit} from {self.minimum:g} to {self.maximum:g}"
        if self.kind == "number":
            return f"a number{self.unit} from {self.minimum:g} to {self.maximum:g}"
        if self.kind == "boolean":
            return "true or false"
        if self.kind == "statuses":
            return STATUS_LIST
        if self.kind == "status filter":
            return STATUS_LIST + ", or null"
        if self.kind == "patterns":
            return "a list of shell-style patterns (* ? [seq]) without commas, case-sensitive"
        if self.kind == "choice":
            return "one of " + ", ".join(str(choice) for choice in self.choices)
        raise AssertionError(f"{self.name}: a {self.kind} setting states its accepted values")

    @property
    def shown_default(self) -> str:
        if self.default_text is not None:
            return self.default_text
        return self.to_env(self.default).replace(",", ", ")

    def to_env(self, value: Any) -> str:
        """The value as the environment holds it; read back by from_env."""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, frozenset | set):
            return ",".join(sorted(value))
        if isinstance(value, tuple | list):
            return ",".join(str(v) for v in value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return "" if value is None else str(value)

    def error(self, value: Any, problem: str, name: str | None = None) -> ConfigurationError:
        return ConfigurationError(f"{name or self.env}={show(value)} {problem} (accepted: {self.accepted})")

    def from_env(self, env: Mapping[str, str]) -> Any:
        """This variable's value, or the default when it is unset or empty."""
        assert self.env is not None, self.name
        raw = env.get(self.env, "").strip()
        if not raw:
            return self.default
        if self.kind in ("integer", "number"):
            return self._number(raw)
        if self.kind == "boolean":
            if raw.lower() in TRUE_WORDS:
                return True
            if raw.lower() in FALSE_WORDS:
                return False
            raise self.error(raw, "is not a boolean")
        if self.kind == "statuses":
            names = split(raw)
            unknown = sorted(set(names) - KNOWN_STATUSES)
            if unknown:
                raise self.error(raw, f"has unknown status {', '.join(unknown)}")
            return frozenset(names)
        if self.kind == "patterns":
            return split(raw)
        return raw

    def _number(self, raw: str) -> float | int:
        try:
            value = int(raw) if self.kind == "integer" else float(raw)
        except ValueError:
            raise self.error(raw, "is not a whole number" if self.kind == "integer" else "is not a number") from None
        minimum, maximum = self.bounds
        if not minimum <= value <= maximum:
            raise self.error(raw, "is out of range")
        return value


def split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


_STATUS_FILTER_NOTE = "statuses among notifyStatuses"

# Rows the code names directly: what the stack fills in from its own resources.
STATE_TABLE = Setting(None, "STATE_TABLE_NAME", "text", None, "The state table (required).", (POLLER, SLACK),
                      accepted_text="a DynamoDB table name", default_text="the stack's table")  # fmt: skip
TOPIC = Setting(None, "TOPIC_ARN", "text", None, "The notification topic (required).", (POLLER,),
                accepted_text="arn:aws:sns:REGION:ACCOUNT:NAME", default_text="the stack's topic")  # fmt: skip
SLACK_SECRET = Setting(None, "SLACK_SECRET_ARN", "text", None, "The Slack secret (required).", (SLACK,),
                       accepted_text="arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
                       default_text="the stack's secret, or the existing one configured")  # fmt: skip
SLACK_API_URL = Setting(None, "SLACK_API_URL", "text", DEFAULT_SLACK_API_URL, "Slack's Web API (bot-token mode).",
                        (SLACK,), accepted_text="an http(s) URL")  # fmt: skip

SERVICE_NAME = Setting(None, "POWERTOOLS_SERVICE_NAME", "text", None, "The service dimension of each function's metrics.",
                       (POLLER, SLACK), accepted_text="poller or slack", default_text="the function's name",
                       library="Powertools")  # fmt: skip

SDK_DATA_PATH = Setting(None, "AWS_DATA_PATH", "text", None,
                        "Where botocore looks for service models first: the asset's Bedrock model, so record counts "
                        "parse whatever botocore the runtime has.", (POLLER,), accepted_text="a directory",
                        default_text="the asset's models directory", library="botocore")  # fmt: skip

SETTINGS: tuple[Setting, ...] = (
    # What the stack is and how often it polls.
    Setting("stackName", None, "text", "BedrockBatchNotifier",
            "Name of the CloudFormation stack; another name deploys a second (e.g. dev) copy.",
            accepted_text="a CloudFormation stack name (a letter, then letters, digits and hyphens)"),
    # At most an hour: the not-running alarm spans three periods; slower polls would leave it blind for hours.
    Setting("scheduleMinutes", None, "integer", 5, "How often the poller runs (EventBridge rate).",
            minimum=1, maximum=60, unit=" of minutes"),
    # What is published, and to whom.
    Setting("notifyStatuses", "NOTIFY_STATUSES", "statuses", DEFAULT_NOTIFY_STATUSES,
            "Statuses the poller publishes; others are recorded silently (statuses unknown to this version: published).",
            (POLLER,)),
    Setting("jobNamePatterns", "JOB_NAME_PATTERNS", "patterns", (),
            "Publish only jobs whose name matches one of these patterns.", (POLLER,), default_text="[] (every job)"),
    Setting("modelIdPatterns", "MODEL_ID_PATTERNS", "patterns", (),
            "Publish only jobs whose model id matches one of these patterns.", (POLLER,),
            default_text="[] (every model)"),
    # A share, not a percentage: 5 (meaning 5%) is refused as out of range rather than read as 500%.
    Setting("errorRateWarning", "ERROR_RATE_WARNING", "number", DEFAULT_ERROR_RATE_WARNING,
            "A Completed job with more than this share of its processed records failed is severity warning "
            "(outcome succeededWithErrors); every record failed is critical whatever this says.", (POLLER,),
            minimum=0, maximum=1, accepted_text="a number from 0 to 1 (0.05 is 5%; 0: any failed record warns)"),
    Setting("emails", None, "emails", (), "Email subscriptions of the topic, each with an optional status filter.",
            accepted_text='a list of addresses or of {"address": ..., "statuses": [...]} objects', default_text="[]"),
    Setting("emailStatuses", None, "status filter", None,
            "Status filter of the email subscriptions that set none of their own.",
            accepted_text=f"{STATUS_LIST} ({_STATUS_FILTER_NOTE}), or null for the default",
            default_text="the terminal statuses among notifyStatuses (one email per job)"),
    Setting("opsEmails", None, "addresses", (), "Email subscriptions of the ops (alarm) topic.",
            accepted_text="a list of email addresses such as team@example.com", default_text="[]"),
    Setting("slack", None, "boolean", False, "Deploy Slack delivery: queue, DLQ, function and secret."),
    Setting("slackSecretArn", None, "text", None, "Use this existing secret instead of creating one.",
            accepted_text="a secret's full ARN (ending in -XXXXXX), or null", default_text="null"),
    Setting("slackSecretName", None, "text", None, "Use the existing secret of this name instead of creating one.",
            accepted_text="a secret's name, or null", default_text="null"),
    Setting("slackStatuses", None, "status filter", None, "Status filter of the Slack queue's subscription.",
            accepted_text=f"{STATUS_LIST} ({_STATUS_FILTER_NOTE}), or null", default_text="null (every status)"),
    Setting("slackBroadcastStatuses", "SLACK_BROADCAST_STATUSES", "statuses",
            frozenset({"Failed", "Expired", "PartiallyCompleted"}),
            "Statuses whose thread reply is also posted to the channel (bot-token mode); so is every critical outcome.",
            (SLACK,)),
    Setting("slackSecretMaxAgeSeconds", "SLACK_SECRET_MAX_AGE_SECONDS", "integer", 300,
            "How long the Slack function caches the secret.", (SLACK,), minimum=0, maximum=86400,
            unit=" of seconds"),
    Setting("slackMessageTtlDays", "SLACK_MESSAGE_TTL_DAYS", "integer", 30,
            "How long a job's Slack message is remembered after its last change (later changes start a new one).",
            (SLACK,), minimum=1, maximum=365, unit=" of days"),
    # How the poller reads Bedrock.
    Setting("baselineLookbackDays", "BASELINE_LOOKBACK_DAYS", "integer", 8,
            "How far back the first run looks for jobs to record as its silent baseline.", (POLLER,),
            minimum=0, maximum=365, unit=" of days"),
    Setting("notifyOnFirstRun", "NOTIFY_ON_FIRST_RUN", "boolean", False,
            "Publish what the first run finds instead of recording it silently.", (POLLER,)),
    Setting("overlapMinutes", "OVERLAP_MINUTES", "integer", 10,
            "How far before the watermark each listing starts (clock skew, inclusive boundaries).", (POLLER,),
            minimum=1, maximum=1440, unit=" of minutes"),
    Setting("jobTtlDays", "JOB_TTL_DAYS", "integer", 30,
            "How long a finished job's state stays in the table (DynamoDB TTL).", (POLLER,),
            minimum=1, maximum=3650, unit=" of days"),
    Setting("publishMaxPerSecond", "PUBLISH_MAX_PER_SECOND", "integer", 9,
            "Publish pace; SNS suspends an email subscription past 10 messages a second, so at most 9 (any jitter).",
            (POLLER,), minimum=1, maximum=9),
    # The functions themselves.
    Setting("pollerMemoryMb", None, "integer", 256, "Poller memory.", minimum=128, maximum=10240, unit=" of MB"),
    Setting("pollerTimeoutSeconds", None, "integer", 240, "Poller timeout; must be shorter than the schedule.",
            minimum=10, maximum=900, unit=" of seconds", default_text="80% of the schedule, at most 240"),
    Setting("timeoutReserveSeconds", "TIMEOUT_RESERVE_SECONDS", "integer", 30,
            "The poller takes no new work this long before its timeout.", (POLLER,), minimum=1, maximum=600,
            unit=" of seconds", default_text="a quarter of the timeout, 5 to 30"),
    Setting("reservedConcurrency", None, "choice", 1,
            "Reserved concurrency of the poller; null for accounts with a low concurrency limit.",
            accepted_text="1 (one poll at a time), or null/off for no reservation"),
    Setting("slackMemoryMb", None, "integer", 256, "Slack function memory.", minimum=128, maximum=10240,
            unit=" of MB"),
    Setting("slackTimeoutSeconds", None, "integer", 60,
            "Slack function timeout; the Slack queue's visibility timeout is six times this.",
            minimum=10, maximum=900, unit=" of seconds"),
    Setting("logRetentionDays", None, "choice", 30, "Retention of the functions' log groups.",
            choices=LOG_RETENTION_DAYS),
    Setting("logLevel", "POWERTOOLS_LOG_LEVEL", "choice", "INFO", "Log level of both functions.", (POLLER, SLACK),
            choices=("DEBUG", "INFO", "WARNING", "ERROR"), library="Powertools"),
    Setting("tracing", "TRACING", "boolean", False,
            "Trace each AWS and Slack call with the X-Ray SDK (Powertools Tracer). Off, Lambda still traces each "
            "invocation, and a cold start does not import the X-Ray SDK.", (POLLER, SLACK)),
    Setting("removalPolicy", None, "choice", "retain",
            "retain: the table (with deletion protection), key, secret and logs outlive the stack; "
            "destroy (dev stacks): they are deleted with it.", choices=("retain", "destroy")),
    # Filled in by the stack from its own resources, or fixed by it.
    STATE_TABLE,
    TOPIC,
    SLACK_SECRET,
    SLACK_API_URL,
    Setting(None, "AWS_MAX_ATTEMPTS", "integer", 6,
            "Attempts per AWS call (botocore's adaptive retry mode, in the Bedrock adapter).", (POLLER,),
            minimum=1, maximum=20, library="botocore"),
    SDK_DATA_PATH,
    SERVICE_NAME,
    Setting(None, "POWERTOOLS_METRICS_NAMESPACE", "text", METRICS_NAMESPACE, "Namespace of the metrics.",
            (POLLER, SLACK), accepted_text="a CloudWatch namespace", library="Powertools"),
    # Internal: the defaults fit the deployed stack; tests and local runs set them to go faster.
    Setting(None, "SLACK_MAX_RETRIES", "integer", 2,
            "Retries of one Slack call for each kind of failure (429, 5xx, connection); bounded by the timeout.",
            (SLACK,), minimum=0, maximum=5, internal=True),
    Setting(None, "SLACK_RETRY_BACKOFF_SECONDS", "number", 0.5, "First backoff between retries of a Slack call.",
            (SLACK,), minimum=0, maximum=10, unit=" of seconds", internal=True),
    Setting(None, "SLACK_HTTP_TIMEOUT_SECONDS", "number", 10, "Timeout of one HTTP request to Slack.", (SLACK,),
            minimum=1, maximum=60, unit=" of seconds", internal=True),
    Setting(None, "SLACK_IDEMPOTENCY_TTL_HOURS", "integer", 48,
            "How long a delivered transitionId is remembered; SQS redeliveries and SNS duplicates come within hours.",
            (SLACK,), minimum=1, maximum=336, unit=" of hours", internal=True),
)  # fmt: skip

BY_KEY = {s.key: s for s in SETTINGS if s.key}
BY_ENV = {s.env: s for s in SETTINGS if s.env}
TRACING = BY_ENV["TRACING"]

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


def _required(env: Mapping[str, str], setting: Setting, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
    value = env.get(setting.env or "", "").strip()
    if not value:
        raise ConfigurationError(
            f"{setting.env} is not set: the stack sets it; set it when running the function elsewhere"
        )
    if pattern is not None and not pattern.match(value):
        raise setting.error(value, f"is not {what}")
    return value


def _env(env: Mapping[str, str], name: str) -> Any:
    return BY_ENV[name].from_env(env)


@dataclass(frozen=True)
class PollerSettings:
    state_table_name: str
    topic_arn: str
    notify_statuses: frozenset[str] = BY_ENV["NOTIFY_STATUSES"].default
    job_name_patterns: tuple[str, ...] = ()
    model_id_patterns: tuple[str, ...] = ()
    overlap: timedelta = timedelta(minutes=BY_ENV["OVERLAP_MINUTES"].default)
    baseline_lookback: timedelta = timedelta(days=BY_ENV["BASELINE_LOOKBACK_DAYS"].default)
    notify_on_first_run: bool = BY_ENV["NOTIFY_ON_FIRST_RUN"].default
    job_ttl: timedelta = timedelta(days=BY_ENV["JOB_TTL_DAYS"].default)
    publish_max_per_second: float = BY_ENV["PUBLISH_MAX_PER_SECOND"].default
    time_reserve: timedelta = timedelta(seconds=BY_ENV["TIMEOUT_RESERVE_SECONDS"].default)
    tracing: bool = TRACING.default  # applied at import, by notifier.core.observability.traced
    error_rate_warning: float = BY_ENV["ERROR_RATE_WARNING"].default

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PollerSettings:
        env = os.environ if env is None else env
        return cls(
            state_table_name=_required(env, STATE_TABLE),
            topic_arn=_required(env, TOPIC, _TOPIC_ARN, "an SNS topic ARN"),
            notify_statuses=_env(env, "NOTIFY_STATUSES"),
            job_name_patterns=_env(env, "JOB_NAME_PATTERNS"),
            model_id_patterns=_env(env, "MODEL_ID_PATTERNS"),
            overlap=timedelta(minutes=_env(env, "OVERLAP_MINUTES")),
            baseline_lookback=timedelta(days=_env(env, "BASELINE_LOOKBACK_DAYS")),
            notify_on_first_run=_env(env, "NOTIFY_ON_FIRST_RUN"),
            job_ttl=timedelta(days=_env(env, "JOB_TTL_DAYS")),
            publish_max_per_second=_env(env, "PUBLISH_MAX_PER_SECOND"),
            time_reserve=timedelta(seconds=_env(env, "TIMEOUT_RESERVE_SECONDS")),
            tracing=_env(env, "TRACING"),
            error_rate_warning=float(_env(env, "ERROR_RATE_WARNING")),
        )


@dataclass(frozen=True)
class SlackSettings:
    secret_arn: str
    state_table_name: str
    api_url: str = DEFAULT_SLACK_API_URL
    broadcast_statuses: frozenset[str] = BY_ENV["SLACK_BROADCAST_STATUSES"].default
    secret_max_age_seconds: int = BY_ENV["SLACK_SECRET_MAX_AGE_SECONDS"].default
    # Delivery tuning: retries per Slack call (each for 429, 5xx and connection errors) and their backoff.
    max_retries: int = BY_ENV["SLACK_MAX_RETRIES"].default
    retry_backoff_seconds: float = BY_ENV["SLACK_RETRY_BACKOFF_SECONDS"].default
    http_timeout_seconds: float = BY_ENV["SLACK_HTTP_TIMEOUT_SECONDS"].default
    idempotency_ttl_seconds: int = BY_ENV["SLACK_IDEMPOTENCY_TTL_HOURS"].default * 3600
    message_ttl_days: int = BY_ENV["SLACK_MESSAGE_TTL_DAYS"].default
    tracing: bool = TRACING.default  # applied at import, by notifier.core.observability.traced

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        env = os.environ if env is None else env
        api_url = _env(env, "SLACK_API_URL")
        if not re.match(r"^https?://", api_url):
            raise SLACK_API_URL.error(api_url, "is not an http(s) URL")
        return cls(
            secret_arn=_required(env, SLACK_SECRET, _SECRET_ARN, "a Secrets Manager secret ARN"),
            state_table_name=_required(env, STATE_TABLE),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            broadcast_statuses=_env(env, "SLACK_BROADCAST_STATUSES"),
            secret_max_age_seconds=_env(env, "SLACK_SECRET_MAX_AGE_SECONDS"),
            max_retries=_env(env, "SLACK_MAX_RETRIES"),
            retry_backoff_seconds=float(_env(env, "SLACK_RETRY_BACKOFF_SECONDS")),
            http_timeout_seconds=float(_env(env, "SLACK_HTTP_TIMEOUT_SECONDS")),
            idempotency_ttl_seconds=_env(env, "SLACK_IDEMPOTENCY_TTL_HOURS") * 3600,
            message_ttl_days=_env(env, "SLACK_MESSAGE_TTL_DAYS"),
            tracing=_env(env, "TRACING"),
        )
