"""`python -m local.preview`: what the notifier would say about your account's batch jobs, without writing or sending.

It runs the notifier's own poll (notifier.poller.poll.Poll) with your AWS credentials and region against the real
ListModelInvocationJobs and GetModelInvocationJob, with
- a job store that only reads: a wrapper around the notifier's own store over a deployed stack's state table
  with --table NAME, otherwise as a fresh deployment whose table is empty; every write is skipped and listed;
- a publisher that prints the messages (Slack, email, and with --json the SNS document) instead of publishing;
- your configuration, read as a deploy reads it (notifier.config.json, or --config FILE, with -c KEY=VALUE on top):
  what is published (notifyStatuses, jobNamePatterns, modelIdPatterns), the first run (baselineLookbackDays,
  notifyOnFirstRun), and per destination what would be sent and what its filter drops (each email address, Slack,
  the topic for your own subscribers, the ops addresses).

    python -m local.preview [--region R] [--profile P] [--config FILE] [-c KEY=VALUE] [--table NAME]
                            [--since 7d] [--notify-first-run | --no-notify-first-run] [--slack-mode bot|webhook]
                            [--json] [--transitions-only]

Exit codes: 0 done; 2 a problem with the credentials, permissions, region or arguments (one line on stderr);
1 Bedrock or DynamoDB kept failing after retries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3
import botocore.exceptions as boto_errors
from botocore.exceptions import ClientError

from infra.config import CONFIG_FILE, ConfigError, ConfigFile, NotifierConfig, function_environment, layers
from local.preview_destinations import EMAIL, SLACK, TOPIC, Destination, recipients, route
from local.sandbox_logs import quiet_logs
from local.sandbox_render import Style, email_lines, indent, message_lines, plural, table
from notifier.core.errors import BedrockUnavailable, ConfigurationError, StateStoreError
from notifier.core.jobs import JobSnapshot
from notifier.core.notice import Notice
from notifier.core.settings import POLLER, STATE_TABLE, PollerSettings
from notifier.core.settings import TOPIC as TOPIC_SETTING
from notifier.core.timefmt import isoformat
from notifier.poller.bedrock import BedrockJobs
from notifier.poller.bedrock import client_config as bedrock_config
from notifier.poller.job_store import Claim, Cursor, PendingNotice, StateStore
from notifier.poller.job_store import client_config as dynamodb_config
from notifier.poller.poll import Deadline, Poll
from notifier.poller.publisher import PublishOutcome, Settle
from notifier.poller.rules import Change, NotifyRule, StoredJob
from notifier.poller.sns_message import sns_message
from notifier.slack.blocks import job_summary_message, thread_reply_message, transition_message

USER_ERROR = 2
RUN_BUDGET = timedelta(minutes=15)  # the poll's deadline: far more than listing a busy account takes
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId"}
)
_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


class PreviewError(Exception):
    """A problem the user can fix (credentials, permissions, region, arguments): one line, exit code 2."""


@dataclass(frozen=True)
class Problem:
    message: str
    exit_code: int = USER_ERROR


# --- the read-only ports ----------------------------------------------------------------------------------------


class ReadOnlyJobStore:
    """The job-store port over a deployed stack's table, or over none (a fresh deployment): reads go to the real
    store, every write is recorded here instead. The real store's DynamoDB client also refuses writes outright."""

    def __init__(self, reader: StateStore | None) -> None:
        self.reader = reader
        self.skipped: Counter[str] = Counter()  # kind of write -> how many were skipped
        self.cursor: Cursor | None = None
        self.changes: list[Change] = []
        self.first_run = True  # no cursor yet, or one whose baseline is not complete: the first run's rules apply

    def load_cursor(self) -> Cursor | None:
        cursor = self.reader.load_cursor() if self.reader else None
        self.first_run = cursor is None or not cursor.baseline_complete
        return cursor

    def open_jobs(self) -> dict[str, StoredJob]:
        return self.reader.open_jobs() if self.reader else {}

    def get_jobs(self, job_arns: Iterable[str]) -> dict[str, StoredJob]:
        return self.reader.get_jobs(job_arns) if self.reader else {}

    def pending_notices(self) -> list[PendingNotice]:
        return self.reader.pending_notices() if self.reader else []

    def save_cursor(self, cursor: Cursor, now: datetime) -> bool:
        self.skipped["poll cursor"] += 1
        self.cursor = cursor
        return True

    def record(
        self, changes: list[Change], now: datetime, ttl: timedelta, claim: Claim | None = None
    ) -> tuple[list[Change], list[Change]]:
        self.changes += changes
        self.skipped["job state"] += len(changes)
        return changes, []

    def retire(self, job: StoredJob, now: datetime, ttl: timedelta, reason: str) -> bool:
        self.skipped["retired job"] += 1
        return True

    def note_missing(self, job: StoredJob, now: datetime) -> bool:
        self.skipped["missed job"] += 1
        return True

    def claim(self, job_arns: list[str], claim: Claim, now: datetime) -> dict[str, dict[str, Notice]]:
        self.skipped["publishing claim"] += len(job_arns)
        pending: dict[str, dict[str, Notice]] = {}
        for left in self.pending_notices():
            if left.job_arn in job_arns:
                pending.setdefault(left.job_arn, {})[left.transition_id] = left.notice
        return pending

    def release(self, job_arns: list[str], claim: Claim) -> None:
        self.skipped["publishing claim release"] += len(job_arns)

    def clear_published(self, job_arn: str, transition_ids: list[str], pending_count: int) -> None:
        self.skipped["published-notice clear"] += len(transition_ids)


