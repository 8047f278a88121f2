"""`python -m local.preview` against the Bedrock emulator and moto, with every write forbidden."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import boto3
import pytest

from local import preview
from local.bedrock_emulator import LIST
from tests.fixtures.aws import REGION, free_port

WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "Publish", "PublishBatch"}
)
NO_CREDENTIALS = "error: no AWS credentials found: configure them with aws configure / AWS_PROFILE"


class GuardedSession:
    """A boto3 session whose clients fail the test on any write, and remember every call they made."""

    def __init__(self, region: str = REGION) -> None:
        self.session = boto3.Session(region_name=region)
        self.calls: list[str] = []
        self.session.events.register("before-call", self._before_call)

    def _before_call(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        if model.name in WRITES:
            pytest.fail(f"the preview called {model.name}")


@pytest.fixture
def guarded(bedrock) -> GuardedSession:
    return GuardedSession()


@pytest.fixture
def configured(tmp_path):
    """A configuration file of the test's own, so the developer's notifier.config.json never counts."""

    def write(keys: dict[str, Any] | None = None) -> list[str]:
        path = tmp_path / "notifier.config.json"
        path.write_text(json.dumps(keys or {}), encoding="utf-8")
        return ["--config", str(path)]

    return write


TEAM = {
    "emails": ["team@example.com", {"address": "oncall@example.com", "statuses": ["Failed", "Expired"]}],
    "opsEmails": ["ops@example.com"],
    "slack": True,
    "slackStatuses": ["InProgress", "Failed"],
}


def destination_block(out: str, heading: str) -> str:
    """The lines of one destination in the preview's per-destination section."""
    start = out.index(heading)
    end = re.search(r"\n  \S|\n\n", out[start + 1 :])
    return out[start : start + 1 + end.start()] if end else out[start:]


def jobs_of_a_busy_day(bedrock) -> dict[str, str]:
    now = bedrock.now()
    done = bedrock.create_job("nightly-eval", submit_time=now - timedelta(hours=5), totalRecordCount=100)
    bedrock.set_status(done, "Completed", records={"total": 100, "processed": 100, "success": 100, "error": 0})
    failed = bedrock.create_job(
        "catalog-embeddings", "amazon.titan-embed-text-v2:0", submit_time=now - timedelta(hours=2)
    )
    bedrock.set_status(failed, "Failed", message="Input file is not valid JSONL (line 12)")
    running = bedrock.create_job("support-summaries", submit_time=now - timedelta(hours=1), status="InProgress")
    queued = bedrock.create_job("fresh-submission", submit_time=now - timedelta(minutes=5))
    old = bedrock.create_job("last-week", submit_time=now - timedelta(days=3), status="Completed")
    return {"done": done, "failed": failed, "running": running, "queued": queued, "old": old}


def test_a_fresh_deployment_preview_lists_the_transitions_and_messages_and_writes_nothing(
    bedrock, guarded, configured, capsys
):
    jobs_of_a_busy_day(bedrock)

    code = preview.main(["--since", "24h", "--notify-first-run", *configured()], session=guarded.session)

    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    # The transitions, with what is published and what only recorded
    assert "4 status change(s) the notifier would record" in out
    assert "nightly-eval        anthropic.claude-3-haiku-20240307-v1:0  new → Completed" in out
    assert "catalog-embeddings  amazon.titan-embed-text-v2:0            new → Failed" in out
    assert "new → InProgress" in out
    assert "new → Submitted   recorded silently (not in notifyStatuses)" in out
    assert "last-week" not in out  # submitted before --since
    # The messages it would send: Slack and email, rendered from the same notices
    assert "Subject: [CRITICAL] Bedrock batch job Failed: catalog-embeddings" in out
    assert "Message:    Input file is not valid JSONL (line 12)" in out  # email body
    assert "┃ ❌ catalog-embeddings" in out  # Slack header block
    assert "Account:    123456789012 (us-east-1)" in out  # read from the job ARN
    # What was skipped
    assert "DynamoDB writes skipped: 4 job states · 3 published-notice clears · the poll cursor" in out
    assert "SNS messages not published: 3" in out
    # No table: only Bedrock was called, and only to read
    assert set(guarded.calls) == {LIST}


