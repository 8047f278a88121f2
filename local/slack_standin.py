"""A local Slack that answers as Slack does, over real HTTP on loopback.

It serves the two ways the notifier talks to Slack:

- the Web API methods ``POST /api/chat.postMessage``, ``POST /api/chat.update`` and ``POST /api/auth.test``
  (JSON or form bodies, ``Authorization: Bearer xoxb-...``), answering HTTP 200 with ``{"ok": true, ...}`` or
  ``{"ok": false, "error": "..."}`` as Slack does;
- the read methods ``conversations.history`` (a channel's top-level messages, newest first) and
  ``conversations.replies`` (a thread, parent first), by GET with query parameters or by POST, with ``oldest`` /
  ``latest`` / ``inclusive``, ``limit`` and cursor pagination; message metadata only with
  ``include_all_metadata``; a token without the ``channels:history`` scope gets ``missing_scope``;
- incoming webhooks ``POST /services/T.../B.../...`` answering ``200 ok`` or Slack's webhook errors
  (400 invalid_payload / invalid_blocks / no_text, 403 invalid_token, 404 no_service, 410 channel_is_archived).

Payloads are checked against Slack's Block Kit limits, so an over-limit message fails here as it would in Slack.
Faults can be queued (429 with Retry-After, 5xx, a given Slack error, a dropped connection) for the next N calls.
Every request is recorded, and the channel can be read back as Slack would show it: each parent message with its
current content after updates, and its thread replies.

In process::

    with SlackStandIn() as slack:
        slack.fail_next(1, status=429, retry_after=1)
        ...  # point WebClient(base_url=slack.api_url) or WebhookClient(slack.webhook_url()) at it
        slack.channel_messages(DEFAULT_CHANNEL)

As a process (for the sandbox): ``python -m local.slack_standin --host 127.0.0.1 --port 8790``; the admin
endpoints under ``/_standin/`` (requests, channels/{id}/messages, faults, reset) expose the same controls.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "xoxb-standin-token"
DEFAULT_CHANNEL = "C0123456789"
DEFAULT_WEBHOOK_PATH = "/services/T000/B000/XXXX"
# What auth.test answers for a valid token: the bot user and workspace the token belongs to.
STANDIN_IDENTITY = {
    "url": "https://standin.slack.com/",
    "team": "Stand-in",
    "user": "bedrock-notifier",
    "team_id": "T000",
    "user_id": "U0STANDIN",
    "bot_id": "B0STANDIN",
}

# Slack's documented limits for messages and the blocks the notifier uses.
MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_ATTACHMENTS = 100
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_URL = 3_000
MAX_BLOCK_ID = 255

# The HTTP status Slack's incoming webhooks answer each error with.
WEBHOOK_ERROR_STATUS = {
    "invalid_payload": 400,
    "invalid_blocks": 400,
    "no_text": 400,
    "too_many_attachments": 400,
    "msg_too_long": 400,
    "invalid_token": 403,
    "action_prohibited": 403,
    "posting_to_general_channel_denied": 403,
    "no_service": 404,
    "channel_not_found": 404,
    "user_not_found": 404,
    "no_service_id": 404,
    "no_team": 404,
    "channel_is_archived": 410,
    "team_disabled": 410,
}

# The bot scopes a token has unless given others; the read methods need channels:history.
DEFAULT_SCOPES = frozenset({"chat:write", "channels:history", "groups:history"})
READ_METHODS = frozenset({"conversations.history", "conversations.replies"})
DEFAULT_READ_LIMIT = 100
MAX_READ_LIMIT = 999

_WEBHOOK_PATH = re.compile(r"^/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$")
_FIRST_TS = 1_700_000_000_000_100  # "1700000000.000100", in microseconds


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes = field(repr=False)

    @property
    def kind(self) -> str:
        if self.path.startswith("/api/"):
            return "api"
        if self.path.startswith("/services/"):
            return "webhook"
        return "admin"


@dataclass
class Fault:
    """What the next ``remaining`` matching calls answer instead of the normal response."""

    remaining: int
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    drop_connection: bool = False
    target: str = "any"  # "api", "webhook" or "any"
    method: str | None = None  # "chat.postMessage", "chat.update" or None for every API method

    def matches(self, kind: str, method: str | None) -> bool:
        if self.target not in ("any", kind):
            return False
        return self.method is None or self.method == method


@dataclass
class StoredMessage:
    channel: str
    ts: str
    text: str | None
    blocks: list[Any] | None
    attachments: list[Any] | None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    source: str = "api"  # "api" or "webhook"
    metadata: Any = None
    edits: int = 0

    def as_slack(self, *, metadata: bool = True) -> dict[str, Any]:
        """The message object Slack returns in API responses (the read methods add metadata only when asked)."""
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text or ""}
        if self.source == "api":
            message.update({"user": "U0STANDIN", "bot_id": "B0STANDIN"})
        if self.blocks is not None:
            message["blocks"] = self.blocks
        if self.attachments is not None:
            message["attachments"] = self.attachments
        if self.thread_ts is not None:
            message["thread_ts"] = self.thread_ts
        if self.metadata is not None and metadata:
            message["metadata"] = self.metadata
        if self.edits:
            message["edited"] = {"user": "U0STANDIN", "ts": self.ts}
        return message


@dataclass
class ChannelMessage:
    """A message as a reader of the channel sees it: current content and, for a parent, its thread."""

    ts: str
    text: str | None
    blocks: list[Any] | None
    attachments: list[Any] | None
    edits: int
    source: str
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: Any = None  # as posted: {"event_type": ..., "event_payload": {...}}
    replies: list[ChannelMessage] = field(default_factory=list)

    @property
    def all_text(self) -> str:
        """Every visible string of the message (fallback text and block texts), for assertions."""
        return "\n".join(_visible_strings({"text": self.text, "blocks": self.blocks, "attachments": self.attachments}))


def _visible_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("text", "blocks", "attachments", "fields", "elements", "fallback", "accessory", "title"):
                yield from _visible_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _visible_strings(item)


class LimitViolation(Exception):
    """A payload Slack would refuse; ``error`` is Slack's error code, ``detail`` points at the offending part."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