def refuse_writes(client: Any) -> Any:
    """Makes a DynamoDB client fail any write before it is sent: the wrapper above never asks for one, and this
    keeps it that way."""

    def before_call(model: Any, **_: Any) -> None:
        if model.name in WRITE_OPERATIONS:
            raise AssertionError(f"the preview must not call DynamoDB {model.name}")

    client.meta.events.register("before-call.dynamodb", before_call)
    return client


class PrintingPublisher:
    """The publisher port: keeps each notice instead of publishing it; nothing here talks to SNS."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def publish(
        self, notices: list[tuple[str, Notice]], time_left: Callable[[], float], settle: Settle | None = None
    ) -> PublishOutcome:
        self.notices += [_with_account(notice) for _, notice in notices]
        published = [key for key, _ in notices]
        if settle and published:
            settle(published)
        return PublishOutcome(published=published)


def _with_account(notice: Notice) -> Notice:
    """The account is read from the job ARN, so the preview needs no call (and no permission) to find it."""
    parts = notice.job_arn.split(":")
    return replace(notice, account_id=parts[4]) if len(parts) > 4 and not notice.account_id else notice


class ObservedJobSource:
    """The Bedrock port over the notifier's own adapter, remembering the SDK error behind a failure to explain it."""

    def __init__(self, jobs: BedrockJobs) -> None:
        self.jobs = jobs
        self.failure: BaseException | None = None

    def list_pages(
        self,
        *,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        status: str | None = None,
    ) -> Iterator[list[JobSnapshot]]:
        pages = self.jobs.list_pages(submitted_after=submitted_after, submitted_before=submitted_before, status=status)
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except (BedrockUnavailable, ClientError) as error:
                self._note(error)
                raise
            yield page

    def limit_calls_to(self, time_left: Callable[[], float] | None) -> None:
        self.jobs.limit_calls_to(time_left)

    def server_time(self) -> datetime | None:
        return self.jobs.server_time()

    def get(self, job_arn: str) -> JobSnapshot | None:
        try:
            return self.jobs.get(job_arn)
        except (BedrockUnavailable, ClientError) as error:
            self._note(error)
            raise

    def _note(self, error: BaseException) -> None:
        self.failure = (error.__cause__ or error) if isinstance(error, BedrockUnavailable) else error


# --- running it --------------------------------------------------------------------------------------------------


