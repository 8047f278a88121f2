"""Bot-token mode: one parent message per job, updated in place, plus a thread reply per later transition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from notifier.core.jobs import TERMINAL_STATUSES
from notifier.core.notice import Notice
from notifier.core.observability import logger
from notifier.core.outcome import CRITICAL
from notifier.core.timefmt import isoformat
from notifier.slack.blocks import delivery_test_message, job_summary_message, thread_reply_message
from notifier.slack.clients import BotClient
from notifier.slack.failures import (
    PARENT_GONE_ERRORS,
    THREAD_GONE_ERRORS,
    NoAnswer,
    PermanentSlackFailure,
    RetryableSlackFailure,
    SlackFailure,
)
from notifier.slack.message_store import Claim, ParentMessage, Refused, SlackMessageStore
from notifier.slack.retry import Sleep

EVENT_TYPE = "bedrock_batch_job_transition"  # Slack message metadata of every message this mode posts


def notice_order(notice: Notice) -> str:
    """Sorts as the job's history does: terminal after non-terminal, then Bedrock's time, then detection time.

    ISO-8601 strings in UTC with a Z sort as the moments do; the poller writes them that way.
    """
    rank = "1" if notice.status in TERMINAL_STATUSES else "0"
    return f"{rank}|{isoformat(notice.last_modified_time or notice.detected_at)}|{isoformat(notice.detected_at)}"


@dataclass(frozen=True)
class ClaimWait:
    """How long a delivery waits for a concurrent one that is posting the job's parent message."""

    delays: tuple[float, ...] = (0.2, 0.4, 0.8)
    stale_after_seconds: int = 60  # a claimant this old without a ts crashed before posting: take over


