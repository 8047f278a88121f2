"""The poller function: lists Bedrock batch jobs, records each status change, publishes it to SNS.

The Lambda handler string is ``notifier.poller.handler``.
"""

from notifier.poller.entry import handler

__all__ = ["handler"]