@dataclass
class Preview:
    region: str
    settings: PollerSettings
    store: ReadOnlyJobStore
    publisher: PrintingPublisher
    bedrock: ObservedJobSource
    config: NotifierConfig = field(default_factory=NotifierConfig)
    config_sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def run(self) -> None:
        ends = time.monotonic() + RUN_BUDGET.total_seconds()
        poll = Poll(
            self.bedrock,
            self.store,
            self.publisher,
            self.settings,
            region=self.region,
            account_id="",
            deadline=Deadline(lambda: int((ends - time.monotonic()) * 1000), self.settings.time_reserve),
        )
        with quiet_logs() as logs:
            try:
                poll.run()
            finally:
                self.notes = [record.getMessage() for record in logs.take()]


def parse_since(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90m, 24h, 7d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.preview", description=__doc__.splitlines()[0])
    parser.add_argument("--region", help="default: your AWS_REGION / profile's region")
    parser.add_argument("--profile", help="default: AWS_PROFILE, or the default credentials chain")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the stack's configuration file (default: notifier.config.json, as a deploy reads it)",
    )
    parser.add_argument(
        "-c",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a configuration key for this run only, as cdk's -c (repeatable)",
    )
    parser.add_argument(
        "--since",
        type=parse_since,
        help="first-run lookback, as 90m, 24h, 7d (default: the configuration's baselineLookbackDays)",
    )
    parser.add_argument("--table", help="read the state of a deployed stack (its StateTableName output); read only")
    parser.add_argument(
        "--notify-first-run",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="what a first run does with the jobs it finds: send their messages, or (--no-notify-first-run) record "
        "a silent baseline (default: the configuration's notifyOnFirstRun, as the stack does: a silent baseline)",
    )
    parser.add_argument(
        "--slack-mode",
        choices=("webhook", "bot"),
        default="webhook",
        help="how to show the Slack messages: as an incoming webhook posts them (one per change; the default) or as "
        "a bot token does (the job's message updated in place, a reply in its thread); the secret's content decides",
    )
    parser.add_argument("--json", action="store_true", help="also print each SNS message (the JSON document)")
    parser.add_argument("--transitions-only", action="store_true", help="list the transitions, not the messages")
    return parser.parse_args(argv)


def caller_session(profile: str | None, region: str | None) -> boto3.Session:
    """The caller's own credentials and region: --profile / --region, else the SDK's usual chain."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except boto_errors.ProfileNotFound as error:
        raise PreviewError(f"{error}: check --profile / AWS_PROFILE") from None
    if session.region_name is None and os.environ.get("AWS_REGION"):
        # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what Lambda and the other SDKs set.
        session = boto3.Session(profile_name=profile, region_name=os.environ["AWS_REGION"])
    return session


def read_config(args: argparse.Namespace) -> tuple[NotifierConfig, list[str]]:
    """The stack's configuration as a deploy reads it: the file, then each -c on top; and where it came from."""
    overrides: dict[str, str] = {}
    for item in args.overrides:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise PreviewError(f"-c {item}: give a configuration key and its value, as -c notifyStatuses=Failed")
        overrides[key.strip()] = value
    config_file = ConfigFile(args.config, required=True) if args.config else ConfigFile(CONFIG_FILE, required=False)
    try:
        found = layers(overrides, config_file)
        config = NotifierConfig.from_layers(found)
    except ConfigError as error:
        raise PreviewError(f"configuration: {error}") from None
    sources = [f"-c {', '.join(sorted(keys))}" if where == "-c " else where.removesuffix(": ") for where, keys in found]
    return config, sources


def poller_settings(config: NotifierConfig, region: str) -> PollerSettings:
    """The poller's settings as the stack would set them from this configuration (its function environment)."""
    given = {
        str(STATE_TABLE.env): "preview",
        str(TOPIC_SETTING.env): f"arn:aws:sns:{region}:000000000000:preview",
    }
    return PollerSettings.from_env(function_environment(config, POLLER, given))


