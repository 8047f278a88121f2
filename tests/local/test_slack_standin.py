"""The Slack stand-in answers as Slack does, over real HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from local.slack_standin import DEFAULT_CHANNEL, DEFAULT_TOKEN, DEFAULT_WEBHOOK_PATH, SlackStandIn


def post(url: str, body: bytes | str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def api(standin: SlackStandIn, method: str, token: str | None = DEFAULT_TOKEN, **body: Any) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, _, text = post(standin.api_url + method, json.dumps(body), headers)
    assert status == 200  # Slack answers errors with HTTP 200 and ok: false
    return dict(json.loads(text))


@pytest.fixture
def client(slack_standin: SlackStandIn) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=slack_standin.api_url, retry_handlers=[])


def test_post_update_and_reply_read_back_as_slack_shows_them(slack_standin, client):
    posted = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="first")
    assert posted["ok"]
    assert posted["channel"] == DEFAULT_CHANNEL
    assert posted["ts"] == "1700000000.000100"
    assert posted["message"]["text"] == "first"

    client.chat_update(channel=DEFAULT_CHANNEL, ts=posted["ts"], text="first, updated")
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="in thread", thread_ts=posted["ts"])
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="shouted", thread_ts=posted["ts"], reply_broadcast=True)

    parent, broadcast = slack_standin.channel_messages()
    assert (parent.text, parent.edits) == ("first, updated", 1)
    assert [reply.text for reply in parent.replies] == ["in thread", "shouted"]
    assert broadcast.text == "shouted"
    assert broadcast.reply_broadcast


def test_form_bodies_and_token_in_the_body_are_accepted(slack_standin):
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}])
    form = urllib.parse.urlencode({"token": DEFAULT_TOKEN, "channel": DEFAULT_CHANNEL, "text": "hi", "blocks": blocks})

    status, _, text = post(
        slack_standin.api_url + "chat.postMessage", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert status == 200
    assert json.loads(text)["ok"]
    assert slack_standin.channel_messages()[0].blocks[0]["type"] == "section"
    assert slack_standin.requests[-1].body["channel"] == DEFAULT_CHANNEL


@pytest.mark.parametrize(
    ("token", "channel", "error"),
    [
        (None, DEFAULT_CHANNEL, "not_authed"),
        ("xoxb-unknown", DEFAULT_CHANNEL, "invalid_auth"),
        (DEFAULT_TOKEN, "C9999999999", "channel_not_found"),
    ],
)
def test_auth_and_channel_errors(slack_standin, token, channel, error):
    assert api(slack_standin, "chat.postMessage", token=token, channel=channel, text="x") == {
        "ok": False,
        "error": error,
    }


def test_revoked_tokens_archived_channels_and_missing_membership(slack_standin):
    slack_standin.add_channel("C1111111111", archived=True)
    slack_standin.add_channel("C2222222222", member=False)

    assert api(slack_standin, "chat.postMessage", channel="C1111111111", text="x")["error"] == "is_archived"
    assert api(slack_standin, "chat.postMessage", channel="C2222222222", text="x")["error"] == "not_in_channel"
    slack_standin.revoke_token(DEFAULT_TOKEN)
    assert api(slack_standin, "chat.postMessage", channel=DEFAULT_CHANNEL, text="x")["error"] == "token_revoked"


def test_updating_an_unknown_message(slack_standin):
    assert (
        api(slack_standin, "chat.update", channel=DEFAULT_CHANNEL, ts="1.2", text="x")["error"] == "message_not_found"
    )


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str) -> dict[str, Any]:
    return {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": label}}]}


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"text": "x", "blocks": [section("a")] * 51}, "invalid_blocks"),
        ({"text": "x", "blocks": [section("a" * 3001)]}, "invalid_blocks"),
        (
            {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
            "invalid_blocks",
        ),
        ({"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}, "invalid_blocks"),
        ({"text": "x", "blocks": [button("b" * 76)]}, "invalid_blocks"),
        ({"text": "x", "attachments": [{"color": "#000000", "blocks": [section("a" * 3001)]}]}, "invalid_blocks"),
        ({"text": "x", "blocks": [{"type": "carousel"}]}, "invalid_blocks"),
        ({"blocks": [section("a")]}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
    ],
)
def test_over_limit_payloads_are_refused_as_slack_would(slack_standin, payload, error):
    response = api(slack_standin, "chat.postMessage", channel=DEFAULT_CHANNEL, **payload)

    assert response["ok"] is False
    assert response["error"] == error
    assert slack_standin.channel_messages() == []


def test_payloads_at_the_limits_are_accepted(slack_standin):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("a" * 3000),
        button("b" * 75),
        *[section("x")] * 47,
    ]

    assert api(slack_standin, "chat.postMessage", channel=DEFAULT_CHANNEL, text="x", blocks=blocks)["ok"]


def test_incoming_webhooks_answer_as_slack_does(slack_standin):
    url = slack_standin.webhook_url()
    json_headers = {"Content-Type": "application/json"}

    assert post(url, json.dumps({"text": "hello"}), json_headers)[::2] == (200, "ok")
    assert post(url, "{not json", json_headers)[::2] == (400, "invalid_payload")
    assert post(url, json.dumps({"blocks": []}), json_headers)[::2] == (400, "no_text")
    assert post(slack_standin.webhook_url("/services/T1/B1/NOPE"), json.dumps({"text": "x"}), json_headers)[::2] == (
        404,
        "no_service",
    )
    slack_standin.revoke_webhook(DEFAULT_WEBHOOK_PATH)
    assert post(url, json.dumps({"text": "x"}), json_headers)[::2] == (403, "invalid_token")
    slack_standin.add_webhook(DEFAULT_WEBHOOK_PATH)
    slack_standin.add_channel(DEFAULT_CHANNEL, archived=True)
    assert post(url, json.dumps({"text": "x"}), json_headers)[::2] == (410, "channel_is_archived")
    assert [message.text for message in slack_standin.channel_messages()] == ["hello"]


def test_faults_apply_to_the_next_n_calls(slack_standin, client):
    slack_standin.fail_next(2, status=429, retry_after=7, target="api")

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel=DEFAULT_CHANNEL, text="x")
        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel=DEFAULT_CHANNEL, text="x")["ok"]


def test_server_errors_given_errors_and_dropped_connections(slack_standin, client):
    webhook = WebhookClient(slack_standin.webhook_url(), retry_handlers=[])
    slack_standin.fail_next(1, status=503, target="webhook")
    slack_standin.fail_next(1, error="channel_not_found", target="webhook")
    slack_standin.fail_next(1, error="account_inactive", target="api", method="chat.postMessage")
    slack_standin.fail_next(1, drop_connection=True, target="api")

    assert webhook.send(text="x").status_code == 503
    assert (webhook.send(text="x").status_code, webhook.send(text="x").status_code) == (404, 200)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=DEFAULT_CHANNEL, text="x")
    assert raised.value.response["error"] == "account_inactive"
    with pytest.raises(ConnectionError):
        client.chat_postMessage(channel=DEFAULT_CHANNEL, text="x")


def test_every_request_is_recorded(slack_standin, client):
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="recorded")

    [request] = slack_standin.requests
    assert (request.method, request.path, request.kind) == ("POST", "/api/chat.postMessage", "api")
    assert request.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert request.body["text"] == "recorded"


def test_the_admin_endpoints_drive_it_from_another_process(slack_standin):
    base = slack_standin.base_url
    post(f"{base}/_standin/faults", json.dumps({"count": 1, "status": 429, "retryAfter": 3}), {})
    status, headers, _ = post(slack_standin.webhook_url(), json.dumps({"text": "x"}))
    assert (status, headers["Retry-After"]) == (429, "3")

    api(slack_standin, "chat.postMessage", channel=DEFAULT_CHANNEL, text="via api")
    with urllib.request.urlopen(f"{base}/_standin/channels/{DEFAULT_CHANNEL}/messages") as response:  # noqa: S310
        assert [message["text"] for message in json.loads(response.read())] == ["via api"]
    with urllib.request.urlopen(f"{base}/_standin/requests") as response:  # noqa: S310
        assert DEFAULT_TOKEN not in response.read().decode()

    post(f"{base}/_standin/reset", b"", {})
    assert slack_standin.channel_messages() == []


def test_it_runs_as_a_module():
    process = subprocess.Popen(
        [sys.executable, "-m", "local.slack_standin", "--host", "127.0.0.1", "--port", "0", "--token", "xoxb-cli"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        status, _, text = post(
            urls["apiUrl"] + "chat.postMessage",
            json.dumps({"channel": urls["channel"], "text": "from the cli"}),
            {"Content-Type": "application/json", "Authorization": "Bearer xoxb-cli"},
        )
        assert status == 200
        assert json.loads(text)["ok"]
        assert post(urls["webhookUrl"], json.dumps({"text": "x"}))[::2] == (200, "ok")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


METADATA = {"event_type": "bedrock_batch_job_transition", "event_payload": {"transitionId": "t-1", "jobArn": "job-1"}}


def test_history_lists_top_level_messages_newest_first_with_metadata_only_when_asked(slack_standin, client):
    # Given a parent with metadata and two replies (one broadcast), then a second message
    parent = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="parent", metadata=METADATA)["ts"]
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="quiet", thread_ts=parent)
    loud = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="loud", thread_ts=parent, reply_broadcast=True)["ts"]
    later = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="later")["ts"]

    # When the channel's history is read, with and without metadata
    with_metadata = client.conversations_history(channel=DEFAULT_CHANNEL, include_all_metadata=True)
    without = client.conversations_history(channel=DEFAULT_CHANNEL)

    # Then the top-level messages and the broadcast reply come newest first, the parent with its reply count
    assert [m["ts"] for m in with_metadata["messages"]] == [later, loud, parent]
    broadcast, first = with_metadata["messages"][1], with_metadata["messages"][2]
    assert (broadcast["subtype"], broadcast["thread_ts"]) == ("thread_broadcast", parent)
    assert (first["thread_ts"], first["reply_count"]) == (parent, 2)
    assert first["metadata"] == METADATA
    assert all("metadata" not in m for m in without["messages"])
    assert with_metadata["has_more"] is False


def test_history_bounds_and_pages(slack_standin, client):
    posted = [client.chat_postMessage(channel=DEFAULT_CHANNEL, text=f"m{i}")["ts"] for i in range(5)]

    # oldest is exclusive unless inclusive is set
    newer = client.conversations_history(channel=DEFAULT_CHANNEL, oldest=posted[2])
    assert [m["ts"] for m in newer["messages"]] == [posted[4], posted[3]]
    inclusive = client.conversations_history(channel=DEFAULT_CHANNEL, oldest=posted[2], inclusive=True)
    assert len(inclusive["messages"]) == 3

    # Pages of two, followed by their cursors
    seen: list[str] = []
    cursor = None
    while True:
        page = client.conversations_history(channel=DEFAULT_CHANNEL, limit=2, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            assert cursor == ""
            break
    assert seen == list(reversed(posted))
    with pytest.raises(SlackApiError) as raised:
        client.conversations_history(channel=DEFAULT_CHANNEL, cursor="not-a-cursor")
    assert raised.value.response["error"] == "invalid_cursor"


def test_replies_read_a_thread_parent_first(slack_standin, client):
    parent = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="parent")["ts"]
    first = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="one", thread_ts=parent, metadata=METADATA)["ts"]
    second = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="two", thread_ts=parent)["ts"]
    lonely = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="no replies")["ts"]

    thread = client.conversations_replies(channel=DEFAULT_CHANNEL, ts=parent, include_all_metadata=True)
    # By a reply's ts, the same thread; a message without replies is a thread of one
    by_reply = client.conversations_replies(channel=DEFAULT_CHANNEL, ts=second)
    alone = client.conversations_replies(channel=DEFAULT_CHANNEL, ts=lonely)

    assert [m["ts"] for m in thread["messages"]] == [parent, first, second]
    assert thread["messages"][1]["metadata"] == METADATA
    assert thread["messages"][1]["thread_ts"] == parent
    assert [m["ts"] for m in by_reply["messages"]] == [parent, first, second]
    assert [m["ts"] for m in alone["messages"]] == [lonely]


def test_replies_of_a_deleted_or_unknown_message_are_thread_not_found(slack_standin, client):
    parent = client.chat_postMessage(channel=DEFAULT_CHANNEL, text="parent")["ts"]
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="reply", thread_ts=parent)
    slack_standin.delete_message(DEFAULT_CHANNEL, parent)

    for ts in (parent, "1600000000.000001"):
        with pytest.raises(SlackApiError) as raised:
            client.conversations_replies(channel=DEFAULT_CHANNEL, ts=ts)
        assert raised.value.response["error"] == "thread_not_found"
    # And the deleted parent is gone from the history too
    assert client.conversations_history(channel=DEFAULT_CHANNEL)["messages"] == []


def test_reading_needs_the_history_scope(slack_standin):
    slack_standin.add_token("xoxb-post-only", scopes={"chat:write"})
    client = WebClient(token="xoxb-post-only", base_url=slack_standin.api_url, retry_handlers=[])
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="posting works")

    with pytest.raises(SlackApiError) as raised:
        client.conversations_history(channel=DEFAULT_CHANNEL)

    assert raised.value.response["error"] == "missing_scope"
    assert raised.value.response["needed"] == "channels:history"


def test_the_read_methods_take_get_queries_form_bodies_and_faults(slack_standin, client):
    client.chat_postMessage(channel=DEFAULT_CHANNEL, text="hi")
    form = urllib.parse.urlencode({"token": DEFAULT_TOKEN, "channel": DEFAULT_CHANNEL, "limit": "1"})

    status, _, text = post(
        slack_standin.api_url + "conversations.history", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{slack_standin.api_url}conversations.history?channel={DEFAULT_CHANNEL}",
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        by_get = json.loads(response.read())
    slack_standin.fail_next(1, status=503, method="conversations.replies")

    assert status == 200
    assert [m["text"] for m in json.loads(text)["messages"]] == ["hi"]
    assert [m["text"] for m in by_get["messages"]] == ["hi"]
    assert slack_standin.requests[-1].method == "GET"
    with pytest.raises(SlackApiError) as raised:
        client.conversations_replies(channel=DEFAULT_CHANNEL, ts="1700000000.000100")
    assert raised.value.response.status_code == 503
