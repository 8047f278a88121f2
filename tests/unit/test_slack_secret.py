"""The secret's two shapes, and errors that name the problem without the value."""

from __future__ import annotations

import pytest

from notifier.slack.secret import BotCredentials, MalformedSecret, WebhookCredentials, parse_secret

CANARY = "CANARY7f3a9"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "http://127.0.0.1:8790/services/T000/B000/XXXX",
    ],
)
def test_a_webhook_secret(url):
    credentials = parse_secret({"webhookUrl": f" {url} "})

    assert credentials == WebhookCredentials(url=url)
    assert credentials.mode == "webhook"


def test_a_bot_secret():
    credentials = parse_secret({"botToken": "xoxb-1-2-abc", "channel": "C0123456789"})

    assert credentials == BotCredentials(token="xoxb-1-2-abc", channel="C0123456789")
    assert credentials.mode == "bot"


def test_credentials_never_show_their_secret_in_repr():
    assert CANARY not in repr(parse_secret({"botToken": f"xoxb-{CANARY}", "channel": "C0123456789"}))
    assert CANARY not in repr(parse_secret({"webhookUrl": f"https://hooks.slack.com/services/T0/B0/{CANARY}"}))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([f"xoxb-{CANARY}"], "not a JSON object"),
        ({}, "holds no credentials yet"),
        ("just a string " + CANARY, "not a JSON object"),
        ({"token": f"xoxb-{CANARY}"}, "neither webhookUrl nor botToken"),
        (
            {"webhookUrl": f"https://hooks.slack.com/services/T0/B0/{CANARY}", "botToken": f"xoxb-{CANARY}"},
            "both webhookUrl and botToken",
        ),
        ({"webhookUrl": ""}, "webhookUrl"),
        ({"webhookUrl": f"https://example.com/{CANARY}"}, "not an incoming-webhook URL"),
        ({"webhookUrl": f"ftp://hooks.slack.com/services/T0/B0/{CANARY}"}, "not an incoming-webhook URL"),
        ({"botToken": f"xoxa-{CANARY}", "channel": "C0123456789"}, "not a bot token"),
        ({"botToken": f"xoxb-{CANARY}"}, "channel"),
        ({"botToken": f"xoxb-{CANARY}", "channel": "#alerts"}, "not a channel ID"),
        ({"channel": "C0123456789"}, "botToken"),
    ],
)
def test_a_malformed_secret_names_the_problem_not_the_value(value, problem):
    with pytest.raises(MalformedSecret) as raised:
        parse_secret(value)

    assert problem in raised.value.reason
    assert raised.value.permanent
    assert CANARY not in str(raised.value)