def build_preview(args: argparse.Namespace, session: boto3.Session) -> Preview:
    config, sources = read_config(args)
    region = session.region_name
    if not region:
        raise PreviewError("no AWS region: pass --region or set AWS_REGION (or a region in your profile)")
    try:
        bedrock = ObservedJobSource(BedrockJobs(session.client("bedrock", config=bedrock_config())))
        dynamodb = refuse_writes(session.client("dynamodb", config=dynamodb_config())) if args.table else None
    except boto_errors.InvalidRegionError:
        raise PreviewError(
            f"{region!r} is not an AWS region name (like us-east-1): check --region / AWS_REGION"
        ) from None
    # The poller's own settings from the configuration: what is published, and the first run, as deployed.
    try:
        settings = poller_settings(config, region)
    except ConfigurationError as error:
        raise PreviewError(str(error)) from None
    if args.since is not None:
        settings = replace(settings, baseline_lookback=args.since)
    if args.notify_first_run is not None:
        settings = replace(settings, notify_on_first_run=args.notify_first_run)
    store = ReadOnlyJobStore(StateStore(args.table, client=dynamodb) if args.table else None)
    return Preview(region, settings, store, PrintingPublisher(), bedrock, config, sources)


def explain(error: BaseException, preview: Preview, table: str | None) -> Problem | None:
    """What went wrong, in one line, for a problem the user can act on; None for anything else."""
    cause = preview.bedrock.failure if isinstance(error, BedrockUnavailable) else error.__cause__ or error
    service = "dynamodb" if isinstance(error, StateStoreError) else "bedrock"
    if isinstance(cause, boto_errors.NoCredentialsError | boto_errors.PartialCredentialsError):
        return Problem("no AWS credentials found: configure them with aws configure / AWS_PROFILE")
    if isinstance(cause, boto_errors.EndpointConnectionError | boto_errors.ConnectTimeoutError):
        if service == "dynamodb":
            return Problem(f"cannot reach DynamoDB in region {preview.region}: check --region against the table's")
        return Problem(
            f"cannot reach Bedrock in region {preview.region} ({type(cause).__name__}): Bedrock batch inference "
            "may not be offered there; pick another region with --region or AWS_REGION"
        )
    if isinstance(cause, boto_errors.UnknownEndpointError | boto_errors.EndpointResolutionError):
        return Problem(f"{service} has no endpoint in region {preview.region}: pick another region with --region")
    if isinstance(cause, ClientError):
        return _explain_client_error(cause, service, preview.region, table)
    if isinstance(error, BedrockUnavailable):
        return Problem(f"Bedrock did not answer in {preview.region}: {error}", exit_code=1)
    return None


def _explain_client_error(error: ClientError, service: str, region: str, table: str | None) -> Problem | None:
    code = error.response.get("Error", {}).get("Code", "")
    if code in _DENIED_CODES:
        needed = "bedrock:ListModelInvocationJobs and bedrock:GetModelInvocationJob"
        if table:
            needed += ", and dynamodb:GetItem, Query and BatchGetItem on the table"
        return Problem(
            f"permission denied: your credentials may not call {service}:{error.operation_name} ({code}); "
            f"the preview needs {needed}"
        )
    if code in _CREDENTIAL_CODES:
        return Problem(f"AWS rejected your credentials ({code}): refresh them (aws sso login, or new access keys)")
    if code == "UnknownOperationException":
        return Problem(
            f"Bedrock batch inference is not available in region {region}: pick another region with --region"
        )
    if code == "ResourceNotFoundException" and service == "dynamodb":
        return Problem(f"no state table {table!r} in {region}: pass the stack's StateTableName output to --table")
    if code in {"ThrottlingException", "ServiceUnavailableException", "InternalServerException"}:
        return Problem(f"{service} kept answering {code} after the SDK's retries: try again in a minute", exit_code=1)
    return None


# --- output ------------------------------------------------------------------------------------------------------


