"""`make demo`: the notifier end to end on this machine, no AWS account needed.

The real poller and Slack functions run in this process against moto (DynamoDB, SNS, SQS, Secrets Manager),
the Bedrock emulator and the Slack stand-in, all on loopback. A few hours of Bedrock jobs play on the
emulator's clock: one completes, one partially completes, one fails validation, one is stopped, one expires,
one runs for hours, one was submitted days before the deploy; Bedrock throttles once and Slack rate-limits
once. Each round is one scheduled poll: poller.handler -> SNS -> (email, the Slack queue) -> slack.handler.
What people would see is printed as it happens: the first email and the first Slack message in full, then a
line for each further one (--verbose: every one in full); then a summary that checks nothing was lost.

    python -m local.sandbox [--fast | --rounds N] [--slack-mode bot|webhook] [--verbose] [--json] [--html PAGE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3

from local import runtime
from local.bedrock_emulator import BedrockEmulator
from local.sandbox_cloud import (
    ACCOUNT_ID,
    EMAIL_ADDRESS,
    POLLER_TIMEOUT_SECONDS,
    REGION,
    SLACK_TIMEOUT_SECONDS,
    Resources,
    SandboxContext,
    Servers,
    client_environment,
    create_resources,
    function_environments,
    messages_left,
    scoped_environ,
    slack_secret,
    start_servers,
)
from local.sandbox_html import Page, write_html
from local.sandbox_logs import FunctionLogs, metrics_discarded, quiet_logs
from local.sandbox_render import (
    Style,
    channel_message_line,
    channel_message_lines,
    email_line,
    email_lines,
    indent,
    plural,
    table,
)
from local.sandbox_scenario import (
    DEFAULT_ROUNDS,
    EVENTS,
    FAST_ROUNDS,
    JOBS,
    SPAN_MINUTES,
    Event,
    SlackRateLimit,
    World,
    baseline_jobs,
    expected_terminal_statuses,
    round_minutes,
    statuses_set,
)
from local.slack_standin import DEFAULT_CHANNEL, ChannelMessage
from notifier.core.notice import Notice
from notifier.core.settings import PollerSettings, SlackSettings
from notifier.core.timefmt import isoformat
from notifier.poller import bedrock as bedrock_jobs
from notifier.poller import entry as poller
from notifier.poller import job_store as state_store
from notifier.poller import publisher
from notifier.slack import entry as slack
from notifier.slack.blocks import transition_message

SETTLE_ROUNDS = 4  # polls after the scenario's last event, until nothing is moving
SETTLE_STEP_MINUTES = 20
REDELIVERY_SLACK = 2.0  # seconds the pump waits past Retry-After for a message handed back to SQS
THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})
SLACK_MODES = ("bot", "webhook")
MODE_WORDS = {
    "bot": "bot token: one message per job, updated in place, its history in the thread",
    "webhook": "incoming webhook: one message per status change",
}


def scheduled_event(moment: datetime) -> dict[str, Any]:
    """The EventBridge Scheduled Event the stack's schedule sends the poller."""
    return {
        "version": "0",
        "id": f"sandbox-{int(moment.timestamp())}",
        "detail-type": poller.SCHEDULED,
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": isoformat(moment),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/bedrock-batch-notifier-poll"],
        "detail": {},
    }


def sqs_event_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received SQS message as Lambda's event source mapping hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@dataclass
class JobOutcome:
    name: str
    model_id: str
    story: str
    bedrock_path: list[str]
    expected: str | None  # the terminal status that must reach SNS and Slack; None for a baseline job
    sns: list[str] = field(default_factory=list)
    slack: list[str] = field(default_factory=list)
    email: list[str] = field(default_factory=list)
    outcome: str | None = None  # what came of it, as its terminal notice said: "failed (critical)"

    @property
    def delivered(self) -> bool:
        if self.expected is None:
            return not self.sns  # a job finished before the deploy is never announced
        reached = self.expected in self.sns and self.expected in self.slack and self.expected in self.email
        return reached and set(self.sns) <= set(self.slack)


