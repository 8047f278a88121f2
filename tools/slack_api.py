"""Slack: auth.test and one test post with a bot token, or one test post to an incoming webhook.

Problems name the Slack error and the fix; they never carry the token or the webhook URL (only its host).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tools.problems import Problem

DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 10
REINSTALL = "reinstall the app to the workspace and store its new Bot User OAuth Token (docs/slack.md)"

# What each Slack error means for this check, and what to do about it; {channel} is the secret's channel ID.
API_ERRORS = {
    "invalid_auth": "Slack does not know this bot token: copy the Bot User OAuth Token (xoxb-...) from the app's "
    "OAuth & Permissions page into the secret again",
    "not_authed": "no token reached Slack: the secret's botToken is empty",
    "token_revoked": f"the bot token was revoked: {REINSTALL}",
    "token_expired": f"the bot token expired (token rotation is on for the app): turn rotation off, then {REINSTALL}",
    "account_inactive": f"the token belongs to a removed app or a deactivated user: {REINSTALL}",
    "missing_scope": f"the app lacks the chat:write scope: add it under OAuth & Permissions, then {REINSTALL}",
    "channel_not_found": "the bot sees no channel {channel}: use the channel ID (at the bottom of the channel's "
    "About tab), not its name; a private channel stays invisible until you invite the bot (/invite @app-name)",
    "not_in_channel": "the bot is not a member of channel {channel}: type /invite @app-name in that channel",
    "is_archived": "channel {channel} is archived: unarchive it, or put another channel ID in the secret",
    "restricted_action": "a workspace admin restricts posting in channel {channel}: ask them, or pick another",
    "ekm_access_denied": "the workspace's Enterprise Key Management refused the post: ask a workspace admin",
}
WEBHOOK_ERRORS = {
    "no_service": "the webhook no longer exists (the app's incoming webhook was removed or the URL is mistyped): "
    "add a new webhook to the app (docs/slack.md) and store its URL in the secret",
    "channel_not_found": "the webhook's channel was deleted: add a new webhook for another channel",
    "invalid_token": "the webhook's token is no longer valid (the app was uninstalled?): add a new webhook",
    "action_prohibited": "a workspace admin restricts posting to the webhook's channel: ask them",
    "posting_to_general_channel_denied": "only admins may post to the webhook's channel: pick another channel",
    "channel_is_archived": "the webhook's channel is archived: unarchive it, or add a webhook for another channel",
    "team_disabled": "the Slack workspace is disabled",
}


def check_message(text: str) -> dict[str, Any]:
    """A post nobody can take for a job's status."""
    return {
        "text": f":test_tube: TEST: {text}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":test_tube: *TEST*: {text}"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "Bedrock batch notifier · no batch job changed status"}],
            },
        ],
        "unfurl_links": False,
    }


def _unreachable(url: str, error: Exception) -> Problem:
    host = urlsplit(url).hostname or "Slack"
    return Problem(f"cannot reach Slack at {host} ({type(error).__name__}): check the network or proxy")


def _busy(status: int, retry_after: str | None) -> Problem | None:
    if status == 429:
        return Problem(f"Slack rate-limited the check: try again in {retry_after or 'a few'} seconds")
    if status >= 500:
        return Problem(f"Slack answered HTTP {status}: try again later (https://slack-status.com)")
    return None


def _api_problem(error: SlackApiError, method: str, channel: str) -> Problem:
    response = error.response
    busy = _busy(response.status_code, response.headers.get("Retry-After") if response.headers else None)
    if busy is not None:
        return busy
    code = str(response.data.get("error", "unknown")) if isinstance(response.data, dict) else "unknown"
    advice = API_ERRORS.get(code, f"see https://api.slack.com/methods/{method}#errors")
    return Problem(f"{method} failed ({code}): {advice.format(channel=channel)}")


class BotCheck:
    """auth.test (is the token valid, and whose is it), then one test post to the channel."""

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL) -> None:
        self._api_url = api_url
        self._client = WebClient(token=token, base_url=api_url, timeout=TIMEOUT_SECONDS)

    def __repr__(self) -> str:
        return "BotCheck(token=***)"

    def identity(self) -> dict[str, str]:
        data = self._call("auth.test", {}, channel="")
        return {key: str(data.get(key, "")) for key in ("team", "user", "bot_id", "url")}

    def post(self, channel: str, text: str) -> str:
        data = self._call("chat.postMessage", {"channel": channel, **check_message(text)}, channel=channel)
        return str(data.get("ts", ""))

    def _call(self, method: str, arguments: dict[str, Any], *, channel: str) -> dict[str, Any]:
        try:
            response = self._client.api_call(method, json=arguments)
        except SlackApiError as error:
            raise _api_problem(error, method, channel) from None
        except OSError as error:  # urllib's URLError and socket errors
            raise _unreachable(self._api_url, error) from None
        return response.data if isinstance(response.data, dict) else {}


def post_to_webhook(url: str, text: str) -> None:
    """One test post; Problem for each answer Slack's webhooks give other than 200 ok."""
    try:
        response = WebhookClient(url, timeout=TIMEOUT_SECONDS).send_dict(check_message(text))
    except OSError as error:
        raise _unreachable(url, error) from None
    if response.status_code == 200:
        return
    busy = _busy(response.status_code, response.headers.get("Retry-After") if response.headers else None)
    if busy is not None:
        raise busy
    code = (response.body or "").strip()[:60] or "no body"
    advice = WEBHOOK_ERRORS.get(code, "see https://api.slack.com/messaging/webhooks#handling_errors")
    raise Problem(f"the webhook answered HTTP {response.status_code} {code}: {advice}")