def report(preview: Preview, args: argparse.Namespace, out: TextIO) -> None:
    style = Style.for_stream(out)
    changes = preview.store.changes
    notices = preview.publisher.notices

    def say(*lines: str) -> None:
        print(*lines, sep="\n", file=out)

    settings = preview.settings
    where = f"state table {args.table}" if args.table else "no state table: as a fresh deployment"
    first_run = "messages for the jobs it finds" if settings.notify_on_first_run else "a silent baseline"
    asked = " (asked for on the command line)" if args.notify_first_run is not None else " (as the stack does)"
    if preview.store.first_run:
        where += f"; a first run looks back {_since(settings.baseline_lookback)} and records {first_run}{asked}"
    read = ", then ".join(preview.config_sources) or f"no {CONFIG_FILE.name}: the defaults"
    say(
        style.bold(f"Read-only preview of the Bedrock batch notifier · region {preview.region}"),
        style.dim(f"  configuration: {read} · stack {preview.config.stack_name}"),
        style.dim(f"  {where}"),
        style.dim("  nothing below was written or sent"),
        "",
    )
    if not changes:
        say("No status changes: the notifier would write nothing and send nothing.")
    else:
        rows = [
            [
                c.job.job_name,
                c.job.model_id,
                f"{c.previous_status or 'new'} → {c.job.status}",
                "would be published" if c.notice else style.dim(f"recorded silently ({_why_silent(c, preview)})"),
            ]
            for c in changes
        ]
        say(style.bold(f"{len(changes)} status change(s) the notifier would record"))
        say(*indent(table(["job", "model", "transition", "notice"], rows, style), "  "))
    destinations = route(preview.config, notices)
    say("", *_destination_lines(destinations, changes, preview, style))
    if notices and not args.transitions_only:
        for notice in notices:
            say("", *_notice_lines(notice, destinations, preview.config, args, style))
    for note in preview.notes:
        say(style.yellow(f"note: {note}"))
    say("", style.dim(f"DynamoDB writes skipped: {_skipped_writes(preview.store)}"))
    say(style.dim(f"SNS messages not published: {len(notices)} (the emails and Slack messages above come from them)"))
    if not notices and changes and not settings.notify_on_first_run and preview.store.first_run:
        say(
            style.dim(
                "A first deploy sends nothing for these jobs; --notify-first-run shows what it would send for them."
            )
        )


def _skipped_writes(store: ReadOnlyJobStore) -> str:
    parts = [
        f"{count} {kind}{'s' if count > 1 else ''}" for kind, count in store.skipped.items() if kind != "poll cursor"
    ]
    if store.cursor is not None:
        baseline = "baseline complete" if store.cursor.baseline_complete else "baseline not complete yet"
        parts.append(f"the poll cursor (watermark {isoformat(store.cursor.watermark) or 'none'}, {baseline})")
    return " · ".join(parts) or "none"


def _destination_lines(
    destinations: list[Destination], changes: list[Change], preview: Preview, style: Style
) -> list[str]:
    """Per destination: how many messages it would be sent and how many its filter drops, then each of them."""
    silent = [c for c in changes if c.notice is None and c.is_transition]
    lines = [style.bold("What each destination would receive")]
    for destination in destinations:
        label = f"{destination.kind:<6} {destination.name}"
        if destination.kind == TOPIC:
            counts = f"{plural(len(destination.sent), 'message')} published"
            if silent:
                counts += f" · {len(silent)} recorded without a message"
        elif not destination.receives_jobs:
            lines.append(f"  {label}: {style.dim(destination.note)}")
            continue
        else:
            counts = f"{plural(len(destination.sent), 'message')} sent · {len(destination.filtered)} filtered out"
        lines.append(f"  {style.bold(label)}  {style.dim('(' + _filter_text(destination) + ')')}  {counts}")
        if destination.kind == SLACK and destination.note:
            lines.append(f"      {style.dim(destination.note)}")
        lines += [f"      {style.green('sent')}      {_notice_text(n)}" for n in destination.sent]
        if destination.kind == TOPIC:
            lines += [
                f"      {style.dim('not sent')}  {_change_text(c.job.job_name, c.previous_status, c.job.status)} "
                + style.dim(f"({_why_silent(c, preview)})")
                for c in silent
            ]
        lines += [
            f"      {style.dim('filtered')}  {_notice_text(n)} {style.dim('(' + n.status + ' is not in its filter)')}"
            for n in destination.filtered
        ]
    return lines


def _not_sent_to_slack(destinations: list[Destination], notice: Notice) -> str:
    if recipients(destinations, notice, SLACK):
        return ""
    if not any(d.kind == SLACK and d.receives_jobs for d in destinations):
        return " (not sent: slack is off)"
    return f" (not sent: {notice.status} is not in slackStatuses)"