def _text_of(obj: Any, pointer: str, *, limit: int, plain_only: bool = False) -> None:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
        raise LimitViolation("invalid_blocks", f"{pointer} must be a text object")
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        raise LimitViolation("invalid_blocks", f"{pointer}.type must be {' or '.join(allowed)}")
    if not obj["text"]:
        raise LimitViolation("invalid_blocks", f"{pointer}.text must not be empty")
    if len(obj["text"]) > limit:
        raise LimitViolation("invalid_blocks", f"{pointer}.text must be at most {limit} characters")


def _check_button(element: Mapping[str, Any], pointer: str) -> None:
    _text_of(element.get("text"), f"{pointer}.text", limit=MAX_BUTTON_TEXT, plain_only=True)
    url = element.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > MAX_URL):
        raise LimitViolation("invalid_blocks", f"{pointer}.url must be a string of at most {MAX_URL} characters")


def _check_block(block: Any, pointer: str) -> None:
    if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
        raise LimitViolation("invalid_blocks", f"{pointer} must be an object with a type")
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
        raise LimitViolation("invalid_blocks", f"{pointer}.block_id must be at most {MAX_BLOCK_ID} characters")
    kind = block["type"]
    if kind == "header":
        _text_of(block.get("text"), f"{pointer}.text", limit=MAX_HEADER_TEXT, plain_only=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            raise LimitViolation("invalid_blocks", f"{pointer} needs text or fields")
        if "text" in block:
            _text_of(block["text"], f"{pointer}.text", limit=MAX_SECTION_TEXT)
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
            raise LimitViolation("invalid_blocks", f"{pointer}.fields must be at most {MAX_SECTION_FIELDS} items")
        for index, item in enumerate(fields):
            _text_of(item, f"{pointer}.fields[{index}]", limit=MAX_FIELD_TEXT)
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping) and accessory.get("type") == "button":
            _check_button(accessory, f"{pointer}.accessory")
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
            raise LimitViolation("invalid_blocks", f"{pointer}.elements must have 1 to {MAX_CONTEXT_ELEMENTS} items")
        for index, element in enumerate(elements):
            if isinstance(element, Mapping) and element.get("type") == "image":
                continue
            _text_of(element, f"{pointer}.elements[{index}]", limit=MAX_FIELD_TEXT)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_ACTION_ELEMENTS:
            raise LimitViolation("invalid_blocks", f"{pointer}.elements must have 1 to {MAX_ACTION_ELEMENTS} items")
        for index, element in enumerate(elements):
            if not isinstance(element, Mapping) or element.get("type") != "button":
                raise LimitViolation("invalid_blocks", f"{pointer}.elements[{index}] is not a supported element")
            _check_button(element, f"{pointer}.elements[{index}]")
    elif kind != "divider":
        raise LimitViolation("invalid_blocks", f"{pointer}.type {kind!r} is not supported here")


