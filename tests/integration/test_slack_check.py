"""python -m tools.check_slack against moto (the secret, the stack's outputs) and the Slack stand-in."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local.slack_standin import DEFAULT_CHANNEL, DEFAULT_TOKEN, DEFAULT_WEBHOOK_PATH, SlackStandIn
from tests.fixtures.aws import REGION, SessionWith
from tools.check_slack import main

STACK = "BedrockBatchNotifier"


def put_secret(value: dict[str, Any] | str, name: str = "notifier/slack") -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    client = boto3.client("secretsmanager", region_name=REGION)
    return str(client.create_secret(Name=name, SecretString=text)["ARN"])


def deploy_stack(outputs: dict[str, str], name: str = STACK) -> None:
    """A stack in moto whose outputs are these values."""
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName=name, TemplateBody=json.dumps(template))


class Check:
    def __init__(self, standin: SlackStandIn, capsys: pytest.CaptureFixture[str]) -> None:
        self.standin = standin
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--api-url", self.standin.api_url], session=boto3.Session(region_name=REGION))
        out, err = self.capsys.readouterr()
        # Whatever happened, the token and the webhook's secret path are never printed.
        for secret in (DEFAULT_TOKEN, DEFAULT_WEBHOOK_PATH, "xoxb-unknown"):
            assert secret not in out + err
        return code, out, err


@pytest.fixture
def check(aws: str, slack_standin: SlackStandIn, capsys: pytest.CaptureFixture[str]) -> Check:
    return Check(slack_standin, capsys)


def bot_secret(channel: str = DEFAULT_CHANNEL, token: str = DEFAULT_TOKEN) -> str:
    return put_secret({"botToken": token, "channel": channel})


# --- success ---------------------------------------------------------------------------------------------------


def test_bot_mode_runs_auth_test_then_posts_one_message_marked_test(check: Check) -> None:
    deploy_stack({"SlackSecretArn": bot_secret()})

    code, out, err = check("--stack", STACK)

    assert (code, err) == (0, "")
    assert "(bot mode) works" in out
    assert "bot token valid: user bedrock-notifier in workspace Stand-in (auth.test)" in out
    (message,) = check.standin.channel_messages(DEFAULT_CHANNEL)
    assert "TEST" in message.all_text
    assert [r.path for r in check.standin.requests] == ["/api/auth.test", "/api/chat.postMessage"]


def test_bot_mode_without_the_post(check: Check) -> None:
    code, out, _ = check("--secret-id", bot_secret(), "--no-post")

    assert code == 0
    assert check.standin.channel_messages(DEFAULT_CHANNEL) == []
    assert [r.path for r in check.standin.requests] == ["/api/auth.test"]
    assert "not checked (--no-post)" in out


def test_webhook_mode_posts_one_message_marked_test(check: Check) -> None:
    secret = put_secret({"webhookUrl": check.standin.webhook_url()})

    code, out, err = check("--secret-id", secret)

    assert (code, err) == (0, "")
    assert "(webhook mode) works" in out
    (message,) = check.standin.channel_messages(DEFAULT_CHANNEL)
    assert message.source == "webhook"
    assert "TEST" in message.all_text


# --- what can be wrong -----------------------------------------------------------------------------------------


def expect_problem(result: tuple[int, str, str], *expected: str) -> None:
    code, out, err = result
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    for text in expected:
        assert text in err


def test_a_stack_with_slack_off(check: Check) -> None:
    deploy_stack({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"})

    expect_problem(check("--stack", STACK), "stack 'BedrockBatchNotifier' has no SlackSecretArn output", "slack on")


def test_a_stack_that_does_not_exist(check: Check) -> None:
    expect_problem(check("--stack", "Elsewhere"), "stack 'Elsewhere' not found in region us-east-1")


def test_a_secret_that_does_not_exist(check: Check) -> None:
    expect_problem(check("--secret-id", "team/nothing-here"), "secret team/nothing-here not found in region us-east-1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" ", "is empty: put the Slack credentials in it from a file"),
        ("{}", "holds no credentials yet ({})"),
        ("webhookUrl=https://hooks.slack.com/services/T/B/X", "is not JSON"),
        ('{"webhookUrl": "https://example.com/hook"}', "webhookUrl in the Slack secret is not an incoming-webhook URL"),
        ('{"botToken": "xoxb-1-2"}', "channel in the Slack secret is missing"),
        ('{"botToken": "xoxb-1-2", "channel": "#general"}', "is not a channel ID like C0123456789"),
        ('{"botToken": "not-a-token", "channel": "C0123456789"}', "botToken in the Slack secret is missing or is not"),
    ],
)
def test_a_secret_that_cannot_be_used(check: Check, value: str, expected: str) -> None:
    expect_problem(check("--secret-id", put_secret(value)), expected)
    assert check.standin.requests == []


def test_an_unknown_token_is_invalid_auth(check: Check) -> None:
    expect_problem(
        check("--secret-id", bot_secret(token="xoxb-unknown")),
        "auth.test failed (invalid_auth): Slack does not know this bot token",
    )


def test_a_revoked_token(check: Check) -> None:
    check.standin.revoke_token(DEFAULT_TOKEN)

    expect_problem(check("--secret-id", bot_secret()), "auth.test failed (token_revoked)", "reinstall the app")


def test_a_channel_the_bot_cannot_see(check: Check) -> None:
    expect_problem(
        check("--secret-id", bot_secret(channel="C0NOTTHERE")),
        "chat.postMessage failed (channel_not_found): the bot sees no channel C0NOTTHERE",
        "use the channel ID",
        "private channel",
    )


def test_a_channel_the_bot_is_not_in(check: Check) -> None:
    check.standin.add_channel("C0OUTSIDE1", member=False)

    expect_problem(
        check("--secret-id", bot_secret(channel="C0OUTSIDE1")),
        "chat.postMessage failed (not_in_channel): the bot is not a member of channel C0OUTSIDE1",
        "/invite @app-name",
    )


def test_an_archived_channel(check: Check) -> None:
    check.standin.add_channel("C0ARCHIVED", archived=True)

    expect_problem(check("--secret-id", bot_secret(channel="C0ARCHIVED")), "(is_archived)", "unarchive")


def test_an_app_without_chat_write(check: Check) -> None:
    check.standin.fail_next(1, error="missing_scope", method="chat.postMessage")

    expect_problem(check("--secret-id", bot_secret()), "(missing_scope)", "chat:write")


def test_slack_rate_limiting_the_check(check: Check) -> None:
    check.standin.fail_next(1, status=429, retry_after=7, method="auth.test")

    expect_problem(check("--secret-id", bot_secret()), "Slack rate-limited the check: try again in 7 seconds")


def test_slack_down(check: Check) -> None:
    check.standin.fail_next(1, status=503, target="webhook")

    expect_problem(
        check("--secret-id", put_secret({"webhookUrl": check.standin.webhook_url()})), "Slack answered HTTP 503"
    )


def test_a_removed_webhook_is_no_service(check: Check) -> None:
    secret = put_secret({"webhookUrl": check.standin.webhook_url()})
    check.standin.remove_webhook(DEFAULT_WEBHOOK_PATH)

    expect_problem(
        check("--secret-id", secret),
        "the webhook answered HTTP 404 no_service: the webhook no longer exists",
        "add a new webhook",
    )


def test_a_revoked_webhook(check: Check) -> None:
    secret = put_secret({"webhookUrl": check.standin.webhook_url()})
    check.standin.revoke_webhook(DEFAULT_WEBHOOK_PATH)

    expect_problem(check("--secret-id", secret), "HTTP 403 invalid_token")


def test_a_webhook_whose_channel_is_archived(check: Check) -> None:
    secret = put_secret({"webhookUrl": check.standin.webhook_url()})
    check.standin.add_channel(DEFAULT_CHANNEL, archived=True)

    expect_problem(check("--secret-id", secret), "HTTP 410 channel_is_archived")


def test_slack_unreachable(check: Check) -> None:
    unreachable = "http://127.0.0.1:9/services/T000/B000/XXXX"  # the discard port: nothing listens

    expect_problem(check("--secret-id", put_secret({"webhookUrl": unreachable})), "cannot reach Slack at 127.0.0.1")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AccessDeniedException", "permission denied (AccessDeniedException): your credentials may not call "
         "secretsmanager:GetSecretValue on team/slack"),
        ("DecryptionFailure", "secret team/slack cannot be decrypted: your credentials need kms:Decrypt"),
    ],
)  # fmt: skip
def test_a_secret_the_caller_may_not_read(
    aws: str, capsys: pytest.CaptureFixture[str], code: str, expected: str
) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    stubber = Stubber(secrets)
    stubber.add_client_error("get_secret_value", service_error_code=code, http_status_code=400)
    with stubber:
        result = main(["--secret-id", "team/slack"], session=SessionWith(secretsmanager=secrets))

    out, err = capsys.readouterr()
    expect_problem((result, out, err), expected)
    stubber.assert_no_pending_responses()