def _filter_text(destination: Destination) -> str:
    if destination.kind == TOPIC:
        return destination.note
    if destination.statuses is None:
        return "every published status"
    return ", ".join(sorted(destination.statuses))


def _change_text(job_name: str, previous_status: str | None, status: str) -> str:
    return f"{job_name}: {previous_status or 'new'} → {status}"


def _notice_text(notice: Notice) -> str:
    return _change_text(notice.job_name, notice.previous_status, notice.status)


def _slack_lines(notice: Notice, config: NotifierConfig, mode: str, style: Style) -> list[str]:
    """The Slack message(s) of one notice in the mode asked for, as notifier.slack's delivery modes post them."""
    if mode == "webhook":
        slack = transition_message(notice)
        return [f"  {style.dim('(webhook: one message per change)')}", *_rendered(slack.text, slack.attachments, style)]
    parent, reply = job_summary_message(notice), thread_reply_message(notice)
    first = notice.previous_status is None  # the job's first message: posted, not updated
    posted = "posted" if first else "updated in place"
    heading = f"(bot token: the job's message, {posted})"
    lines = [f"  {style.dim(heading)}", *_rendered(parent.text, parent.attachments, style)]
    if first:  # as the bot mode does: the job's first message is the notice; no thread reply repeats it
        return lines
    # A later notice's reply is also sent to the channel for these statuses.
    also = ", also sent to the channel" if notice.status in config.slack_broadcast_statuses else ""
    return [*lines, f"  {style.dim(f'(its thread: a reply{also})')}", *_rendered(reply.text, reply.attachments, style)]


def _rendered(text: str, attachments: list[dict[str, Any]], style: Style) -> list[str]:
    return indent(message_lines(text, attachments, None, style), "    ")


def _notice_lines(
    notice: Notice, destinations: list[Destination], config: NotifierConfig, args: argparse.Namespace, style: Style
) -> list[str]:
    with_json = args.json
    change = f"{notice.previous_status or 'new'} → {notice.status}"
    lines = [style.bold(f"▸ {notice.job_name}: {change}") + style.dim(f"  ({notice.model_id})")]
    lines += [
        f"  {style.dim('Slack' + _not_sent_to_slack(destinations, notice))}",
        *_slack_lines(notice, config, args.slack_mode, style),
    ]
    addresses = [d.name for d in recipients(destinations, notice, EMAIL)]
    heading = "Email" if addresses else f"Email (not sent: no configured address receives {notice.status})"
    lines += [f"  {style.dim(heading)}", *indent(email_lines(notice, ", ".join(addresses) or "-", style), "    ")]
    if with_json:
        document = json.loads(json.loads(sns_message(notice))["default"])
        lines += [
            f"  {style.dim('SNS message (default key)')}",
            *indent(json.dumps(document, indent=2).splitlines(), "    "),
        ]
    return lines


def _why_silent(change: Change, preview: Preview) -> str:
    settings = preview.settings
    rule = NotifyRule(settings.notify_statuses, settings.job_name_patterns, settings.model_id_patterns)
    if not rule.wants(change.job):
        if not NotifyRule(settings.notify_statuses).wants(change.job):
            return "not in notifyStatuses"
        if not NotifyRule(settings.notify_statuses, settings.job_name_patterns).wants(change.job):
            return "name not in jobNamePatterns"
        return "model not in modelIdPatterns"
    return "first-run baseline"


def _since(since: timedelta) -> str:
    hours = since.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    args = parse_args(argv)
    preview: Preview | None = None
    try:
        preview = build_preview(args, session or caller_session(args.profile, args.region))
        preview.run()
    except PreviewError as error:
        print(f"error: {error}", file=sys.stderr)
        return USER_ERROR
    except (BedrockUnavailable, StateStoreError, ClientError, boto_errors.BotoCoreError) as error:
        problem = explain(error, preview, args.table) if preview is not None else None
        if problem is None:
            raise
        print(f"error: {problem.message}", file=sys.stderr)
        return problem.exit_code
    report(preview, args, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