def _check_blocks(blocks: Any, pointer: str) -> None:
    if not isinstance(blocks, list):
        raise LimitViolation("invalid_blocks", f"{pointer} must be an array")
    if len(blocks) > MAX_BLOCKS:
        raise LimitViolation("invalid_blocks", f"{pointer} must have at most {MAX_BLOCKS} blocks")
    for index, block in enumerate(blocks):
        _check_block(block, f"{pointer}[{index}]")


def validate_message(payload: Mapping[str, Any]) -> None:
    """Raise LimitViolation when Slack would refuse this message payload.

    Stricter than Slack in one way on purpose: a top-level ``text`` fallback is required (Slack only warns),
    because notifications and screen readers show that text.
    """
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LimitViolation("no_text", "text must be a non-empty string (the notification fallback)")
    if len(text) > MAX_TEXT:
        raise LimitViolation("msg_too_long", f"text must be at most {MAX_TEXT} characters")
    if payload.get("blocks") is not None:
        _check_blocks(payload["blocks"], "blocks")
    attachments = payload.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            raise LimitViolation("invalid_attachments", "attachments must be an array")
        if len(attachments) > MAX_ATTACHMENTS:
            raise LimitViolation("too_many_attachments", f"at most {MAX_ATTACHMENTS} attachments")
        for index, attachment in enumerate(attachments):
            if not isinstance(attachment, Mapping):
                raise LimitViolation("invalid_attachments", f"attachments[{index}] must be an object")
            if attachment.get("blocks") is not None:
                _check_blocks(attachment["blocks"], f"attachments[{index}].blocks")


def _decode_json_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Form bodies carry blocks, attachments and metadata as JSON strings, as Slack accepts them."""
    for name in ("blocks", "attachments", "metadata"):
        if isinstance(body.get(name), str):
            try:
                body[name] = json.loads(body[name])
            except ValueError:
                raise LimitViolation("invalid_blocks" if name == "blocks" else "invalid_arguments", name) from None
    return body


def _in_range(messages: list[dict[str, Any]], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Slack's oldest / latest bounds, exclusive unless inclusive is set."""
    inclusive = _flag(body.get("inclusive"))
    oldest, latest = body.get("oldest"), body.get("latest")

    def keep(message: dict[str, Any]) -> bool:
        ts = float(message["ts"])
        if oldest not in (None, "") and (ts < float(oldest) or (ts == float(oldest) and not inclusive)):
            return False
        return latest in (None, "") or ts < float(latest) or (ts == float(latest) and inclusive)

    return [message for message in messages if keep(message)]


def _page(messages: list[dict[str, Any]], body: Mapping[str, Any]) -> dict[str, Any]:
    """One page of a read method's answer, with Slack's cursor pagination (the cursor is opaque to callers)."""
    try:
        limit = int(body.get("limit") or DEFAULT_READ_LIMIT)
        cursor = str(body.get("cursor") or "")
        start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    except ValueError:
        return {"ok": False, "error": "invalid_cursor" if body.get("cursor") else "invalid_limit"}
    limit = min(max(limit, 1), MAX_READ_LIMIT)
    page = messages[start : start + limit]
    has_more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if has_more else ""
    return {"ok": True, "messages": page, "has_more": has_more, "response_metadata": {"next_cursor": next_cursor}}


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


