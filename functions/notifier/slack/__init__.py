"""The Slack function: delivers the topic's notices, read from SQS, to Slack by webhook or bot token.

The Lambda handler string is ``notifier.slack.handler``.
"""

from notifier.slack.entry import handler

__all__ = ["handler"]
