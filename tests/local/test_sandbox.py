"""`make demo` in the suite: the whole scenario, shortened, and what its summary must prove."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.sandbox import DemoSummary, Options, run
from local.sandbox_scenario import FAST_ROUNDS, expected_terminal_statuses

REPO = Path(__file__).resolve().parents[2]


SERVER_THREADS = ("bedrock-emulator", "slack-standin", "_server_entry")  # the emulator, the stand-in, moto


@dataclass
class Demo:
    summary: DemoSummary
    output: str
    environment_before: dict[str, str]
    servers_left: list[str]  # server threads the run started that are still alive


@pytest.fixture(scope="module")
def demo() -> Demo:
    """One shortened run in this process."""
    environment_before = dict(os.environ)
    threads_before = set(threading.enumerate())
    out = io.StringIO()
    summary = run(Options(rounds=FAST_ROUNDS), out)
    started = [thread for thread in threading.enumerate() if thread not in threads_before]
    servers_left = [thread.name for thread in started if any(name in thread.name for name in SERVER_THREADS)]
    return Demo(summary, out.getvalue(), environment_before, servers_left)


def test_every_terminal_status_set_in_the_scenario_reached_sns_and_slack(demo):
    summary = demo.summary

    jobs = {job.name: job for job in summary.jobs}
    expected = expected_terminal_statuses()
    assert len(expected) == 7
    for job in summary.jobs:
        if job.expected is None:
            continue
        assert job.expected in job.sns, job.name
        assert job.expected in job.slack, job.name
    assert jobs["legal-review-llama"].expected == "Stopped"
    assert jobs["weekly-translation-mistral"].sns == ["Expired"]
    assert jobs["q3-archive-embeddings"].sns == ["Completed"]  # submitted days before the watermark, still followed
    assert summary.nothing_lost


def test_a_job_that_finished_before_the_deploy_is_a_silent_baseline(demo):
    summary = demo.summary

    [digest] = [job for job in summary.jobs if job.name == "daily-digest-summaries"]

    assert digest.expected is None
    assert digest.sns == []
    assert digest.slack == []


def test_the_throttled_list_call_and_the_slack_429_were_retried(demo):
    summary, output = demo.summary, demo.output

    assert summary.throttled_calls_retried == 1
    assert summary.slack_rate_limited == 1
    assert summary.slack_redelivered >= 1
    assert "ListModelInvocationJobs answered ThrottlingException" in output
    assert "rate limited by Slack (HTTP 429)" in output
    assert "handed back to SQS (batchItemFailures)" in output


def test_nothing_is_left_in_the_slack_queue_its_dlq_or_the_outbox(demo):
    summary = demo.summary

    assert summary.slack_queue_left == 0
    assert summary.slack_dlq_left == 0
    assert summary.unpublished_left == 0
    assert summary.notices_published == summary.emails == summary.slack_replies == 11


def test_the_output_shows_what_people_see_and_no_log_lines(demo):
    output = demo.output

    assert "Subject: Bedrock batch job PartiallyCompleted: support-tickets-haiku" in output
    assert "Message:    Validation failed: 3 records" in output  # the email body
    assert "message updated in place, reply in thread" in output
    assert "↳ ┃ ⚠️ InProgress → PartiallyCompleted" in output  # the thread reply, also sent to the channel
    assert "Nothing lost" not in output  # the verdict is main's, after the run
    assert '"level":' not in output  # no Powertools JSON log lines
    assert '"_aws"' not in output  # no EMF metric lines
    assert "HTTP/1.1" not in output  # no request logs


def test_the_run_leaves_the_environment_and_no_server_behind(demo):
    ignored = {"PYTEST_CURRENT_TEST"}  # pytest's own, changing with each test
    assert {k: v for k, v in os.environ.items() if k not in ignored} == {
        k: v for k, v in demo.environment_before.items() if k not in ignored
    }
    assert demo.servers_left == []


def test_make_demo_runs_as_a_command_with_json_and_an_html_preview(tmp_path):
    page = tmp_path / "demo-preview.html"
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}

    finished = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "local.sandbox", "--fast", "--json", "--html", str(page)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr
    assert finished.stderr == ""
    assert "Nothing lost: every terminal status set in the scenario reached SNS (email) and Slack." in finished.stdout
    assert '"schemaVersion": "1"' in finished.stdout  # --json
    html = page.read_text(encoding="utf-8")
    assert "Bedrock batch job Expired: weekly-translation-mistral" in html
    assert "product-descriptions-nova" in html
