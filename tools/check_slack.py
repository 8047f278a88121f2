"""`python -m tools.check_slack`: check the deployed Slack secret against Slack itself.

    python -m tools.check_slack [--stack NAME | --secret-id ARN|NAME] [--region R] [--profile P] [--no-post]

Reads the secret the Slack function reads (the stack's SlackSecretArn output, or --secret-id), validates it as
the function does, then asks Slack: in bot mode auth.test (is the token valid) and one post marked TEST to the
channel (the only call that proves the bot may post there; --no-post skips it); in webhook mode one post marked
TEST. Exit codes: 0 Slack accepted; 2 a problem you can fix (one line on stderr). The token and webhook URL are
never printed.
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3

from infra.constants import DEFAULT_STACK_NAME, OUTPUT_SLACK_SECRET_ARN
from notifier.core.settings import SLACK_API_URL
from notifier.slack.secret import BotCredentials, SlackCredentials
from tools.problems import USER_ERROR, Problem
from tools.secret import read_slack_secret
from tools.session import caller_session
from tools.slack_api import DEFAULT_API_URL, BotCheck, post_to_webhook
from tools.stack_outputs import required_output, stack_outputs

CHECK_TEXT = "`make check-slack` posted this to check the notifier's Slack secret; Slack accepted it."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.check_slack", description=__doc__.strip().splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default=DEFAULT_STACK_NAME, help="the deployed stack's name (default %(default)s)")
    where.add_argument("--secret-id", help="check this secret (ARN or name) instead of the stack's SlackSecretArn")
    parser.add_argument("--region", help="the stack's region (default: your profile's or AWS_REGION)")
    parser.add_argument("--profile", help="an AWS CLI profile (default: AWS_PROFILE or the default chain)")
    parser.add_argument("--no-post", action="store_true", help="bot mode: auth.test only, no test post")
    parser.add_argument(
        "--api-url",
        default=os.environ.get(str(SLACK_API_URL.env), DEFAULT_API_URL),
        help="Slack's Web API base URL (default: SLACK_API_URL or %(default)s)",
    )
    return parser.parse_args(argv)


def find_secret(session: boto3.Session, args: argparse.Namespace) -> str:
    if args.secret_id:
        return str(args.secret_id)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    return required_output(
        outputs, OUTPUT_SLACK_SECRET_ARN, args.stack, "Slack is off in that deploy: turn slack on and deploy again"
    )


def check(credentials: SlackCredentials, args: argparse.Namespace) -> list[str]:
    """What Slack confirmed, line by line; Problem at the first thing it refused."""
    if isinstance(credentials, BotCredentials):
        bot = BotCheck(credentials.token, args.api_url)
        who = bot.identity()
        lines = [f"bot token valid: user {who['user']} in workspace {who['team']} (auth.test)"]
        if args.no_post:
            return [*lines, f"channel {credentials.channel} not checked (--no-post)"]
        bot.post(credentials.channel, CHECK_TEXT)
        return [*lines, f"posted a message marked TEST to channel {credentials.channel} (chat.postMessage)"]
    post_to_webhook(credentials.url, CHECK_TEXT)
    return ["posted a message marked TEST through the incoming webhook"]


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    args = parse_args(argv)
    try:
        session = session or caller_session(args.profile, args.region)
        secret_id = find_secret(session, args)
        credentials = read_slack_secret(session.client("secretsmanager"), secret_id)
        confirmed = check(credentials, args)
    except Problem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return USER_ERROR
    print(f"Slack secret {secret_id} ({credentials.mode} mode) works:")
    for line in confirmed:
        print(f"  - {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
