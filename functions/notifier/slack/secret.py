"""The Slack secret: read through Powertools Parameters (cached), parsed and validated, re-read on demand.

Two shapes, the mode is chosen by content:
  {"webhookUrl": "https://hooks.slack.com/services/T.../B.../..."}
  {"botToken": "xoxb-...", "channel": "C0123456789"}
Errors name what is wrong with the secret, never its value.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from notifier.slack.failures import PermanentSlackFailure, RetryableSlackFailure

# http is accepted for local stand-ins; the host is anything, the path is Slack's /services/T.../B.../secret.
_WEBHOOK_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$")
_BOT_TOKEN = re.compile(r"^xox[bp]-[A-Za-z0-9-]+$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
# Secrets Manager answers that retrying will not fix.
_PERMANENT_SECRET_ERRORS = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure", "InvalidRequestException"}
)


# botocore logs every response body at DEBUG, GetSecretValue's SecretString included: a function running with
# log level DEBUG must still not print the secret.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)


class MalformedSecret(PermanentSlackFailure):
    """The secret's content is not one of the two accepted shapes."""


@dataclass(frozen=True)
class WebhookCredentials:
    url: str = field(repr=False)

    mode = "webhook"


@dataclass(frozen=True)
class BotCredentials:
    token: str = field(repr=False)
    channel: str

    mode = "bot"


SlackCredentials = WebhookCredentials | BotCredentials


def parse_secret(value: Any) -> SlackCredentials:
    """Validate the secret's JSON; raise MalformedSecret naming the problem (not the value)."""
    if value == {}:
        # What the stack creates: the credentials are put afterwards with put-secret-value.
        raise MalformedSecret(
            "the Slack secret holds no credentials yet ({}): put webhookUrl, or botToken and channel, in it"
        )
    if not isinstance(value, dict):
        raise MalformedSecret("the Slack secret is not a JSON object with webhookUrl, or botToken and channel")
    has_webhook = "webhookUrl" in value
    has_bot = "botToken" in value or "channel" in value
    if has_webhook and has_bot:
        raise MalformedSecret("the Slack secret has both webhookUrl and botToken/channel: keep the keys of one mode")
    if has_webhook:
        url = value["webhookUrl"]
        if not isinstance(url, str) or not _WEBHOOK_URL.match(url.strip()):
            raise MalformedSecret(
                "webhookUrl in the Slack secret is not an incoming-webhook URL (https://hooks.slack.com/services/...)"
            )
        return WebhookCredentials(url=url.strip())
    if has_bot:
        token, channel = value.get("botToken"), value.get("channel")
        if not isinstance(token, str) or not _BOT_TOKEN.match(token.strip()):
            raise MalformedSecret("botToken in the Slack secret is missing or is not a bot token (xoxb-...)")
        if not isinstance(channel, str) or not _CHANNEL_ID.match(channel.strip()):
            raise MalformedSecret(
                "channel in the Slack secret is missing or is not a channel ID like C0123456789 "
                "(chat.update needs the ID; it is at the bottom of the channel's details in Slack)"
            )
        return BotCredentials(token=token.strip(), channel=channel.strip())
    raise MalformedSecret("the Slack secret has neither webhookUrl nor botToken and channel")


class SlackSecretSource:
    """Reads the secret with Powertools' TTL cache; ``refresh`` bypasses the cache (after Slack refused it)."""

    def __init__(self, secret_arn: str, max_age_seconds: int, provider: SecretsProvider | None = None) -> None:
        self._secret_arn = secret_arn
        self._max_age_seconds = max_age_seconds
        self._provider = provider or SecretsProvider()

    def get(self) -> SlackCredentials:
        return self._read(force_fetch=False)

    def refresh(self) -> SlackCredentials:
        return self._read(force_fetch=True)

    def _read(self, *, force_fetch: bool) -> SlackCredentials:
        try:
            value = self._provider.get(
                self._secret_arn, max_age=self._max_age_seconds, transform="json", force_fetch=force_fetch
            )
        except TransformParameterError:
            raise MalformedSecret("the Slack secret is not valid JSON") from None
        except GetParameterError as error:
            # Powertools wraps the SDK error without chaining it as the cause; the context holds it.
            cause = error.__context__
            code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
            if code in _PERMANENT_SECRET_ERRORS:
                raise PermanentSlackFailure(f"the Slack secret cannot be read ({code})") from None
            raise RetryableSlackFailure(f"the Slack secret cannot be read now ({code or 'no answer'})") from None
        return parse_secret(value)