def test_with_the_deployed_table_only_what_changed_since_the_last_poll_shows(harness, guarded, configured, capsys):
    # Given a deployed notifier that has polled once (a silent baseline) and published what followed
    jobs = jobs_of_a_busy_day(harness.bedrock)
    harness.poll()
    harness.bedrock.set_status(jobs["queued"], "InProgress")
    harness.poll()
    assert harness.transitions() == [("fresh-submission", "Submitted", "InProgress")]
    # When a job finishes and the preview reads the stack's table
    harness.bedrock.set_status(jobs["running"], "Completed")
    table_before = harness.table_items()

    code = preview.main(["--table", harness.table, *configured()], session=guarded.session)

    # Then it shows that one change, and the table and topic are as they were
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "1 status change(s) the notifier would record" in out
    assert (
        "support-summaries  anthropic.claude-3-haiku-20240307-v1:0  InProgress → Completed  would be published" in out
    )
    assert "Subject: Bedrock batch job Completed: support-summaries" in out
    assert "fresh-submission" not in out
    assert harness.table_items() == table_before
    assert harness.transitions() == [("fresh-submission", "Submitted", "InProgress")]  # nothing new on the topic
    assert {"GetItem", "Query"} <= set(guarded.calls)
    assert not WRITES & set(guarded.calls)


def test_json_prints_each_sns_document(bedrock, guarded, configured, capsys):
    failed = bedrock.create_job("catalog-embeddings", submit_time=bedrock.now() - timedelta(hours=1))
    bedrock.set_status(failed, "Failed", message="bad input")

    assert preview.main(["--json", "--notify-first-run", *configured()], session=guarded.session) == 0

    out = capsys.readouterr().out
    start = out.index("SNS message (default key)")
    document = json.loads(out[out.index("{", start) : out.index("\n    }", start) + 6])
    assert document["schemaVersion"] == "1"
    assert (document["jobArn"], document["status"], document["previousStatus"]) == (failed, "Failed", None)
    assert document["message"] == "bad input"


def test_by_default_a_first_run_is_the_silent_baseline_the_stack_records(bedrock, guarded, configured, capsys):
    jobs_of_a_busy_day(bedrock)

    assert preview.main(configured(TEAM), session=guarded.session) == 0

    out = capsys.readouterr().out
    assert "a first run looks back 8 days and records a silent baseline (as the stack does)" in out
    assert "5 status change(s) the notifier would record" in out  # baselineLookbackDays=8 reaches last week's job
    assert "recorded silently (first-run baseline)" in out
    assert "Subject:" not in out
    assert "SNS messages not published: 0" in out
    assert "--notify-first-run shows what it would send for them" in out
    assert "email  team@example.com  (Completed, Expired, Failed, PartiallyCompleted, Stopped)  0 messages sent" in out


def test_the_first_run_follows_the_configuration_unless_asked_otherwise(bedrock, guarded, configured, capsys):
    jobs_of_a_busy_day(bedrock)
    config = configured({"notifyOnFirstRun": True, "baselineLookbackDays": 1})

    assert preview.main(config, session=guarded.session) == 0
    told = capsys.readouterr().out
    assert preview.main([*config, "--no-notify-first-run", "--since", "2h"], session=guarded.session) == 0
    asked = capsys.readouterr().out

    assert "looks back 24 hours and records messages for the jobs it finds (as the stack does)" in told
    assert "Subject: [CRITICAL] Bedrock batch job Failed: catalog-embeddings" in told
    assert "last-week" not in told  # 1 day back
    assert "looks back 2 hours and records a silent baseline (asked for on the command line)" in asked
    assert "Subject:" not in asked
    assert "nightly-eval" not in asked  # submitted 5 hours ago


def test_each_destination_shows_what_it_would_be_sent_and_what_its_filter_drops(bedrock, guarded, configured, capsys):
    # Given a day of jobs: Completed, Failed, InProgress, Submitted (not published by default)
    jobs_of_a_busy_day(bedrock)

    code = preview.main(["--since", "24h", "--notify-first-run", *configured(TEAM)], session=guarded.session)

    out, err = capsys.readouterr()
    assert code == 0, err
    topic = destination_block(out, "  topic  JSON for subscribers of your own  (no filter: every published message)")
    assert "3 messages published · 1 recorded without a message" in topic
    assert "not sent  fresh-submission: new → Submitted (not in notifyStatuses)" in topic
    team = destination_block(out, "  email  team@example.com")
    assert "(Completed, Expired, Failed, PartiallyCompleted, Stopped)  2 messages sent · 1 filtered out" in team
    assert "sent      nightly-eval: new → Completed" in team
    assert "sent      catalog-embeddings: new → Failed" in team
    assert "filtered  support-summaries: new → InProgress (InProgress is not in its filter)" in team
    oncall = destination_block(out, "  email  oncall@example.com")
    assert "(Expired, Failed)  1 message sent · 2 filtered out" in oncall
    assert "sent      catalog-embeddings: new → Failed" in oncall
    slack = destination_block(out, "  slack  the Slack channel of the secret")
    assert "(Failed, InProgress)  2 messages sent · 1 filtered out" in slack
    assert "filtered  nightly-eval: new → Completed" in slack
    assert "  ops    ops@example.com: alarms only, never a job's message" in out
    # Each message says who gets it
    assert (
        "To: team@example.com, oncall@example.com   Subject: [CRITICAL] Bedrock batch job Failed: catalog-embeddings"
        in out
    )
    assert "To: team@example.com   Subject: Bedrock batch job Completed: nightly-eval" in out
    assert "Email (not sent: no configured address receives InProgress)" in out
    assert "Slack (not sent: Completed is not in slackStatuses)" in out


