"""`make demo` in the suite: the whole scenario, shortened, and what its summary must prove."""

from __future__ import annotations

import io
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.sandbox import DemoSummary, Options, run, summary_totals
from local.sandbox_scenario import FAST_ROUNDS, expected_terminal_statuses
from tests.local import headless

REPO = Path(__file__).resolve().parents[2]
# One worker runs the module, so each run of the demo below (a module fixture) happens once under xdist.
pytestmark = pytest.mark.xdist_group("sandbox")


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


@pytest.fixture(scope="module")
def webhook_demo() -> Demo:
    """One shortened run with a webhook secret, every message in full."""
    out = io.StringIO()
    summary = run(Options(rounds=FAST_ROUNDS, slack_mode="webhook", verbose=True), out)
    return Demo(summary, out.getvalue(), {}, [])


@dataclass
class Command:
    finished: subprocess.CompletedProcess[str]
    page: Path
    workdir: Path


@pytest.fixture(scope="module")
def make_demo(tmp_path_factory) -> Command:
    """`make demo` with options passed through ARGS, as the README shows it, writing the HTML preview."""
    workdir = tmp_path_factory.mktemp("make-demo")
    page = workdir / "demo-preview.html"
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    finished = subprocess.run(  # noqa: S603 - a fixed command line
        ["make", "--no-print-directory", "demo", f"ARGS=--fast --json --html {page}"],  # noqa: S607 - make on PATH
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Command(finished, page, workdir)


def test_every_terminal_status_set_in_the_scenario_reached_sns_and_slack(demo):
    summary = demo.summary

    jobs = {job.name: job for job in summary.jobs}
    expected = expected_terminal_statuses()
    assert len(expected) == 8
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


def test_a_completed_job_whose_every_record_failed_reads_as_a_failure_in_email_and_slack(webhook_demo):
    summary, output = webhook_demo.summary, webhook_demo.output

    [faq] = [job for job in summary.jobs if job.name == "faq-answers-nova-lite"]

    assert faq.sns == ["InProgress", "Completed"]
    assert faq.outcome == "failed (critical)"
    assert "Subject: [CRITICAL] Bedrock batch job Completed, every record failed: faq-answers-nova-lite" in output
    assert "Error rate: 100% of processed records failed" in output  # --verbose: its email in full
    assert "┃ ❌ faq-answers-nova-lite" in output  # the card's header: red, not a tick
    assert "┃ ✅ faq-answers-nova-lite" not in output


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
    assert summary.slack_messages == summary.slack_parents == 8  # one message per job in bot mode
    # Each job's first notice is its message; each later one a thread reply
    assert summary.notices_published == summary.slack_parents + summary.slack_replies == 13


def test_email_gets_the_terminal_statuses_as_the_default_email_filter_says(demo):
    summary = demo.summary

    assert summary.emails == 8
    for job in summary.jobs:
        assert job.email == ([job.expected] if job.expected else []), job.name
    assert "InProgress" in {status for job in summary.jobs for status in job.slack}  # Slack has every status


def test_one_email_and_one_slack_message_in_full_then_a_line_for_each(demo):
    output, summary = demo.output, demo.summary

    assert output.count("│ Bedrock batch inference job '") == 1  # one email body
    assert "Message:    Validation failed: 3 records" in output  # the first email: the failed job's
    assert output.count("#C0123456789 · bot message") == 1  # one Slack card
    assert "thread: 1 reply" in output
    assert "1 replies" not in output
    email_lines = re.findall(r"^  email    To: ml-team@example\.com   Subject: (.+)$", output, re.MULTILINE)
    assert len(email_lines) == summary.emails
    assert (
        "[WARNING] Bedrock batch job PartiallyCompleted, 2.58% of records failed: support-tickets-haiku" in email_lines
    )
    slack_lines = re.findall(
        r"^  slack    (?:new message|message updated in place, reply in thread)(.*)$", output, re.M
    )
    assert len(slack_lines) == summary.slack_messages + summary.slack_updates  # each change, one line or in full
    assert any(
        "⚠️ Bedrock batch job support-tickets-haiku is PartiallyCompleted: 2.58% of records failed · thread: 1 reply"
        in line
        for line in slack_lines
    )


def test_webhook_mode_posts_one_message_per_status_change_and_verbose_shows_each(webhook_demo):
    summary, output = webhook_demo.summary, webhook_demo.output

    assert summary.nothing_lost
    assert summary.slack_mode == "webhook"
    assert summary.slack_messages == summary.notices_published == 13
    assert (summary.slack_parents, summary.slack_updates, summary.slack_replies) == (0, 0, 0)
    for job in summary.jobs:  # matched to the notices content for content, not by position
        assert sorted(job.slack) == sorted(job.sns), job.name
    assert summary.slack_rate_limited == 1  # the 429 hits the webhook post too
    assert output.count("#C0123456789 · webhook message") == 13  # --verbose: every message in full
    assert output.count("│ Bedrock batch inference job '") == summary.emails == 8
    assert "Slack (webhook): 13 messages, one per status change" in summary_totals(summary)


def test_the_output_shows_no_log_lines(demo):
    output = demo.output

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


def test_make_demo_passes_its_options_through_and_writes_the_html_preview(make_demo):
    finished = make_demo.finished

    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr
    assert finished.stderr == ""
    assert "Nothing lost: every terminal status set in the scenario reached SNS, email and Slack." in finished.stdout
    assert "── poll 7/7 " in finished.stdout  # --fast
    assert '"schemaVersion": "1"' in finished.stdout  # --json
    assert f"preview written to {make_demo.page}" in finished.stdout
    html = make_demo.page.read_text(encoding="utf-8")
    assert "[CRITICAL] Bedrock batch job Expired: weekly-translation-mistral" in html
    assert "product-descriptions-nova" in html


def test_the_html_preview_counts_replies_in_words_and_heads_every_summary_column(make_demo):
    html = make_demo.page.read_text(encoding="utf-8")

    assert '<div class="meta">1 reply</div>' in html
    assert "1 replies" not in html
    headers = re.findall(r"<th>([^<]*)</th>", html)
    assert headers == ["job", "Bedrock statuses", "published on SNS", "outcome", "email", "Slack thread", "verdict"]
    rows = re.findall(r"<tr>((?:<td[^>]*>[^<]*</td>)+)</tr>", html)
    assert len(rows) == 9
    assert all(row.count("<td") == len(headers) for row in rows)


# Measured by the browser on the laid-out page: the layout and the words a reader sees.
LAYOUT = """(() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top}; };
  const table = document.querySelector('#summary table');
  return {
    title: document.title,
    slack: box(document.getElementById('slack')),
    email: box(document.getElementById('email')),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    headers: [...table.querySelectorAll('thead th')].map((th) => th.innerText.trim()),
    headerWidths: [...table.querySelectorAll('thead th')].map((th) => th.getBoundingClientRect().width),
    rowCells: [...table.querySelectorAll('tbody tr')].map((tr) => tr.cells.length),
    threads: [...document.querySelectorAll('.thread')].map((t) => ({
      label: t.querySelector('.meta').innerText.trim(), replies: t.querySelectorAll('.reply').length})),
    bars: [...document.querySelectorAll('.attachment')].map((a) => getComputedStyle(a).borderLeftColor),
    emails: document.querySelectorAll('.email').length,
  };
})()"""


@pytest.mark.skipif(headless.skip_reason() is not None, reason=str(headless.skip_reason()))
def test_the_html_preview_in_a_headless_browser(make_demo):
    assert make_demo.finished.returncode == 0, make_demo.finished.stderr

    found = headless.measure(make_demo.page, LAYOUT, make_demo.workdir)

    assert found["title"] == "Bedrock batch notifier: sandbox preview"
    assert found["slack"]["right"] <= found["email"]["left"]  # the channel and the emails side by side
    assert found["slack"]["top"] == found["email"]["top"]
    assert found["overflow"] <= 0  # nothing wider than the window
    assert found["headers"] == [
        "job",
        "Bedrock statuses",
        "published on SNS",
        "outcome",
        "email",
        "Slack thread",
        "verdict",
    ]
    assert all(width > 0 for width in found["headerWidths"])
    assert found["rowCells"] == [len(found["headers"])] * 9
    assert found["threads"], "no Slack thread rendered"
    for thread in found["threads"]:
        count = thread["replies"]
        assert thread["label"] == (f"{count} reply" if count == 1 else f"{count} replies")
    assert 1 in {thread["replies"] for thread in found["threads"]}
    assert "rgb(221, 221, 221)" not in found["bars"]  # every card has its status colour, none the default grey
    assert found["emails"] == 8