@dataclass
class DemoSummary:
    jobs: list[JobOutcome]
    slack_mode: str = "bot"
    polls: int = 0
    transitions_recorded: int = 0
    notices_published: int = 0
    emails: int = 0
    slack_messages: int = 0  # what the channel shows at the top level: job messages (bot) or every post (webhook)
    slack_parents: int = 0
    slack_updates: int = 0
    slack_replies: int = 0
    throttled_calls_retried: int = 0
    slack_rate_limited: int = 0
    slack_redelivered: int = 0
    slack_queue_left: int = 0
    slack_dlq_left: int = 0
    unpublished_left: int = 0
    elapsed_seconds: float = 0.0

    @property
    def nothing_lost(self) -> bool:
        leftovers = self.slack_queue_left + self.slack_dlq_left + self.unpublished_left
        return leftovers == 0 and all(job.delivered for job in self.jobs)


@dataclass
class Options:
    rounds: int = DEFAULT_ROUNDS
    json: bool = False
    html: Path | None = None
    verbose: bool = False  # every email and Slack message in full, not only the first of each
    slack_mode: str = "bot"


class Demo:
    """One sandbox run: the scenario's rounds, each a poll and a pass of the Slack queue, narrated."""

    def __init__(self, servers: Servers, resources: Resources, logs: FunctionLogs, out: TextIO, options: Options):
        self.servers = servers
        self.resources = resources
        self.logs = logs
        self.out = out
        self.options = options
        self.style = Style.for_stream(out)
        self.start = servers.bedrock.now()
        self.world = World(servers.bedrock, boto3.client("bedrock"), servers.slack, self.start)
        self.pending_events: list[Event] = sorted(EVENTS, key=lambda event: event.minute)
        self.sqs = boto3.client("sqs")
        self.summary = DemoSummary(jobs=[], slack_mode=options.slack_mode)
        self.sns_statuses: dict[str, list[str]] = {}
        self.sns_outcomes: dict[str, str] = {}  # job ARN -> "outcome (severity)" of its terminal notice
        self.published: list[Notice] = []
        self.emails: list[Notice] = []
        self.shown_in_full = {"email": False, "slack": False}
        self.deferred = 0  # Slack messages handed back to SQS, expected again after Retry-After
        self.redelivery_due: float | None = None  # when they should be visible again, with some slack
        self.throttled: list[str] = []
        self.environments = function_environments(servers, resources)
        with self._as_function(runtime.POLLER):
            self.poller_settings = PollerSettings.from_env()
            # One client each, made as the poller's own adapters make them, in the poller's environment.
            self.bedrock_client = boto3.client("bedrock", config=bedrock_jobs.client_config())
            self.bedrock_client.meta.events.register("needs-retry.bedrock", self._note_throttle)
            self.dynamodb = boto3.client("dynamodb", config=state_store.client_config())
            self.sns = boto3.client("sns", config=publisher.client_config())
            self.sns.meta.events.register("after-call.sns.PublishBatch", self._note_published)
        with self._as_function(runtime.SLACK):
            self.slack_dependencies = slack.build_dependencies(SlackSettings.from_env())

    def _as_function(self, handler: str) -> AbstractContextManager[None]:
        """The function's own environment (as the stack sets it) for the block, as Lambda gives each its own."""
        return scoped_environ(self.environments[handler])

    # -- narration ------------------------------------------------------------------------------------------

    def say(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)
        self.out.flush()

    def step(self, who: str, text: str) -> None:
        self.say(f"  {self.style.dim(f'{who:<8}')} {text}")

    # -- the run --------------------------------------------------------------------------------------------

    def play(self) -> DemoSummary:
        self.say(*self._introduction())
        self._apply_events_until(0)  # the world as it is at the deploy
        minutes = round_minutes(self.options.rounds)
        for index, minute in enumerate(minutes, start=1):
            self._round(f"poll {index}/{len(minutes)}", minute)
        extra = 0
        while extra < SETTLE_ROUNDS and not self._settled():
            extra += 1
            self._round(f"poll {len(minutes) + extra} (settling)", SPAN_MINUTES + extra * SETTLE_STEP_MINUTES)
        return self._finish()

    def _introduction(self) -> list[str]:
        s = self.style
        every = SPAN_MINUTES / (self.options.rounds - 1)
        lines = [
            s.bold("Bedrock batch notifier · local sandbox"),
            s.dim(
                f"  moto {self.servers.moto_url} · Bedrock emulator {self.servers.bedrock.url} · "
                f"Slack stand-in {self.servers.slack.base_url}"
            ),
            s.dim(
                f"  as the stack declares them: table {self.resources.table}; topic "
                f"{self.resources.topic_arn.rsplit(':', 1)[-1]} -> email {EMAIL_ADDRESS} and the Slack queue "
                f"(DLQ, raw delivery off); Slack secret in {self.options.slack_mode} mode "
                f"({MODE_WORDS[self.options.slack_mode]}), #{DEFAULT_CHANNEL}"
            ),
            s.dim(f"  email filter as a default deploy sets it: {EMAIL_ADDRESS} receives the terminal statuses only"),
            s.dim(
                "  the first email and the first Slack message are shown in full, then a line for each"
                + (" (--verbose: all in full)" if not self.options.verbose else "")
            ),
            s.dim(
                f"  Bedrock's clock runs fast: a poll every {every:g} min of Bedrock time. The functions keep real "
                "time, so 'Detected at' reads now."
            ),
            s.dim(
                f"  AWS_MAX_ATTEMPTS={self.environments[runtime.POLLER]['AWS_MAX_ATTEMPTS']} (boto3 retries a "
                "throttled call); Slack function timeout "
                f"{SLACK_TIMEOUT_SECONDS} s (too short to sit out a Retry-After, so SQS redelivers)"
            ),
            "",
            s.bold("The jobs"),
        ]
        lines += indent(
            table(["job", "model", "what it shows"], [[j.name, j.model_id, j.story] for j in JOBS], s), "  "
        )
        return lines

    def _round(self, label: str, minute: float) -> None:
        moment = self.world.at(minute)
        header = f"── {label} · Bedrock clock {moment:%a %H:%M} UTC (+{minute:g} min) "
        self.say("", self.style.bold(header + "─" * max(0, 100 - len(header))))
        self._apply_events_until(minute)
        self.servers.bedrock.set_now(moment)
        self._poll(moment)
        self._show_published()
        self._pump_slack()

    def _apply_events_until(self, minute: float) -> None:
        while self.pending_events and self.pending_events[0].minute <= minute:
            event = self.pending_events.pop(0)
            self.servers.bedrock.set_now(self.world.at(event.minute))
            line = event.apply(self.world)
            if event.minute >= 0:
                who = "slack" if isinstance(event, SlackRateLimit) else "bedrock"
                self.step(who, f"{self.style.dim(f'+{event.minute:g}')} {line}")

    # -- the poller -----------------------------------------------------------------------------------------

    def _note_throttle(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        """botocore's needs-retry event: note each throttled answer the SDK is about to retry."""
        if response is None:
            return
        code = response[1].get("Error", {}).get("Code")
        if code in THROTTLE_CODES:
            self.throttled.append(f"{operation.name if operation else 'a call'} answered {code}")

    def _note_published(self, parsed: dict[str, Any], **_: Any) -> None:
        """botocore's after-call event: what SNS accepted, counted as it happens, so a poll that fails after
        publishing (Bedrock unavailable) is counted too; its report is lost with the exception."""
        self.summary.notices_published += len(parsed.get("Successful", []))

    def _poll(self, moment: datetime) -> None:
        store = state_store.StateStore(self.resources.table, client=self.dynamodb)
        dependencies = poller.Dependencies(
            bedrock=bedrock_jobs.BedrockJobs(self.bedrock_client),
            store=store,
            publisher=publisher.NoticePublisher(
                self.resources.topic_arn, self.poller_settings.publish_max_per_second, client=self.sns, window=store
            ),
        )
        context = SandboxContext("bedrock-batch-notifier-poller", POLLER_TIMEOUT_SECONDS)
        self.summary.polls += 1
        try:
            with metrics_discarded(), self._as_function(runtime.POLLER):
                result = poller.handler(scheduled_event(moment), context, dependencies=dependencies)
        except Exception as error:  # the next poll goes on from what was recorded, as on Lambda
            self.step("poller", self.style.red(f"failed: {error}; the next poll goes on from here"))
            self._show_logs("poller")
            return
        for throttle in self.throttled:
            self.step("sdk", self.style.yellow(f"{throttle}: boto3 backed off and retried it; the poll went on"))
        if self.throttled:
            self.step("sdk", self.style.dim("(adaptive retry mode also slows the client's own calls for a while)"))
        self.summary.throttled_calls_retried += len(self.throttled)
        self.throttled.clear()
        self._show_logs("poller")
        self.step("poller", self._describe_poll(result))

    def _describe_poll(self, result: dict[str, Any]) -> str:
        transitions: dict[str, int] = result["transitions"]
        recorded = sum(transitions.values())
        self.summary.transitions_recorded += recorded
        listed = result["jobsListed"]
        text = f"listed {listed} {'job' if listed == 1 else 'jobs'} in {result['pages']} calls"
        if recorded:
            seen = ", ".join(f"{status} x{count}" if count > 1 else status for status, count in transitions.items())
            text += f" · recorded {recorded} status {'change' if recorded == 1 else 'changes'} ({seen})"
        else:
            return text + " · no status changed: nothing written, nothing sent"
        if result["baseline"] and recorded:
            return text + " · first run: a silent baseline, so a deploy does not flood Slack"
        quiet = sorted(status for status in transitions if status not in self.poller_settings.notify_statuses)
        if quiet:
            text += f" · {', '.join(quiet)} not in NOTIFY_STATUSES: recorded without a notice"
        return text + f" · published {result['published']} to SNS"

    # -- SNS: what every subscriber got ---------------------------------------------------------------------

    def _show_published(self) -> None:
        for document in self._drain(self.resources.observer_queue_url):
            notice = Notice.from_document(document)
            self.sns_statuses.setdefault(notice.job_arn, []).append(notice.status)
            if notice.outcome is not None:
                self.sns_outcomes[notice.job_arn] = f"{notice.outcome} ({notice.severity})"
            self.published.append(notice)
            if self.options.json:
                self.step(
                    "sns json",
                    self.style.dim(f"{notice.job_name}: {notice.previous_status or 'new'} → {notice.status}"),
                )
                self.say(*indent(json.dumps(document, indent=2).splitlines(), "    "))
        for document in self._drain(self.resources.email_observer_queue_url):
            notice = Notice.from_document(document)
            self.emails.append(notice)
            if self._in_full("email"):
                first, *body = email_lines(notice, EMAIL_ADDRESS, self.style)
                self.say("")
                self.step("email", first)
                self.say(*indent(body, "    "), "")
            else:
                self.step("email", email_line(notice, EMAIL_ADDRESS, self.style))

    def _in_full(self, what: str) -> bool:
        """The first email and the first Slack message in full, the rest as one line (all in full with --verbose)."""
        first = not self.shown_in_full[what]
        self.shown_in_full[what] = True
        return first or self.options.verbose

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every document SNS delivered to one of our own subscribers since the last call (moto: drain as you go)."""
        documents: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages:
                return documents
            documents += [json.loads(json.loads(message["Body"])["Message"]) for message in messages]
            self._delete(queue_url, messages)

    # -- the Slack function, driven as Lambda's SQS event source would ------------------------------------

    def _pump_slack(self) -> None:
        before = {message.ts: _shape(message) for message in self._channel()}
        if self.deferred:
            handed_back = plural(self.deferred, "message")
            self.step("sqs", f"{handed_back} handed back after Slack's 429 come back after Retry-After")
        while True:
            waiting = self.deferred > 0 and self.redelivery_due is not None and time.monotonic() < self.redelivery_due
            messages = self.sqs.receive_message(
                QueueUrl=self.resources.slack_queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1 if waiting else 0,  # long polling: returns as soon as a message is visible
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if messages and not self._invoke_slack(messages):
                break  # what was handed back returns after Retry-After: the next round picks it up
            if not messages and not waiting:
                break
        self._show_channel_changes(before)

    def _invoke_slack(self, messages: list[dict[str, Any]]) -> bool:
        """One Lambda invocation with one batch; deletes what was delivered, as the event source mapping does.
        False when some items failed."""
        redelivered = [m for m in messages if int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) > 1]
        if redelivered:
            self.summary.slack_redelivered += len(redelivered)
            self.deferred = max(0, self.deferred - len(redelivered))
            self.step("sqs", self.style.yellow(f"redelivered {plural(len(redelivered), 'message')} after Slack's 429"))
        event = {"Records": [sqs_event_record(message, self.resources.slack_queue_arn) for message in messages]}
        context = SandboxContext("bedrock-batch-notifier-slack", SLACK_TIMEOUT_SECONDS)
        with metrics_discarded(), self._as_function(runtime.SLACK):
            response = slack.handler(event, context, dependencies=self.slack_dependencies)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        self._delete(self.resources.slack_queue_url, [m for m in messages if m["MessageId"] not in failed])
        self._show_logs("slack")
        delivered = len(messages) - len(failed)
        text = f"batch of {len(messages)}: {delivered} delivered"
        if failed:
            text += self.style.yellow(f", {len(failed)} handed back to SQS (batchItemFailures)")
            self.deferred += len(failed)
        self.step("slack fn", text)
        return not failed

    def _show_logs(self, function: str) -> None:
        """The functions' warnings, one line each, instead of their JSON log lines."""
        rate_limited = False
        for record in self.logs.take():
            details = [str(value) for key in ("reason", "error") if (value := getattr(record, key, None))]
            wait = getattr(record, "retryAfterSeconds", None)
            if wait is not None:
                rate_limited = True
                # What the function set as the message's visibility timeout: at least Retry-After.
                hidden = int(getattr(record, "visibilitySeconds", None) or max(1, math.ceil(wait)))
                details.append(f"hidden from the queue for {hidden} s")
                self.redelivery_due = max(self.redelivery_due or 0.0, time.monotonic() + hidden + REDELIVERY_SLACK)
            detail = f" ({'; '.join(details)})" if details else ""
            self.step(function, self.style.yellow(f"{record.levelname.lower()}: {record.getMessage()}{detail}"))
        # One 429 per batch: after it the function fails the batch's other records without calling Slack.
        self.summary.slack_rate_limited += rate_limited

    def _channel(self) -> list[ChannelMessage]:
        return [
            message for message in self.servers.slack.channel_messages(DEFAULT_CHANNEL) if message.thread_ts is None
        ]

    def _show_channel_changes(self, before: dict[str, tuple[int, int]]) -> None:
        for message in self._channel():
            if before.get(message.ts) == _shape(message):
                continue
            change = "new message" if message.ts not in before else "message updated in place, reply in thread"
            if self._in_full("slack"):
                self.say("")
                self.step("slack", self.style.dim(change))
                self.say(*indent(channel_message_lines(message, DEFAULT_CHANNEL, self.style), "    "), "")
            else:
                self.step("slack", f"{self.style.dim(change + ':')} {channel_message_line(message, self.style)}")

    def _delete(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def _settled(self) -> bool:
        return (
            self.deferred == 0
            and not self.pending_events
            and messages_left(self.resources.slack_queue_url) == 0
            and self._all_terminal_published()
        )

    def _all_terminal_published(self) -> bool:
        expected = expected_terminal_statuses()
        return all(status in self.sns_statuses.get(self.world.arns[job], []) for job, status in expected.items())

    # -- the end --------------------------------------------------------------------------------------------

    def _finish(self) -> DemoSummary:
        summary = self.summary
        expected = expected_terminal_statuses()
        baseline = baseline_jobs()
        slack_statuses = self._slack_statuses()
        for job in JOBS:
            arn = self.world.arns[job.key]
            summary.jobs.append(
                JobOutcome(
                    name=job.name,
                    model_id=job.model_id,
                    story=job.story,
                    bedrock_path=statuses_set(job.key),
                    expected=None if job.key in baseline else expected.get(job.key),
                    sns=self.sns_statuses.get(arn, []),
                    slack=slack_statuses.get(arn, []),
                    outcome=self.sns_outcomes.get(arn),
                )
            )
        channel = self._channel()
        email_statuses: dict[str, list[str]] = {}
        for notice in self.emails:
            email_statuses.setdefault(notice.job_arn, []).append(notice.status)
        for outcome, job in zip(summary.jobs, JOBS, strict=True):
            outcome.email = email_statuses.get(self.world.arns[job.key], [])
        summary.emails = len(self.emails)
        summary.slack_messages = len(channel)
        summary.slack_parents = len(channel) if self.options.slack_mode == "bot" else 0
        summary.slack_updates = sum(message.edits for message in channel)
        summary.slack_replies = sum(len(message.replies) for message in channel)
        summary.slack_queue_left = messages_left(self.resources.slack_queue_url)
        summary.slack_dlq_left = messages_left(self.resources.slack_dlq_url)
        store = state_store.StateStore(self.resources.table, client=self.dynamodb)
        summary.unpublished_left = len(store.pending_notices())
        if self.options.html is not None:
            headers, rows = summary_table(summary)
            write_html(
                self.options.html,
                Page(
                    channel=DEFAULT_CHANNEL,
                    slack_mode=MODE_WORDS[self.options.slack_mode],
                    channel_messages=channel,
                    email_to=EMAIL_ADDRESS,
                    emails=self.emails,
                    summary_headers=headers,
                    summary_rows=rows,
                    summary_lines=summary_totals(summary),
                ),
            )
        return summary

    def _slack_statuses(self) -> dict[str, list[str]]:
        """Each job's statuses as Slack shows them (job ARN -> statuses), in bot mode read from the thread replies'
        message metadata (transitionId, jobArn, status), not from their rendered text; a webhook post carries no
        metadata, so each is matched to the published notice whose webhook message it is, content for content."""
        found: dict[str, list[str]] = {}
        if self.options.slack_mode == "webhook":
            expected = {_payload_key(transition_message(n).as_payload()): n for n in self.published}
            for message in self._channel():
                notice = expected.get(_payload_key({"text": message.text, "attachments": message.attachments}))
                if notice is not None:
                    found.setdefault(notice.job_arn, []).append(notice.status)
            return found
        for message in self._channel():
            # The parent announced the job's first transition (its metadata stays that one's); replies the later ones.
            for shown in (message, *message.replies):
                payload = (shown.metadata or {}).get("event_payload", {})
                if "jobArn" in payload and "status" in payload:
                    found.setdefault(str(payload["jobArn"]), []).append(str(payload["status"]))
        return found


def _shape(message: ChannelMessage) -> tuple[int, int]:
    return message.edits, len(message.replies)


def _payload_key(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True)


def summary_table(summary: DemoSummary, style: Style | None = None) -> tuple[list[str], list[list[str]]]:
    """The summary's table: one row per job, every column with its header."""
    s = style or Style()
    rows = []
    for job in summary.jobs:
        published = ", ".join(job.sns) or s.dim("none: finished before the deploy (baseline)")
        slack_view = "same as SNS" if job.slack == job.sns and job.sns else ", ".join(job.slack) or "—"
        email_view = ", ".join(job.email) or "—"
        if not job.delivered:
            verdict = s.red("✗ lost")
        else:
            verdict = s.green("✓ not announced" if job.expected is None else "✓ delivered")
        outcome = job.outcome or "—"
        rows.append([job.name, "→".join(job.bedrock_path), published, outcome, email_view, slack_view, verdict])
    slack_header = "Slack thread" if summary.slack_mode == "bot" else "Slack messages"
    return ["job", "Bedrock statuses", "published on SNS", "outcome", "email", slack_header, "verdict"], rows


def summary_totals(summary: DemoSummary) -> list[str]:
    """The summary's counts, one line each."""
    if summary.slack_mode == "bot":
        slack_line = (
            f"Slack (bot token): {plural(summary.slack_parents, 'job message')}, updated in place "
            f"{plural(summary.slack_updates, 'time')}, {plural(summary.slack_replies, 'thread reply', 'thread replies')}"
        )
    else:
        slack_line = f"Slack (webhook): {plural(summary.slack_messages, 'message')}, one per status change"
    return [
        f"{plural(len(summary.jobs), 'job')} · {plural(summary.polls, 'poll')} · "
        f"{plural(summary.transitions_recorded, 'status change')} recorded · "
        f"{plural(summary.notices_published, 'notice')} published · "
        f"{plural(summary.emails, 'email')} (terminal statuses only)",
        slack_line,
        f"Retries: {plural(summary.throttled_calls_retried, 'throttled Bedrock call')} retried by the SDK · "
        f"{plural(summary.slack_rate_limited, 'Slack 429')}, "
        f"{plural(summary.slack_redelivered, 'message')} redelivered by SQS",
        f"Left over: Slack queue {summary.slack_queue_left} · Slack DLQ {summary.slack_dlq_left} · "
        f"unpublished notices {summary.unpublished_left}",
    ]


def summary_lines(summary: DemoSummary, style: Style | None = None) -> list[str]:
    s = style or Style()
    headers, rows = summary_table(summary, s)
    lines = [*table(headers, rows, s), "", *summary_totals(summary)]
    if summary.nothing_lost:
        lines.append(s.green("Nothing lost: every terminal status set in the scenario reached SNS, email and Slack."))
    else:
        lines.append(s.red("Something was lost: see the rows marked ✗ and the leftovers above."))
    return lines


def run(options: Options, out: TextIO = sys.stdout) -> DemoSummary:
    """Start the local cloud, play the scenario, stop everything (also on Ctrl-C)."""
    started = time.monotonic()
    # The emulator's clock starts so that the scenario's last scheduled poll is about now.
    deploy = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=SPAN_MINUTES + 5)
    emulator = BedrockEmulator(region=REGION, account_id=ACCOUNT_ID, now=deploy, stop_after_reads=1)
    with quiet_logs() as logs:
        servers = start_servers(emulator)
        try:
            with scoped_environ(client_environment(servers)):
                resources = create_resources(slack_secret(options.slack_mode, servers.slack))
                summary = Demo(servers, resources, logs, out, options).play()
        finally:
            servers.stop()
    summary.elapsed_seconds = time.monotonic() - started
    return summary


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m local.sandbox", description=__doc__.splitlines()[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--fast", action="store_true", help=f"{FAST_ROUNDS} polls instead of {DEFAULT_ROUNDS}")
    length.add_argument(
        "--rounds", type=int, metavar="N", help=f"N scheduled polls (at least 3; default {DEFAULT_ROUNDS})"
    )
    parser.add_argument(
        "--slack-mode",
        choices=SLACK_MODES,
        default="bot",
        help="the Slack secret's mode: bot (a bot token: one message per job, updated in place, history in its "
        "thread; the default) or webhook (an incoming webhook: one message per status change)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="every email and Slack message in full, not only the first"
    )
    parser.add_argument("--json", action="store_true", help="also print each SNS message's JSON document")
    parser.add_argument(
        "--html", type=Path, metavar="PATH", help="write a page previewing the Slack messages and emails"
    )
    args = parser.parse_args(argv)
    rounds = FAST_ROUNDS if args.fast else args.rounds or DEFAULT_ROUNDS
    if rounds < 3:
        parser.error("--rounds must be at least 3")
    return Options(rounds=rounds, json=args.json, html=args.html, verbose=args.verbose, slack_mode=args.slack_mode)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    options = parse_args(argv)
    try:
        summary = run(options, out)
    except KeyboardInterrupt:
        print("\ninterrupted: the local servers are stopped", file=sys.stderr)
        return 130
    style = Style.for_stream(out)
    print("", style.bold("── summary " + "─" * 89), *summary_lines(summary, style), sep="\n", file=out)
    print(style.dim(f"finished in {summary.elapsed_seconds:.1f} s"), file=out)
    if options.html is not None:
        print(f"preview written to {options.html}", file=out)
    return 0 if summary.nothing_lost else 1


if __name__ == "__main__":
    sys.exit(main())