def test_the_configuration_decides_what_is_published_and_c_overrides_it(bedrock, guarded, configured, capsys):
    jobs_of_a_busy_day(bedrock)
    config = configured({"notifyStatuses": ["Completed", "Failed"], "jobNamePatterns": ["*-eval", "catalog-*"]})

    argv = [*config, "-c", "modelIdPatterns=anthropic.*", "--notify-first-run", "--since", "24h"]

    code = preview.main(argv, session=guarded.session)

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "configuration: " in out
    assert "notifier.config.json, then -c modelIdPatterns" in out
    assert "nightly-eval: new → Completed" in destination_block(out, "  topic ")
    assert "1 message published · 3 recorded without a message" in out
    assert "catalog-embeddings: new → Failed (model not in modelIdPatterns)" in out
    assert "support-summaries: new → InProgress (not in notifyStatuses)" in out
    assert "  email  none: no emails in the configuration" in out
    assert "  slack  off: slack is false in the configuration" in out


def test_a_bad_configuration_is_one_line_and_exit_code_2(bedrock, guarded, configured, capsys):
    code = preview.main([*configured({"notifyStatuses": ["Done"]})], session=guarded.session)

    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("error: configuration: ")
    assert "notifyStatuses" in err
    assert "has unknown status Done" in err
    assert err.count("\n") == 1
    assert guarded.calls == []  # nothing asked of AWS before the configuration is read


def test_a_missing_named_configuration_file_is_an_error(bedrock, guarded, tmp_path, capsys):
    code = preview.main(["--config", str(tmp_path / "nope.json")], session=guarded.session)

    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_no_credentials_is_one_line_and_exit_code_2(bedrock, configured, monkeypatch, tmp_path, capsys):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code = preview.main(configured())

    out, err = capsys.readouterr()
    assert code == 2
    assert err == NO_CREDENTIALS + "\n"
    assert out == ""
    assert bedrock.calls[LIST] == 0  # an unsigned request is never sent


def test_access_denied_names_the_missing_action(bedrock, guarded, configured, capsys):
    bedrock.fail_next(
        LIST,
        code="AccessDeniedException",
        message="User: arn:aws:iam::123456789012:user/dev is not authorized to perform: bedrock:ListModelInvocationJobs",
    )

    code = preview.main(configured(), session=guarded.session)

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: permission denied: your credentials may not call bedrock:ListModelInvocationJobs")
    assert "Traceback" not in err


def test_a_region_without_a_bedrock_endpoint_is_named(bedrock, configured, monkeypatch, capsys):
    closed = free_port()  # nothing listens there: as a region where Bedrock's endpoint does not resolve
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    code = preview.main(["--region", "eu-south-9", *configured()])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: cannot reach Bedrock in region eu-south-9 (EndpointConnectionError)")


@pytest.mark.parametrize(
    ("argv", "unset", "message"),
    [
        (["--region", "not_a_region"], (), "error: 'not_a_region' is not an AWS region name"),
        ([], ("AWS_REGION", "AWS_DEFAULT_REGION"), "error: no AWS region: pass --region or set AWS_REGION"),
        (["--profile", "no-such-profile"], (), "error: The config profile (no-such-profile) could not be found"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(
    bedrock, configured, monkeypatch, tmp_path, capsys, argv, unset, message
):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in unset:
        monkeypatch.delenv(name, raising=False)

    code = preview.main([*argv, *configured()])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_slack_mode_bot_shows_the_jobs_message_and_its_thread_reply(harness, guarded, configured, capsys):
    # Given a deployed notifier that follows a running job, which then fails
    jobs = jobs_of_a_busy_day(harness.bedrock)
    harness.poll()
    harness.bedrock.set_status(jobs["running"], "Failed", message="model error")
    argv = ["--table", harness.table, *configured({"slack": True})]

    assert preview.main([*argv, "--slack-mode", "bot"], session=guarded.session) == 0
    bot = capsys.readouterr().out
    assert preview.main(argv, session=guarded.session) == 0
    webhook = capsys.readouterr().out

    # Then bot mode shows the job's message updated in place and a reply, sent to the channel (a Failed job)
    assert "(bot token: the job's message, updated in place)" in bot
    assert "┃ Status  Failed (was InProgress)" in bot  # the parent: the current status
    assert "(its thread: a reply, also sent to the channel)" in bot
    assert "┃ ❌ InProgress → Failed · records:" in bot  # the reply: one line of history
    assert "(webhook: one message per change)" in webhook
    assert "┃ Status  InProgress → Failed" in webhook
    assert "history in its thread (--slack-mode shows either)" in webhook