class SlackStandIn:
    """The server and its state. Thread-safe; every public method may be called while requests are served."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> SlackStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """What WebClient(base_url=...) and SLACK_API_URL take."""
        return f"{self.base_url}/api/"

    def webhook_url(self, path: str = DEFAULT_WEBHOOK_PATH) -> str:
        return f"{self.base_url}{path}"

    # --- configuration ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget messages, requests and faults; back to one token, one channel and one webhook."""
        with self._lock:
            self._tokens: set[str] = {DEFAULT_TOKEN}
            self._scopes: dict[str, frozenset[str]] = {DEFAULT_TOKEN: DEFAULT_SCOPES}
            self._revoked_tokens: set[str] = set()
            self._channels: dict[str, dict[str, bool]] = {DEFAULT_CHANNEL: {"archived": False, "member": True}}
            self._webhooks: dict[str, str] = {DEFAULT_WEBHOOK_PATH: DEFAULT_CHANNEL}
            self._revoked_webhooks: set[str] = set()
            self._faults: list[Fault] = []
            self._requests: list[RecordedRequest] = []
            self._messages: list[StoredMessage] = []
            self._next_ts = _FIRST_TS

    def add_token(self, token: str, scopes: frozenset[str] | set[str] = DEFAULT_SCOPES) -> None:
        with self._lock:
            self._tokens.add(token)
            self._scopes[token] = frozenset(scopes)
            self._revoked_tokens.discard(token)

    def revoke_token(self, token: str) -> None:
        """Calls with this token now get ``token_revoked``."""
        with self._lock:
            self._tokens.discard(token)
            self._revoked_tokens.add(token)

    def add_channel(self, channel: str, *, archived: bool = False, member: bool = True) -> None:
        with self._lock:
            self._channels[channel] = {"archived": archived, "member": member}

    def remove_channel(self, channel: str) -> None:
        with self._lock:
            self._channels.pop(channel, None)

    def add_webhook(self, path: str, channel: str = DEFAULT_CHANNEL) -> str:
        if not _WEBHOOK_PATH.match(path):
            raise ValueError("a webhook path looks like /services/T.../B.../...")
        with self._lock:
            self._webhooks[path] = channel
            self._revoked_webhooks.discard(path)
            self._channels.setdefault(channel, {"archived": False, "member": True})
        return self.webhook_url(path)

    def remove_webhook(self, path: str) -> None:
        """The webhook now answers 404 no_service, as a removed integration does."""
        with self._lock:
            self._webhooks.pop(path, None)

    def revoke_webhook(self, path: str) -> None:
        """The webhook now answers 403 invalid_token."""
        with self._lock:
            self._revoked_webhooks.add(path)

    def delete_message(self, channel: str, ts: str) -> None:
        """As a person deleting the message in Slack: later chat.update calls get message_not_found."""
        with self._lock:
            self._messages = [m for m in self._messages if not (m.channel == channel and m.ts == ts)]

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        drop_connection: bool = False,
        target: str = "any",
        method: str | None = None,
    ) -> None:
        """Queue a fault for the next ``count`` matching calls (faults queued earlier are served first).

        ``status=429`` answers rate_limited with a Retry-After header, ``status>=500`` a server error,
        ``error="channel_not_found"`` (status 200) an API error or the matching webhook error status,
        ``drop_connection=True`` closes the connection without answering.
        """
        if target not in ("any", "api", "webhook"):
            raise ValueError("target is api, webhook or any")
        with self._lock:
            self._faults.append(
                Fault(
                    remaining=count,
                    status=status,
                    error=error,
                    retry_after=retry_after,
                    drop_connection=drop_connection,
                    target=target,
                    method=method,
                )
            )

    # --- what was received -----------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path.endswith(path_suffix)]

    def channel_messages(self, channel: str = DEFAULT_CHANNEL) -> list[ChannelMessage]:
        """Top-level messages in the order posted, each with its current content and thread replies.

        A reply posted with reply_broadcast also shows in the channel, as in Slack.
        """
        with self._lock:
            stored = [message for message in self._messages if message.channel == channel]
        view = {m.ts: self._view(m) for m in stored}
        top_level: list[ChannelMessage] = []
        for message in stored:
            if message.thread_ts is None:
                top_level.append(view[message.ts])
            else:
                parent = view.get(message.thread_ts)
                if parent is not None:
                    parent.replies.append(view[message.ts])
                if message.reply_broadcast:
                    top_level.append(view[message.ts])
        return top_level

    def stored_messages(self, channel: str = DEFAULT_CHANNEL) -> list[StoredMessage]:
        """Every message of the channel as stored, in the order posted, with its metadata (copies)."""
        with self._lock:
            return [copy.deepcopy(message) for message in self._messages if message.channel == channel]

    def thread(self, channel: str, ts: str) -> list[ChannelMessage]:
        for message in self.channel_messages(channel):
            if message.ts == ts:
                return message.replies
        raise KeyError(f"no message {ts} in {channel}")

    @staticmethod
    def _view(message: StoredMessage) -> ChannelMessage:
        return ChannelMessage(
            ts=message.ts,
            text=message.text,
            blocks=message.blocks,
            attachments=message.attachments,
            edits=message.edits,
            source=message.source,
            thread_ts=message.thread_ts,
            reply_broadcast=message.reply_broadcast,
            metadata=message.metadata,
        )

    # --- request handling (called from the server threads) ---------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_fault(self, kind: str, method: str | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(kind, method):
                    fault.remaining -= 1
                    return fault
            return None

    def _new_ts(self) -> str:
        value = self._next_ts
        self._next_ts += 100
        return f"{value // 1_000_000}.{value % 1_000_000:06d}"

    def handle_api(self, method: str, headers: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
        token = headers.get("authorization", "").removeprefix("Bearer ").strip() or str(body.get("token") or "")
        with self._lock:
            if not token:
                return {"ok": False, "error": "not_authed"}
            if token in self._revoked_tokens:
                return {"ok": False, "error": "token_revoked"}
            if token not in self._tokens:
                return {"ok": False, "error": "invalid_auth"}
            if method == "auth.test":
                return {"ok": True, **STANDIN_IDENTITY}
            if method not in ("chat.postMessage", "chat.update", *READ_METHODS):
                return {"ok": False, "error": "unknown_method"}
            scopes = self._scopes.get(token, DEFAULT_SCOPES)
            if method in READ_METHODS and "channels:history" not in scopes:
                return {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": "channels:history",
                    "provided": ",".join(sorted(scopes)),
                }
            channel = str(body.get("channel") or "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            state = self._channels.get(channel)
            if state is None:
                return {"ok": False, "error": "channel_not_found"}
            if state["archived"] and method not in READ_METHODS:  # an archived channel can still be read
                return {"ok": False, "error": "is_archived"}
            if not state["member"]:
                return {"ok": False, "error": "not_in_channel"}
        if method == "conversations.history":
            return self._history(channel, body)
        if method == "conversations.replies":
            return self._replies(channel, body)
        try:
            validate_message(body)
        except LimitViolation as violation:
            return {"ok": False, "error": violation.error, "response_metadata": {"messages": [violation.detail]}}
        if method == "chat.postMessage":
            return self._post(channel, body)
        return self._update(channel, body)

    def _post(self, channel: str, body: dict[str, Any]) -> dict[str, Any]:
        thread_ts = body.get("thread_ts") or None
        with self._lock:
            if thread_ts is not None:
                parent = self._find(channel, str(thread_ts))
                if parent is None:
                    return {"ok": False, "error": "thread_not_found"}
                if parent.thread_ts is not None:  # replying to a reply lands in the same thread, as in Slack
                    thread_ts = parent.thread_ts
            message = StoredMessage(
                channel=channel,
                ts=self._new_ts(),
                text=body.get("text"),
                blocks=body.get("blocks"),
                attachments=body.get("attachments"),
                thread_ts=str(thread_ts) if thread_ts else None,
                reply_broadcast=bool(thread_ts) and _flag(body.get("reply_broadcast")),
                metadata=body.get("metadata"),
            )
            self._messages.append(message)
            return {"ok": True, "channel": channel, "ts": message.ts, "message": message.as_slack()}

    def _update(self, channel: str, body: dict[str, Any]) -> dict[str, Any]:
        ts = str(body.get("ts") or "")
        with self._lock:
            message = self._find(channel, ts)
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            if message.source != "api":
                return {"ok": False, "error": "cant_update_message"}
            message.text = body.get("text")
            message.blocks = body.get("blocks")
            message.attachments = body.get("attachments")
            if body.get("metadata") is not None:
                message.metadata = body["metadata"]
            message.edits += 1
            return {"ok": True, "channel": channel, "ts": ts, "text": message.text, "message": message.as_slack()}

    def _history(self, channel: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Top-level messages and replies broadcast to the channel, newest first, as conversations.history."""
        with self._lock:
            stored = [m for m in self._messages if m.channel == channel]
            reply_counts = Counter(m.thread_ts for m in stored if m.thread_ts is not None)  # parent ts -> replies
            shown = [m for m in stored if m.thread_ts is None or m.reply_broadcast]
            messages = [self._as_read(m, body, reply_counts) for m in reversed(shown)]
        return _page(_in_range(messages, body), body)

    def _replies(self, channel: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A thread, parent first and then its replies oldest first, as conversations.replies."""
        ts = str(body.get("ts") or "")
        with self._lock:
            message = self._find(channel, ts) if ts else None
            if message is None:
                return {"ok": False, "error": "thread_not_found"}
            root_ts = message.thread_ts or message.ts
            root = self._find(channel, root_ts)
            if root is None:  # a reply whose parent was deleted
                return {"ok": False, "error": "thread_not_found"}
            thread = [root] + [m for m in self._messages if m.channel == channel and m.thread_ts == root_ts]
            reply_counts = Counter({root_ts: len(thread) - 1})
            messages = [self._as_read(m, body, reply_counts) for m in thread]
        # The parent always comes first; oldest/latest bound the replies only, as in Slack.
        return _page([messages[0], *_in_range(messages[1:], body)], body)

    @staticmethod
    def _as_read(message: StoredMessage, body: Mapping[str, Any], reply_counts: Mapping[str, int]) -> dict[str, Any]:
        shown = message.as_slack(metadata=_flag(body.get("include_all_metadata")))
        replies = reply_counts.get(message.ts, 0)
        if message.thread_ts is None and replies:
            shown.update(thread_ts=message.ts, reply_count=replies)
        if message.thread_ts is not None and message.reply_broadcast:
            shown["subtype"] = "thread_broadcast"
        return shown

    def _find(self, channel: str, ts: str) -> StoredMessage | None:
        for message in self._messages:
            if message.channel == channel and message.ts == ts:
                return message
        return None

    def handle_webhook(self, path: str, body: Any) -> tuple[int, str]:
        with self._lock:
            channel = self._webhooks.get(path)
            if channel is None:
                return 404, "no_service"
            if path in self._revoked_webhooks:
                return 403, "invalid_token"
            if self._channels.get(channel, {}).get("archived"):
                return 410, "channel_is_archived"
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        try:
            validate_message(body)
        except LimitViolation as violation:
            return WEBHOOK_ERROR_STATUS.get(violation.error, 400), violation.error
        with self._lock:
            self._messages.append(
                StoredMessage(
                    channel=channel,
                    ts=self._new_ts(),
                    text=body.get("text"),
                    blocks=body.get("blocks"),
                    attachments=body.get("attachments"),
                    source="webhook",
                )
            )
        return 200, "ok"

    def admin_state(self, channel: str) -> list[dict[str, Any]]:
        return [asdict(message) for message in self.channel_messages(channel)]


def _make_handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SlackStandIn/1"
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the requests are recorded, and webhook paths are secrets."""

        def _read_body(self) -> tuple[bytes, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            text = raw.decode("utf-8", errors="replace")
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if self.path.startswith(("/services/", "/_standin/")):
                # Webhooks take a JSON body or a form field "payload" holding it, whatever the Content-Type.
                if content_type == "application/x-www-form-urlencoded" and text.startswith("payload="):
                    return raw, _json_or_none(dict(parse_qsl(text)).get("payload", ""))
                return raw, _json_or_none(text) if raw else None
            if content_type == "application/x-www-form-urlencoded":
                return raw, dict(parse_qsl(text, keep_blank_values=True))
            return raw, _json_or_none(text) if raw else None

        def _send(self, status: int, body: str, content_type: str, extra: Mapping[str, str] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_json(self, status: int, body: Any, extra: Mapping[str, str] | None = None) -> None:
            self._send(status, json.dumps(body), "application/json; charset=utf-8", extra)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = url.path
            headers = _lower(self.headers.items())
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            standin._record(RecordedRequest("GET", path, headers, query or None, b""))
            if path.startswith("/api/"):  # the read methods take query parameters, as slack_sdk sends them
                self._api(path.removeprefix("/api/"), headers, query)
            elif path == "/_standin/requests":
                self._send_json(200, [_request_summary(r) for r in standin.requests])
            elif match := re.fullmatch(r"/_standin/channels/([A-Z0-9]+)/messages", path):
                self._send_json(200, standin.admin_state(match.group(1)))
            else:
                self._send(404, "not_found", "text/plain")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            headers = _lower(self.headers.items())
            raw, body = self._read_body()
            if isinstance(body, dict) and not path.startswith("/services/"):
                try:
                    body = _decode_json_fields(body)
                except LimitViolation as violation:
                    standin._record(RecordedRequest("POST", path, headers, body, raw))
                    self._send_json(200, {"ok": False, "error": violation.error})
                    return
            standin._record(RecordedRequest("POST", path, headers, body, raw))
            if path.startswith("/_standin/"):
                self._admin(path, body)
            elif path.startswith("/api/"):
                self._api(path.removeprefix("/api/"), headers, body)
            elif path.startswith("/services/"):
                self._webhook(path, body)
            else:
                self._send(404, "not_found", "text/plain")

        def _fault(self, kind: str, method: str | None) -> bool:
            """Answer with a queued fault if one matches; True when the call was answered (or dropped)."""
            fault = standin._take_fault(kind, method)
            if fault is None:
                return False
            if fault.drop_connection:
                self.close_connection = True
                return True
            if fault.status == 429:
                headers = {"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)}
                if kind == "api":
                    self._send_json(429, {"ok": False, "error": "ratelimited"}, headers)
                else:
                    self._send(429, "rate_limited", "text/plain", headers)
            elif fault.status >= 500:
                self._send(fault.status, "<html><body>Slack is having trouble</body></html>", "text/html")
            elif kind == "api":
                self._send_json(fault.status, {"ok": False, "error": fault.error or "fatal_error"})
            else:
                error = fault.error or "invalid_payload"
                self._send(WEBHOOK_ERROR_STATUS.get(error, 400), error, "text/html")
            return True

        def _api(self, method: str, headers: Mapping[str, str], body: Any) -> None:
            if self._fault("api", method):
                return
            if body is None:  # no arguments at all, as for auth.test with the token in the header
                body = {}
            if not isinstance(body, dict):
                self._send_json(200, {"ok": False, "error": "invalid_json"})
                return
            self._send_json(200, standin.handle_api(method, headers, body))

        def _webhook(self, path: str, body: Any) -> None:
            if self._fault("webhook", None):
                return
            status, text = standin.handle_webhook(path, body)
            self._send(status, text, "text/html")

        def _admin(self, path: str, body: Any) -> None:
            if path == "/_standin/reset":
                standin.reset()
                self._send_json(200, {"ok": True})
            elif path == "/_standin/faults" and isinstance(body, dict):
                try:
                    standin.fail_next(
                        int(body.get("count", 1)),
                        status=int(body.get("status", 200)),
                        error=body.get("error"),
                        retry_after=body.get("retryAfter"),
                        drop_connection=bool(body.get("dropConnection", False)),
                        target=str(body.get("target", "any")),
                        method=body.get("method"),
                    )
                except (TypeError, ValueError) as exc:
                    self._send_json(400, {"ok": False, "error": str(exc)})
                    return
                self._send_json(200, {"ok": True})
            else:
                self._send(404, "not_found", "text/plain")

    return Handler


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _lower(items: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}


def _request_summary(request: RecordedRequest) -> dict[str, Any]:
    headers = {k: ("Bearer ***" if k == "authorization" else v) for k, v in request.headers.items()}
    return {"method": request.method, "path": request.path, "headers": headers, "body": request.body}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.slack_standin", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--token", action="append", default=[], help="a valid bot token (repeatable)")
    parser.add_argument("--channel", action="append", default=[], help="a channel ID the bot is in (repeatable)")
    parser.add_argument(
        "--webhook", action="append", default=[], help="a webhook path, optionally PATH=CHANNEL (repeatable)"
    )
    args = parser.parse_args(argv)

    standin = SlackStandIn(args.host, args.port)
    for token in args.token:
        standin.add_token(token)
    for channel in args.channel:
        standin.add_channel(channel)
    for spec in args.webhook:
        path, _, channel = spec.partition("=")
        standin.add_webhook(path, channel or DEFAULT_CHANNEL)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=standin.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        json.dumps({"apiUrl": standin.api_url, "webhookUrl": standin.webhook_url(), "channel": DEFAULT_CHANNEL}),
        flush=True,
    )
    standin.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
