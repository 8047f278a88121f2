"""Secrets Manager: the Slack secret's value, parsed as the Slack function parses it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from notifier.slack.secret import MalformedSecret, SlackCredentials, parse_secret
from tools.problems import Problem, error_code, explain_aws


def read_slack_secret(secretsmanager: Any, secret_id: str) -> SlackCredentials:
    """The credentials; Problem naming the secret (never its value) when it cannot be read or used."""
    region = secretsmanager.meta.region_name
    try:
        response = secretsmanager.get_secret_value(SecretId=secret_id)
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            raise Problem(
                f"secret {secret_id} not found in region {region}: check the stack's SlackSecretArn output, "
                "or the slackSecretArn / slackSecretName you configured"
            ) from None
        if code == "DecryptionFailure":
            raise Problem(
                f"secret {secret_id} cannot be decrypted: your credentials need kms:Decrypt on its key"
            ) from None
        if code == "InvalidRequestException":
            raise Problem(f"secret {secret_id} cannot be read ({error}): is it scheduled for deletion?") from None
        raise (
            explain_aws(error, action=f"secretsmanager:GetSecretValue on {secret_id}", region=region) or error
        ) from None
    except BotoCoreError as error:
        raise (
            explain_aws(error, action=f"secretsmanager:GetSecretValue on {secret_id}", region=region) or error
        ) from None
    text = response.get("SecretString")
    if not text or not text.strip():
        raise Problem(
            f"secret {secret_id} is empty: put the Slack credentials in it from a file (docs/slack.md, step 4)"
        )
    try:
        value = json.loads(text)
    except ValueError:
        raise Problem(
            f'secret {secret_id} is not JSON: it holds {{"webhookUrl": ...}} or {{"botToken": ..., "channel": ...}}'
        ) from None
    try:
        return parse_secret(value)
    except MalformedSecret as error:
        raise Problem(f"secret {secret_id}: {error.reason}") from None