class BotMode:
    """One parent message per job, updated in place, plus a thread reply per later transition.

    A job's first notice is one Slack call (the parent, showing it) and two writes (the claim before posting, the
    ts after); each later one updates the parent and replies in its thread.

    Safe under SQS redelivery, out-of-order delivery and concurrent invocations (the state table holds the
    parent's ts, the latest transition shown and the transitions already shown, in the parent or the thread):
    - the first transition of a job claims the parent with a conditional put; a concurrent one waits for the ts;
    - the parent is updated only by a transition at least as recent as the one it shows (conditional write);
    - a thread reply is noted before posting and recorded after, so a retry after a crash between the parent update
      and the reply posts the reply once;
    - where a write fails after a post, the retry finds the posted message by its metadata (conversations.history
      for the parent, conversations.replies for a reply) instead of posting it again.
    """

    name = "bot"

    def __init__(
        self,
        client: BotClient,
        channel: str,
        store: SlackMessageStore,
        broadcast_statuses: Iterable[str],
        on_sent: Callable[[], None],
        sleep: Sleep = time.sleep,
        claim_wait: ClaimWait | None = None,
    ) -> None:
        self._client = client
        self._channel = channel
        self._store = store
        self._broadcast_statuses = frozenset(broadcast_statuses)
        self._on_sent = on_sent
        self._sleep = sleep
        self._claim_wait = claim_wait or ClaimWait()

    # The Slack calls of a usual delivery (post or update the parent, then the reply); the rarer paths (a parent
    # posted again, a look-up after a failed write, a second update) are bounded call by call in the client.
    calls_per_delivery = 2

    def deliver(self, notice: Notice) -> dict[str, Any]:
        if notice.is_test:  # no job behind it: a message of its own, nothing in the message store
            ts = self._client.post(self._channel, delivery_test_message(notice))
            self._on_sent()
            return {"mode": self.name, "ts": ts, "created": True, "replied": False}
        # A job the poller saw for the first time has, as a rule, no message yet: claim it at once, no read first.
        parent = None if notice.previous_status is None else self._store.load(notice.job_arn, self._channel)
        if parent is None or parent.ts is None:
            parent, created = self._ensure_parent(notice)
            if created:  # the parent shows this transition: it needs no thread reply
                return {"mode": self.name, "ts": parent.ts, "created": True, "replied": False}
        parent = self._refresh_parent(notice, parent)
        replied = self._reply(notice, parent, broadcast=self._broadcasts(notice))
        return {"mode": self.name, "ts": parent.ts, "created": False, "replied": replied}

    def _broadcasts(self, notice: Notice) -> bool:
        """A broadcast status, or a critical outcome: a Completed job whose every record failed reaches the channel
        as a Failed one does."""
        return notice.status in self._broadcast_statuses or notice.severity == CRITICAL

    def _ensure_parent(self, notice: Notice) -> tuple[ParentMessage, bool]:
        order = notice_order(notice)
        claim = self._store.claim(
            notice.job_arn,
            self._channel,
            notice.transition_id,
            order,
            notice,
            self._claim_wait.stale_after_seconds,
        )
        if isinstance(claim, Refused) and claim.current is not None and claim.current.ts is not None:
            return claim.current, False  # the job's message exists (an earlier transition arrived first)
        if isinstance(claim, Claim):
            ts = None
            if claim.replaced is not None:
                # The delivery that held the claim before (this one's earlier attempt, or a crashed one) may have
                # posted the parent and failed before recording its ts: look for it before posting another.
                ts = self._find_parent(notice.job_arn)
            mine = ts is None or claim.replaced is None or claim.replaced.claimed_by == notice.transition_id
            if ts is None:
                try:
                    ts = self._client.post(self._channel, job_summary_message(notice), metadata=_metadata(notice))
                except NoAnswer:
                    raise  # Slack may have posted it: the claim stays, so the retry looks for it first
                except SlackFailure:
                    self._store.release_claim(notice.job_arn, self._channel, notice.transition_id)
                    raise
                self._on_sent()
            shown = notice.transition_id if mine else None  # a parent of another transition's does not show this one
            recorded = self._store.record_parent(notice.job_arn, self._channel, ts, shown)
            # Not created by this transition when a takeover of a stale claim found or recorded another parent
            # first: that one is kept, and updated to show this transition.
            return recorded, mine and recorded.ts == ts
        for delay in self._claim_wait.delays:
            self._sleep(delay)
            posted = self._store.load(notice.job_arn, self._channel)
            if posted is not None and posted.ts is not None:
                return posted, False
        raise RetryableSlackFailure("another delivery is posting this job's parent message")

    def _refresh_parent(self, notice: Notice, parent: ParentMessage) -> ParentMessage:
        """Show this transition on the parent if it is the latest; returns the parent the thread continues on."""
        assert parent.ts is not None
        if not self._store.advance(notice.job_arn, self._channel, notice_order(notice), notice):
            return parent  # the parent already shows a later transition; this one only gets its thread reply
        try:
            self._client.update(self._channel, parent.ts, job_summary_message(notice))
        except PermanentSlackFailure as failure:
            if failure.reason not in PARENT_GONE_ERRORS:
                raise
            return self._repost_parent(notice, parent)
        self._on_sent()
        # A later transition may have advanced the item between our write and our chat.update landing: show it.
        latest = self._store.load(notice.job_arn, self._channel)
        if (
            latest is not None
            and latest.latest_notice is not None
            and latest.latest_order is not None
            and latest.latest_order > notice_order(notice)
        ):
            self._client.update(self._channel, parent.ts, job_summary_message(latest.latest_notice))
            self._on_sent()
        return parent

    def _repost_parent(self, notice: Notice, gone: ParentMessage) -> ParentMessage:
        """Someone deleted the parent message: post a new one, so the job's later transitions still show.

        It shows the latest transition the table knows, which is not this one when an older transition arrives
        late. A new parent posted by an earlier attempt whose write failed is found and kept instead.
        """
        assert gone.ts is not None
        ts = self._find_parent(notice.job_arn, newer_than=gone.ts)
        if ts is None:
            current = self._store.load(notice.job_arn, self._channel)
            shown = notice
            if current is not None and current.latest_notice is not None and current.latest_order is not None:
                shown = current.latest_notice if current.latest_order > notice_order(notice) else notice
            ts = self._client.post(self._channel, job_summary_message(shown), metadata=_metadata(shown))
            self._on_sent()
        return self._store.replace_parent(notice.job_arn, self._channel, gone.ts, ts)

    def _reply(self, notice: Notice, parent: ParentMessage, *, broadcast: bool) -> bool:
        """Post this transition's thread reply once: the intent is recorded before posting, and a retry that finds
        the intent without the record looks in the thread first."""
        assert parent.ts is not None
        if notice.transition_id in parent.replied:
            return False
        if notice.transition_id in parent.replying and self._find_reply(parent.ts, notice.transition_id):
            self._store.mark_replied(notice.job_arn, self._channel, notice.transition_id)
            return False
        self._store.mark_replying(notice.job_arn, self._channel, notice.transition_id)
        message = thread_reply_message(notice)
        try:
            self._client.post(
                self._channel, message, thread_ts=parent.ts, broadcast=broadcast, metadata=_metadata(notice)
            )
        except PermanentSlackFailure as failure:
            if failure.reason not in THREAD_GONE_ERRORS:
                raise
            # The parent was deleted, and this transition is too old to have updated it: post a new parent.
            parent = self._repost_parent(notice, parent)
            assert parent.ts is not None
            self._client.post(
                self._channel, message, thread_ts=parent.ts, broadcast=broadcast, metadata=_metadata(notice)
            )
        self._on_sent()
        self._store.mark_replied(notice.job_arn, self._channel, notice.transition_id)
        return True

    # --- looking in Slack for what an earlier attempt posted -------------------------------------------------

    def _find_parent(self, job_arn: str, *, newer_than: str | None = None) -> str | None:
        """The ts of the job's parent message in the channel's recent history, if there is one."""
        messages = self._look_up(lambda: self._client.history(self._channel, oldest=newer_than))
        found = [
            str(m["ts"])
            for m in messages
            if isinstance(m.get("ts"), str)
            and m.get("thread_ts") in (None, m["ts"])  # a parent, not a reply broadcast to the channel
            and m["ts"] != newer_than
            and _payload(m).get("jobArn") == job_arn
        ]
        return min(found, key=float) if found else None

    def _find_reply(self, thread_ts: str, transition_id: str) -> bool:
        messages = self._look_up(lambda: self._client.replies(self._channel, thread_ts))
        return any(m.get("ts") != thread_ts and _payload(m).get("transitionId") == transition_id for m in messages)

    def _look_up(self, read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Slack's answer, or nothing when Slack refuses the read (a token without the history scope, a thread
        gone): then the message is posted, since a duplicate is better than a notice lost."""
        try:
            return read()
        except PermanentSlackFailure as failure:
            logger.warning(
                "Could not check Slack for a message an earlier attempt may have posted; posting it",
                extra={"reason": failure.reason},
            )
            return []


def _payload(message: dict[str, Any]) -> dict[str, Any]:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return {}
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, dict) else {}


def _metadata(notice: Notice) -> dict[str, Any]:
    """Slack message metadata: lets tooling find a job's messages without parsing text."""
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {"transitionId": notice.transition_id, "jobArn": notice.job_arn, "status": notice.status},
    }
