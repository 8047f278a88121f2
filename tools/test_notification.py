"""`python -m tools.test_notification`: publish a clearly marked test notice through the deployed topic.

    python -m tools.test_notification [--stack NAME | --topic-arn ARN] [--region R] [--profile P]

The topic is the stack's TopicArn output (stack BedrockBatchNotifier unless --stack), or --topic-arn. Every
confirmed email subscription and the Slack channel get it within a minute. Exit codes: 0 published; 2 a problem
you can fix (one line on stderr: credentials, stack, permission, key).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.constants import DEFAULT_STACK_NAME, OUTPUT_TOPIC_ARN
from tools.problems import USER_ERROR, Problem
from tools.session import caller_session
from tools.stack_outputs import required_output, stack_outputs
from tools.test_notice import build_test_notice, publish_request, topic_region_and_account
from tools.topic import publish

SENT_BY = "make test-notification"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.test_notification", description=__doc__.strip().splitlines()[0]
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default=DEFAULT_STACK_NAME, help="the deployed stack's name (default %(default)s)")
    where.add_argument("--topic-arn", help="publish to this topic instead of the stack's TopicArn output")
    parser.add_argument("--region", help="the stack's region (default: your profile's or AWS_REGION)")
    parser.add_argument("--profile", help="an AWS CLI profile (default: AWS_PROFILE or the default chain)")
    return parser.parse_args(argv)


def find_topic(session: boto3.Session, args: argparse.Namespace) -> str:
    if args.topic_arn:
        try:
            topic_region_and_account(args.topic_arn)
        except ValueError as error:
            raise Problem(str(error)) from None
        return str(args.topic_arn)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    return required_output(outputs, OUTPUT_TOPIC_ARN, args.stack, "is it this notifier's stack? Pass --stack")


def send_test_notification(
    session: boto3.Session, args: argparse.Namespace, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    topic_arn = find_topic(session, args)
    region, _ = topic_region_and_account(topic_arn)
    document = build_test_notice(topic_arn, now(), SENT_BY)
    message_id = publish(session.client("sns", region_name=region), publish_request(topic_arn, document))
    return {"topicArn": topic_arn, "transitionId": document["transitionId"], "messageId": message_id}


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    args = parse_args(argv)
    try:
        sent = send_test_notification(session or caller_session(args.profile, args.region), args)
    except Problem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return USER_ERROR
    print(
        f"Published a test notification to {sent['topicArn']} (transitionId {sent['transitionId']}, "
        f"SNS message {sent['messageId']}).\n"
        "Within a minute: every confirmed email subscription gets '[TEST] Bedrock batch notifier: test "
        "notification', and Slack (when on) a message marked TEST.\n"
        "Nothing in Slack? Run make check-slack, then see docs/runbook.md."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
