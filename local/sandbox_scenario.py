"""The sandbox's story: a few hours of a team's Bedrock batch jobs, played on the emulator's clock.

Minutes count from the notifier's first poll (its deploy); negative minutes happened before it. Each event
changes the emulator the way Bedrock would (or queues a fault) and returns a line of narration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from local.bedrock_emulator import LIST, BedrockEmulator
from local.slack_standin import SlackStandIn
from notifier.core.jobs import TERMINAL_STATUSES

SPAN_MINUTES = 240  # the scheduled polls spread over this much Bedrock time
DEFAULT_ROUNDS = 13  # a poll every 20 minutes
FAST_ROUNDS = 7  # a poll every 40 minutes
SLACK_RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Job:
    key: str
    name: str
    model_id: str
    story: str


JOBS = (
    Job("eval", "nightly-eval-claude", "anthropic.claude-3-5-sonnet-20240620-v1:0", "completes"),
    Job("support", "support-tickets-haiku", "anthropic.claude-3-haiku-20240307-v1:0", "partially completes"),
    Job("catalog", "catalog-embeddings-titan", "amazon.titan-embed-text-v2:0", "fails validation"),
    Job("faq", "faq-answers-nova-lite", "amazon.nova-lite-v1:0", "Completed, yet every record failed"),
    Job("legal", "legal-review-llama", "meta.llama3-1-70b-instruct-v1:0", "is stopped by its owner"),
    Job("translation", "weekly-translation-mistral", "mistral.mistral-large-2402-v1:0", "expires in the queue"),
    Job("products", "product-descriptions-nova", "amazon.nova-pro-v1:0", "runs for hours, records growing"),
    Job("backfill", "q3-archive-embeddings", "cohere.embed-english-v3", "submitted 3 days before the deploy"),
    Job("digest", "daily-digest-summaries", "anthropic.claude-3-haiku-20240307-v1:0", "finished before the deploy"),
)
JOBS_BY_KEY = {job.key: job for job in JOBS}


@dataclass
class World:
    """What events act on: the emulator (directly, as Bedrock's own progress) and boto3 (as a user)."""

    emulator: BedrockEmulator
    bedrock_client: Any
    slack: SlackStandIn
    start: datetime
    arns: dict[str, str] = field(default_factory=dict)

    def at(self, minute: float) -> datetime:
        return self.start + timedelta(minutes=minute)


@dataclass(frozen=True)
class Submit:
    minute: float
    job: str
    total_records: int | None = None
    timeout_hours: int | None = None

    def apply(self, world: World) -> str:
        job = JOBS_BY_KEY[self.job]
        fields: dict[str, Any] = {}
        if self.total_records is not None:
            fields["totalRecordCount"] = self.total_records
        if self.timeout_hours is not None:
            fields["timeoutDurationInHours"] = self.timeout_hours
        world.arns[job.key] = world.emulator.create_job(
            job.name, job.model_id, submit_time=world.at(self.minute), **fields
        )
        return f"{job.name} submitted ({job.model_id})"


@dataclass(frozen=True)
class Status:
    minute: float
    job: str
    status: str
    records: tuple[int, int, int, int] | None = None  # total, processed, success, error
    message: str | None = None

    def apply(self, world: World) -> str:
        counts = (
            dict(zip(("total", "processed", "success", "error"), self.records, strict=True)) if self.records else None
        )
        world.emulator.set_status(world.arns[self.job], self.status, message=self.message, records=counts)
        line = f"{JOBS_BY_KEY[self.job].name} is now {self.status}"
        if self.records:
            line += f" ({self.records[1]:,} of {self.records[0]:,} records)"
        return line


@dataclass(frozen=True)
class Progress:
    """Records processed grow while the status stays InProgress: no transition, so nothing is sent."""

    minute: float
    job: str
    total: int
    processed: int

    def apply(self, world: World) -> str:
        counts = {"total": self.total, "processed": self.processed, "success": self.processed, "error": 0}
        world.emulator.set_status(world.arns[self.job], "InProgress", records=counts)
        share = self.processed / self.total
        return f"{JOBS_BY_KEY[self.job].name} progress: {_bar(share)} {self.processed:,} of {self.total:,} records"


@dataclass(frozen=True)
class Stop:
    """The job's owner stops it, as from the console or the CLI: StopModelInvocationJob through boto3."""

    minute: float
    job: str

    def apply(self, world: World) -> str:
        world.bedrock_client.stop_model_invocation_job(jobIdentifier=world.arns[self.job])
        return f"{JOBS_BY_KEY[self.job].name}: its owner called StopModelInvocationJob (boto3) -> Stopping"


@dataclass(frozen=True)
class ThrottleList:
    minute: float

    def apply(self, world: World) -> str:
        world.emulator.fail_next(LIST, count=1, code="ThrottlingException", after=1)
        return "Bedrock will throttle the poller's next-but-one ListModelInvocationJobs call (ThrottlingException)"


@dataclass(frozen=True)
class SlackRateLimit:
    minute: float
    retry_after: int = SLACK_RETRY_AFTER_SECONDS

    def apply(self, world: World) -> str:
        # The next call, whichever the mode makes: a Web API call (bot token) or a webhook post.
        world.slack.fail_next(1, status=429, retry_after=self.retry_after, target="any")
        return f"Slack will answer the next call with HTTP 429, Retry-After: {self.retry_after}"


Event = Submit | Status | Progress | Stop | ThrottleList | SlackRateLimit

PRODUCTS_TOTAL = 20_000
BACKFILL_TOTAL = 250_000

EVENTS: tuple[Event, ...] = (
    # Before the deploy: the first poll records these as a silent baseline.
    Submit(-3 * 1440 - 130, "backfill", total_records=BACKFILL_TOTAL),
    Status(-3 * 1440 - 100, "backfill", "InProgress", (BACKFILL_TOTAL, 0, 0, 0)),
    Status(-60, "backfill", "InProgress", (BACKFILL_TOTAL, 171_400, 171_400, 0)),
    Submit(-22 * 60, "translation", timeout_hours=24),
    Status(-21 * 60 - 30, "translation", "Scheduled"),
    Submit(-20 * 60, "digest", total_records=800),
    Status(-19 * 60, "digest", "InProgress", (800, 0, 0, 0)),
    Status(-18 * 60, "digest", "Completed", (800, 800, 800, 0)),
    # After it.
    Submit(5, "eval", total_records=2_000),
    Submit(6, "catalog", total_records=48_000),
    Submit(10, "support", total_records=5_000),
    Status(12, "catalog", "Validating"),
    Submit(15, "legal", total_records=1_200),
    Submit(16, "faq", total_records=3_000),
    Status(18, "eval", "Validating"),
    Status(
        22,
        "catalog",
        "Failed",
        message="Validation failed: 3 records in s3://catalog-batch-input/2024-11/catalog.jsonl are not valid JSON "
        "(first at line 1204). Fix the input file and submit the job again.",
    ),
    Status(28, "eval", "Scheduled"),
    Submit(30, "products", total_records=PRODUCTS_TOTAL),
    Status(35, "eval", "InProgress", (2_000, 0, 0, 0)),
    Status(38, "support", "InProgress", (5_000, 0, 0, 0)),
    Status(45, "legal", "InProgress", (1_200, 0, 0, 0)),
    Status(50, "products", "InProgress", (PRODUCTS_TOTAL, 0, 0, 0)),
    Status(55, "faq", "InProgress", (3_000, 0, 0, 0)),
    Progress(60, "backfill", BACKFILL_TOTAL, 190_250),
    Progress(70, "products", PRODUCTS_TOTAL, 3_100),
    Progress(75, "legal", 1_200, 430),
    ThrottleList(80),
    Progress(100, "products", PRODUCTS_TOTAL, 7_800),
    Stop(105, "legal"),
    Status(
        116,
        "support",
        "PartiallyCompleted",
        (5_000, 5_000, 4_871, 129),
        message="129 of 5000 records failed: the model's output exceeded maxTokens. Details are in the job's "
        "output manifest.",
    ),
    Status(
        118,
        "translation",
        "Expired",
        message="The job did not start within its timeout of 24 hours and expired. Submit it again or raise "
        "timeoutDurationInHours.",
    ),
    SlackRateLimit(119),
    Progress(120, "backfill", BACKFILL_TOTAL, 221_900),
    Progress(130, "products", PRODUCTS_TOTAL, 11_900),
    # Bedrock says Completed, but every record's output is an error (the prompt template broke the request body).
    Status(140, "faq", "Completed", (3_000, 3_000, 0, 3_000)),
    Status(150, "eval", "Completed", (2_000, 2_000, 2_000, 0)),
    Progress(160, "products", PRODUCTS_TOTAL, 15_400),
    Progress(180, "backfill", BACKFILL_TOTAL, 244_500),
    Progress(190, "products", PRODUCTS_TOTAL, 18_700),
    Status(200, "backfill", "Completed", (BACKFILL_TOTAL, BACKFILL_TOTAL, BACKFILL_TOTAL, 0)),
    Status(215, "products", "Completed", (PRODUCTS_TOTAL, PRODUCTS_TOTAL, PRODUCTS_TOTAL, 0)),
)


def round_minutes(rounds: int) -> list[float]:
    """When the scheduled polls run: `rounds` polls spread evenly from the deploy to the end of the span."""
    if rounds < 2:
        raise ValueError("the scenario needs at least 2 polls")
    step = SPAN_MINUTES / (rounds - 1)
    return [round(index * step, 3) for index in range(rounds)]


def expected_terminal_statuses() -> dict[str, str]:
    """Each job's terminal status set after the deploy: what must reach SNS and Slack (job key -> status)."""
    expected: dict[str, str] = {}
    for event in EVENTS:
        if event.minute < 0:
            continue
        if isinstance(event, Status) and event.status in TERMINAL_STATUSES:
            expected[event.job] = event.status
        elif isinstance(event, Stop):
            expected[event.job] = "Stopped"
    return expected


def baseline_jobs() -> set[str]:
    """Jobs already terminal at the deploy: recorded silently, never announced."""
    done = {e.job for e in EVENTS if e.minute < 0 and isinstance(e, Status) and e.status in TERMINAL_STATUSES}
    return done - set(expected_terminal_statuses())


def statuses_set(job: str) -> list[str]:
    """Every status the scenario moves a job through, in order (Bedrock's side of the story)."""
    path = ["Submitted"]
    for event in EVENTS:
        if getattr(event, "job", None) != job:
            continue
        if isinstance(event, Status) and event.status != path[-1]:
            path.append(event.status)
        elif isinstance(event, Stop):
            path += ["Stopping", "Stopped"]
    return path


def _bar(share: float, width: int = 10) -> str:
    filled = int(min(max(share, 0.0), 1.0) * width)
    return "▰" * filled + "▱" * (width - filled)
