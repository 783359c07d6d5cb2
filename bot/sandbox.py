"""A local, in-process fake of the Telegram Bot API for end-to-end tests and the demo shell.

:class:`Sandbox` serves a subset of the Bot API with aiohttp on a loopback address, so that an
unmodified python-telegram-bot ``Application`` built with
``ApplicationBuilder().token(sb.token).base_url(sb.base_url).base_file_url(sb.base_file_url)``
talks to it exactly as it talks to Telegram (long polling through ``getUpdates``).

Fake users (:class:`SandboxUser`) and groups (:class:`SandboxChat`) drive the bot: they enqueue
updates and consume what the bot sends back (:class:`SentMessage`). Failures (HTTP errors, blocked
users, slow answers, Telegram's flood limits) can be injected for resilience tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import itertools
import json
import math
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

__all__ = [
    "Sandbox",
    "SandboxChat",
    "SandboxTimeout",
    "SandboxUser",
    "SentMessage",
    "UploadedFile",
]

JSONDict = dict[str, Any]
_T = TypeVar("_T")

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA = 64
_FIRST_USER_ID = 100_000_001
_FIRST_GROUP_ID = -1_001_000_000_001
# A 1x1 transparent PNG, used as the default payload of photos sent by fake users.
_TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)

_JSON_KEYS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "menu_button",
        "reaction",
        "reply_markup",
        "reply_parameters",
        "scope",
    }
)
_INT_KEYS = frozenset(
    {
        "cache_time",
        "chat_id",
        "from_chat_id",
        "limit",
        "message_id",
        "message_thread_id",
        "offset",
        "reply_to_message_id",
        "user_id",
    }
)
_FLOAT_KEYS = frozenset({"timeout"})
_BOOL_KEYS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "protect_content",
        "show_alert",
    }
)
# Methods that create a new message in a chat (subject to flood limits).
_SEND_METHODS = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "copymessage", "forwardmessage"}
)
# Methods addressed to a chat through ``chat_id``: the chat must exist.
_CHAT_METHODS = _SEND_METHODS | frozenset(
    {
        "sendchataction",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
        "deletemessage",
        "getchat",
        "getchatmember",
        "pinchatmessage",
        "unpinchatmessage",
        "setmessagereaction",
    }
)
# Chat methods that a user who blocked the bot rejects with 403.
_BLOCKABLE_METHODS = _CHAT_METHODS - {"getchat", "getchatmember"}
_OK_METHODS = frozenset(
    {
        "logout",
        "close",
        "setchatmenubutton",
        "setmydescription",
        "setmyshortdescription",
        "setmyname",
        "pinchatmessage",
        "unpinchatmessage",
        "setmessagereaction",
    }
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_BAD_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class SandboxTimeout(AssertionError, TimeoutError):
    """Raised by the driver API when an awaited bot reaction does not happen in time."""


class _ApiError(Exception):
    """An error answer of the fake Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        """Return the Telegram-shaped error body."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file part received in a ``multipart/form-data`` request."""

    filename: str
    content: bytes
    content_type: str


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int


@dataclass
class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` sends per second."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        """Refill, then return how long until one token is available (0 if available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass
class _Limits:
    per_chat: float | None
    global_rate: float | None
    per_group_minute: float | None
    buckets: dict[str, _Bucket] = field(default_factory=dict)


@dataclass
class SentMessage:
    """One message sent (or edit made) by the bot, as seen by the fake users."""

    message_id: int
    chat_id: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JSONDict | None = None
    reply_to_message_id: int | None = None
    edited: bool = False
    photo: str | None = None
    document: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    parse_mode: str | None = None
    message_thread_id: int | None = None
    method: str = "sendmessage"
    date: int = 0
    deleted: bool = False
    raw: JSONDict = field(default_factory=dict, repr=False)

    @property
    def content(self) -> str:
        """Return the text, or the caption for media messages, or an empty string."""
        return self.text if self.text is not None else (self.caption or "")

    def button_rows(self) -> list[list[tuple[str, str | None]]]:
        """Return the inline keyboard as rows of ``(text, callback_data)``."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]

    def buttons(self) -> list[tuple[str, str | None]]:
        """Return the inline keyboard flattened to ``(text, callback_data)`` pairs."""
        return [button for row in self.button_rows() for button in row]

    def reply_button_rows(self) -> list[list[tuple[str, bool]]]:
        """Return the reply keyboard as rows of ``(text, request_contact)``."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[_reply_button(b) for b in row] for row in rows]

    def reply_buttons(self) -> list[tuple[str, bool]]:
        """Return the reply keyboard flattened to ``(text, request_contact)`` pairs."""
        return [button for row in self.reply_button_rows() for button in row]

    @property
    def removes_keyboard(self) -> bool:
        """Whether this message carries a ``ReplyKeyboardRemove`` markup."""
        return bool((self.reply_markup or {}).get("remove_keyboard"))


def _reply_button(button: JSONDict | str) -> tuple[str, bool]:
    """Normalise a reply keyboard button (a dict or a bare string) to ``(text, contact)``."""
    if isinstance(button, str):
        return button, False
    return button.get("text", ""), bool(button.get("request_contact"))


def _utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_value(key: str, value: Any) -> Any:
    """Convert one form-encoded parameter to its natural Python type."""
    if not isinstance(value, str):
        return value
    if key in _JSON_KEYS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
    if key in _INT_KEYS:
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    if key in _FLOAT_KEYS:
        with contextlib.suppress(ValueError):
            return float(value)
        return value
    if key in _BOOL_KEYS:
        return value.lower() in ("true", "1")
    return value


def _compact(data: JSONDict) -> JSONDict:
    """Drop ``None`` values from a JSON object."""
    return {key: value for key, value in data.items() if value is not None}


def _find_button(rows: list[list[JSONDict]], wanted: str) -> JSONDict | None:
    """Find a button by exact text/data, else by unique case-insensitive substring."""
    buttons = [button for row in rows for button in row if isinstance(button, dict)]
    for key in ("text", "callback_data"):
        for button in buttons:
            if button.get(key) == wanted:
                return button
    needle = wanted.lower()
    matches = [
        b
        for b in buttons
        if needle in str(b.get("text", "")).lower() or needle in str(b.get("callback_data") or "")
    ]
    if len(matches) > 1:
        labels = ", ".join(repr(b.get("text")) for b in matches)
        raise AssertionError(f"button {wanted!r} is ambiguous: matches {labels}")
    return matches[0] if matches else None


class _Party:
    """Shared driver behaviour of users and group chats: consuming the bot's messages."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._cursors: dict[int, int] = {}

    def _default_chat_id(self) -> int:
        raise NotImplementedError

    def _chat_id(self, chat: SandboxChat | None) -> int:
        return chat.id if chat is not None else self._default_chat_id()

    def inbox(self, chat: SandboxChat | None = None) -> list[SentMessage]:
        """Return the bot's messages in the chat, in their current (edited) state."""
        return self._sandbox.messages(self._chat_id(chat))

    async def next_message(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
        *,
        chat: SandboxChat | None = None,
    ) -> SentMessage:
        """Wait for the next bot send or edit in the chat that this party has not consumed."""
        chat_id = self._chat_id(chat)
        events = self._sandbox._chat_events.setdefault(chat_id, [])

        def unread() -> SentMessage | None:
            cursor = self._cursors.get(chat_id, 0)
            if cursor < len(events):
                self._cursors[chat_id] = cursor + 1
                return events[cursor]
            return None

        message = await self._sandbox._wait_until(unread, timeout)
        if message is None:
            raise SandboxTimeout(self._timeout_report(chat_id, timeout))
        return message

    async def expect_no_message(
        self, within: float = 0.5, chat: SandboxChat | None = None
    ) -> None:
        """Assert that the bot sends or edits nothing new in the chat for ``within`` seconds."""
        chat_id = self._chat_id(chat)
        events = self._sandbox._chat_events.setdefault(chat_id, [])
        cursor = self._cursors.get(chat_id, 0)
        event = await self._sandbox._wait_until(
            lambda: events[cursor] if len(events) > cursor else None, within
        )
        if event is not None:
            raise AssertionError(f"expected no bot message in chat {chat_id}, got {event!r}")

    def skip_pending(self, chat: SandboxChat | None = None) -> None:
        """Mark every bot message already in the chat as consumed."""
        chat_id = self._chat_id(chat)
        self._cursors[chat_id] = len(self._sandbox._chat_events.get(chat_id, []))

    def _timeout_report(self, chat_id: int, timeout: float) -> str:
        sandbox = self._sandbox
        recent = [m.content[:60] for m in sandbox._chat_events.get(chat_id, [])[-3:]]
        calls = [name for name, _ in sandbox.calls if name != "getupdates"][-8:]
        return (
            f"{self!r}: no new bot message in chat {chat_id} within {timeout}s. "
            f"Last messages in this chat: {recent}. Recent API calls: {calls}. "
            f"Recent API errors: {sandbox.errors[-3:]}. "
            f"Pending (undelivered) updates: {len(sandbox._updates)}."
        )


class SandboxUser(_Party):
    """A fake Telegram user who chats with the bot privately or in sandbox groups."""

    def __init__(
        self,
        sandbox: Sandbox,
        user_id: int,
        first_name: str,
        *,
        username: str | None,
        language_code: str | None,
        last_name: str | None,
    ) -> None:
        super().__init__(sandbox)
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    def __repr__(self) -> str:
        return f"SandboxUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """Return the id of the private chat with the bot (equal to the user id)."""
        return self.id

    @property
    def blocked(self) -> bool:
        """Whether this user currently blocks the bot."""
        return self.id in self._sandbox._blocked

    @property
    def callback_answers(self) -> list[JSONDict]:
        """Return the ``answerCallbackQuery`` answers to this user's presses, in order."""
        return [
            answer
            for query_id, answer in self._sandbox.callback_answers.items()
            if self._sandbox._callback_queries.get(query_id) == self.id
        ]

    def _default_chat_id(self) -> int:
        return self.id

    def to_json(self) -> JSONDict:
        """Return the Bot API ``User`` object for this user."""
        return _compact(
            {
                "id": self.id,
                "is_bot": False,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )

    def private_chat_json(self) -> JSONDict:
        """Return the Bot API ``Chat`` object of the private chat with the bot."""
        return _compact(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )

    async def send(
        self,
        text: str,
        *,
        chat: SandboxChat | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> int:
        """Send a text message (commands get a ``bot_command`` entity); return its id."""
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._sandbox._user_message(self, chat, content, reply_to)

    async def share_contact(self, phone_number: str, *, chat: SandboxChat | None = None) -> int:
        """Share a contact card of this user (as a ``request_contact`` button does)."""
        contact = _compact(
            {
                "phone_number": phone_number,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "user_id": self.id,
            }
        )
        return self._sandbox._user_message(self, chat, {"contact": contact}, None)

    async def send_photo(
        self,
        caption: str | None = None,
        chat: SandboxChat | None = None,
        *,
        data: bytes = _TINY_PNG,
    ) -> int:
        """Send a photo (a tiny PNG unless ``data`` is given); return the message id."""
        stored = self._sandbox._store_file(data, "photos", "jpg")
        content = _compact({"photo": _photo_sizes(stored), "caption": caption})
        return self._sandbox._user_message(self, chat, content, None)

    async def edit(self, message_id: int, text: str, *, chat: SandboxChat | None = None) -> None:
        """Edit one of this user's earlier text messages (an ``edited_message`` update)."""
        self._sandbox._user_edit(self, chat, message_id, text)

    async def press(self, message: SentMessage, button: str) -> str:
        """Press an inline button (by text or callback data); return the callback query id.

        On a reply keyboard the button's text is sent as a message instead, and the new
        message id is returned as a string.
        """
        current = self._sandbox._current_message(message.chat_id, message.message_id)
        markup = current.reply_markup or {}
        if markup.get("keyboard"):
            return await self._press_reply_button(current, button)
        found = _find_button(markup.get("inline_keyboard") or [], button)
        if found is None:
            raise AssertionError(
                f"no button matching {button!r} in message {current.message_id} "
                f"({current.content[:60]!r}); available: {current.buttons()}"
            )
        if found.get("callback_data") is None:
            raise AssertionError(f"button {found.get('text')!r} has no callback_data: {found}")
        return self._sandbox._callback_query(self, current, str(found["callback_data"]))

    async def _press_reply_button(self, message: SentMessage, button: str) -> str:
        rows = [
            [{"text": text, "request_contact": contact} for text, contact in row]
            for row in message.reply_button_rows()
        ]
        found = _find_button(rows, button)
        if found is None:
            raise AssertionError(
                f"no reply button matching {button!r}; available: {message.reply_buttons()}"
            )
        if found["request_contact"]:
            raise AssertionError(f"button {found['text']!r} requests a contact: use share_contact")
        chat = self._sandbox._groups.get(message.chat_id)
        return str(await self.send(str(found["text"]), chat=chat))

    async def wait_callback_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
    ) -> JSONDict:
        """Wait until the bot answers the callback query; return the recorded answer."""
        answer = await self._sandbox._wait_until(
            lambda: self._sandbox.callback_answers.get(query_id), timeout
        )
        if answer is None:
            raise SandboxTimeout(f"callback query {query_id} not answered within {timeout}s")
        return answer


class SandboxChat(_Party):
    """A fake group (``supergroup``) chat shared by the bot and some sandbox users."""

    def __init__(
        self, sandbox: Sandbox, chat_id: int, title: str, members: list[SandboxUser]
    ) -> None:
        super().__init__(sandbox)
        self.id = chat_id
        self.title = title
        self.type = "supergroup"
        self.members = list(members)

    def __repr__(self) -> str:
        return f"SandboxChat(id={self.id}, title={self.title!r})"

    def _default_chat_id(self) -> int:
        return self.id

    def to_json(self) -> JSONDict:
        """Return the Bot API ``Chat`` object of this group."""
        return {"id": self.id, "type": self.type, "title": self.title}

    def add_member(self, user: SandboxUser) -> None:
        """Add a user to the group's member list."""
        if user not in self.members:
            self.members.append(user)


def _photo_sizes(stored: _StoredFile) -> list[JSONDict]:
    """Return a Telegram-like ``PhotoSize`` list (thumbnail and full size) for a file."""
    size = len(stored.content)
    return [
        {
            "file_id": stored.file_id + "-s",
            "file_unique_id": stored.file_unique_id + "s",
            "width": 90,
            "height": 90,
            "file_size": size,
        },
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 800,
            "height": 800,
            "file_size": size,
        },
    ]


def _reply_to_id(params: JSONDict) -> tuple[int | None, bool]:
    """Extract the replied message id and ``allow_sending_without_reply`` from parameters."""
    reply_parameters = params.get("reply_parameters")
    if isinstance(reply_parameters, dict):
        allow = bool(reply_parameters.get("allow_sending_without_reply"))
        return reply_parameters.get("message_id"), allow
    return params.get("reply_to_message_id"), bool(params.get("allow_sending_without_reply"))


def _validate_markup(markup: Any) -> None:
    """Reject inline keyboards that Telegram would reject."""
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > _MAX_CALLBACK_DATA:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise _ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )


def _inline_markup(markup: Any) -> JSONDict | None:
    """Return the markup if it is an inline keyboard (the only kind echoed in Messages)."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


class Sandbox:
    """A fake Telegram Bot API server on 127.0.0.1 plus a driver API for fake users."""

    def __init__(
        self,
        token: str = "123456:SANDBOX",
        bot_username: str = "carebot_sandbox_bot",
        *,
        first_update_id: int = 1,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError(f"token must look like '<digits>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.base_url = ""
        self.base_file_url = ""
        self.calls: list[tuple[str, JSONDict]] = []
        self.errors: list[tuple[str, int, str]] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.stats: dict[str, int] = dict.fromkeys(
            ("calls", "sent", "edited", "rate_limited", "errors"), 0
        )
        self.webhook_url = ""
        self._users: dict[int, SandboxUser] = {}
        self._groups: dict[int, SandboxChat] = {}
        self._blocked: set[int] = set()
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._updates: list[JSONDict] = []
        # A bot that keeps its database between sandbox runs (the demo) remembers update ids it
        # handled: start above them, as Telegram's ids keep growing.
        self._update_ids = itertools.count(first_update_id)
        self._user_ids = itertools.count(_FIRST_USER_ID)
        self._group_ids = itertools.count(_FIRST_GROUP_ID, -1)
        self._query_ids = itertools.count(4_000_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._current: dict[int, dict[int, SentMessage]] = {}
        self._events: list[SentMessage] = []
        self._chat_events: dict[int, list[SentMessage]] = {}
        self._callback_queries: dict[str, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, _StoredFile] = {}
        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._limits: _Limits | None = None
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[JSONDict], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._ok,
            "getfile": self._get_file,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
        }
        for name in _OK_METHODS:
            self._handlers[name] = self._ok

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving on a loopback address (``port=0`` picks a free port)."""
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the sandbox only listens on loopback addresses, not {host!r}")
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.bind((host, port))
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self._closing = False
        bound = sock.getsockname()[1]
        root = (
            f"http://[{host}]:{bound}" if family == socket.AF_INET6 else f"http://{host}:{bound}"
        )
        self.base_url = f"{root}/bot"
        self.base_file_url = f"{root}/file/bot"

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        self._closing = True
        self._notify()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        """Start the sandbox."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the sandbox."""
        await self.stop()

    # ------------------------------------------------------------------ driver API

    def create_user(
        self,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        last_name: str | None = None,
    ) -> SandboxUser:
        """Create a fake user; its private chat with the bot exists from the start."""
        uid = user_id if user_id is not None else next(self._user_ids)
        if uid in self._users or uid <= 0:
            raise ValueError(f"user id {uid} is taken or not positive")
        user = SandboxUser(
            self,
            uid,
            first_name,
            username=username,
            language_code=language_code,
            last_name=last_name,
        )
        self._users[uid] = user
        return user

    def create_group(
        self,
        title: str,
        members: list[SandboxUser] | None = None,
        chat_id: int | None = None,
    ) -> SandboxChat:
        """Create a fake supergroup (negative id) that the bot is a member of."""
        gid = chat_id if chat_id is not None else next(self._group_ids)
        if gid in self._groups or gid >= 0:
            raise ValueError(f"group id {gid} is taken or not negative")
        group = SandboxChat(self, gid, title, members or [])
        self._groups[gid] = group
        return group

    def user(self, user_id: int) -> SandboxUser:
        """Return the sandbox user with this id."""
        return self._users[user_id]

    @property
    def users(self) -> list[SandboxUser]:
        """Return all sandbox users."""
        return list(self._users.values())

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Return the commands stored by ``setMyCommands`` for this scope and language."""
        return list(self._commands.get(_commands_key(scope, language_code), []))

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Return every bot send and edit event (all chats or one chat), in order."""
        if chat_id is None:
            return list(self._events)
        return list(self._chat_events.get(chat_id, []))

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Return the bot's non-deleted messages in a chat, in their current state."""
        return [m for m in self._current.get(chat_id, {}).values() if not m.deleted]

    async def wait_sent(
        self,
        since: int = 0,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
    ) -> list[SentMessage]:
        """Wait until ``sent()`` holds more than ``since`` events; return the new ones."""
        new = await self._wait_until(lambda: self._events[since:] or None, timeout)
        return new or []

    async def wait_for_call(
        self,
        method: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
        since: int = 0,
        predicate: Callable[[JSONDict], bool] | None = None,
    ) -> JSONDict:
        """Wait for an API call of ``method`` (index ``>= since`` in ``calls``); return params."""
        wanted = method.lower()

        def find() -> JSONDict | None:
            for name, params in self.calls[since:]:
                if name == wanted and (predicate is None or predicate(params)):
                    return params
            return None

        params = await self._wait_until(find, timeout)
        if params is None:
            raise SandboxTimeout(f"no {method} call within {timeout}s")
        return params

    @property
    def pending_updates(self) -> int:
        """Return the number of updates not yet acknowledged by the bot."""
        return len(self._updates)

    def fail(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"``: any but getUpdates) fail."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        text = text.replace("{retry_after}", str(retry_after))
        self._failures.append(_Failure(method.lower(), status, text, retry_after, times, chat_id))

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the answers to the next ``times`` calls of ``method`` by ``seconds``."""
        self._delays.append(_Delay(method.lower(), seconds, times))

    def block(self, user: SandboxUser) -> None:
        """Make the user block the bot: sends to their private chat get 403."""
        self._blocked.add(user.id)

    def unblock(self, user: SandboxUser) -> None:
        """Make the user unblock the bot."""
        self._blocked.discard(user.id)

    def enforce_limits(
        self,
        per_chat_per_second: float | None = 1.0,
        global_per_second: float | None = 30.0,
        per_group_per_minute: float | None = 20.0,
    ) -> None:
        """Answer sends above Telegram's flood limits with 429 (``None`` disables a limit)."""
        self._limits = _Limits(per_chat_per_second, global_per_second, per_group_per_minute)

    def reset_faults(self) -> None:
        """Drop all injected failures, delays, blocks and flood limits."""
        self._failures.clear()
        self._delays.clear()
        self._blocked.clear()
        self._limits = None

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(_ApiError(401, "Unauthorized").payload(), status=401)
        method = request.match_info["method"].lower()
        try:
            params = await _read_params(request)
            result = await self._call(method, params)
        except _ApiError as err:
            self.errors.append((method, err.status, err.description))
            self.stats["errors"] += 1
            if err.status == 429:
                self.stats["rate_limited"] += 1
            self._notify()
            return web.json_response(err.payload(), status=err.status)
        except Exception as exc:  # a sandbox bug must surface in PTB, not hang it
            failure = _ApiError(500, f"Internal Server Error: sandbox failure {exc!r}")
            self.errors.append((method, failure.status, failure.description))
            self.stats["errors"] += 1
            return web.json_response(failure.payload(), status=500)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._file_paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(_ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _call(self, method: str, params: JSONDict) -> Any:
        self.calls.append((method, params))
        self.stats["calls"] += 1
        self._notify()
        await self._apply_delay(method)
        self._apply_failure(method, params)
        handler = self._handlers.get(method)
        if handler is None:
            raise _ApiError(404, "Not Found: method not found")
        if method in _CHAT_METHODS:
            chat_id = self._resolve_chat_id(params)
            params["chat_id"] = chat_id
            if method in _BLOCKABLE_METHODS and chat_id in self._blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            if method in _SEND_METHODS:
                self._check_limits(chat_id)
        result = await handler(params)
        self._notify()
        return result

    async def _apply_delay(self, method: str) -> None:
        for rule in self._delays:
            if rule.method == method and rule.remaining > 0:
                rule.remaining -= 1
                await asyncio.sleep(rule.seconds)
                return

    def _apply_failure(self, method: str, params: JSONDict) -> None:
        for rule in self._failures:
            if rule.remaining <= 0 or rule.method not in (method, "*"):
                continue
            if rule.method == "*" and method == "getupdates":
                continue
            if rule.chat_id is not None and str(params.get("chat_id")) != str(rule.chat_id):
                continue
            rule.remaining -= 1
            raise _ApiError(rule.status, rule.description, rule.retry_after)

    def _check_limits(self, chat_id: int) -> None:
        limits = self._limits
        if limits is None:
            return
        now = time.monotonic()
        rules = [("*", limits.global_rate, 1.0), (f"c{chat_id}", limits.per_chat, 1.0)]
        if chat_id < 0:
            rules.append((f"g{chat_id}", limits.per_group_minute, 60.0))
        buckets = []
        for key, amount, period in rules:
            if amount is None:
                continue
            rate = amount / period
            bucket = limits.buckets.setdefault(
                key, _Bucket(rate, max(1.0, amount), max(1.0, amount), now)
            )
            buckets.append(bucket)
        wait = max((bucket.wait_time(now) for bucket in buckets), default=0.0)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, predicate: Callable[[], _T | None], seconds: float) -> _T | None:
        """Poll ``predicate`` on every state change until it is not None or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            result = predicate()
            remaining = deadline - loop.time()
            if result is not None or remaining <= 0 or self._closing:
                return result
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ------------------------------------------------------------------ state helpers

    def _bot_json(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Carebot Sandbox",
            "username": self.bot_username,
        }

    def _resolve_chat_id(self, params: JSONDict) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for user in self._users.values():
                if user.username and f"@{user.username}".lower() == raw.lower():
                    return user.id
            raise _ApiError(400, "Bad Request: chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError) as exc:
            raise _ApiError(400, "Bad Request: chat not found") from exc
        if chat_id not in self._users and chat_id not in self._groups:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _chat_json(self, chat_id: int) -> JSONDict:
        if chat_id in self._groups:
            return self._groups[chat_id].to_json()
        return self._users[chat_id].private_chat_json()

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _enqueue(self, kind: str, payload: JSONDict) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._notify()

    def _stored_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        return self._messages.get((chat_id, message_id))

    def _reply_json(self, chat_id: int, message_id: int) -> JSONDict | None:
        replied = self._stored_message(chat_id, message_id)
        if replied is None:
            return None
        return {key: value for key, value in replied.items() if key != "reply_to_message"}

    def _current_message(self, chat_id: int, message_id: int) -> SentMessage:
        try:
            return self._current[chat_id][message_id]
        except KeyError:
            raise AssertionError(f"bot message {message_id} in chat {chat_id} unknown") from None

    def _user_message(
        self,
        user: SandboxUser,
        chat: SandboxChat | None,
        content: JSONDict,
        reply_to: SentMessage | int | None,
    ) -> int:
        chat_id = chat.id if chat is not None else user.id
        if chat is not None:
            chat.add_member(user)
        message_id = self._new_message_id(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat_json(chat_id),
            "from": user.to_json(),
            **content,
        }
        if reply_to is not None:
            reply_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
            replied = self._reply_json(chat_id, reply_id)
            if replied is None:
                raise AssertionError(f"cannot reply: no message {reply_id} in chat {chat_id}")
            message["reply_to_message"] = replied
        self._messages[(chat_id, message_id)] = message
        self._enqueue("message", message)
        return message_id

    def _user_edit(
        self, user: SandboxUser, chat: SandboxChat | None, message_id: int, text: str
    ) -> None:
        chat_id = chat.id if chat is not None else user.id
        original = self._stored_message(chat_id, message_id)
        if original is None or original.get("from", {}).get("id") != user.id:
            raise AssertionError(f"{user!r} has no message {message_id} in chat {chat_id}")
        edited = {**original, "text": text, "edit_date": int(time.time())}
        if not text.startswith("/"):
            edited.pop("entities", None)
        self._messages[(chat_id, message_id)] = edited
        self._enqueue("edited_message", edited)

    def _callback_query(self, user: SandboxUser, message: SentMessage, data: str) -> str:
        query_id = str(next(self._query_ids))
        self._callback_queries[query_id] = user.id
        stored = self._stored_message(message.chat_id, message.message_id) or message.raw
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": stored,
            "chat_instance": f"ci{abs(message.chat_id)}",
            "data": data,
        }
        self._enqueue("callback_query", query)
        return query_id

    def _store_file(self, content: bytes, folder: str, extension: str) -> _StoredFile:
        number = len(self._files) + 1
        unique = secrets.token_hex(6)
        stored = _StoredFile(
            file_id=f"SBX{folder[:3].upper()}{number}_{unique}",
            file_unique_id=f"U{number}{unique}",
            file_path=f"{folder}/file_{number}.{extension}",
            content=content,
        )
        self._files[stored.file_id] = stored
        self._files[stored.file_id + "-s"] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def _file_param(self, params: JSONDict, key: str, folder: str, ext: str) -> _StoredFile:
        value = params.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            extension = value.filename.rpartition(".")[2] if "." in value.filename else ext
            return self._store_file(value.content, folder, extension)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._store_file(b"", folder, ext)  # never fetched: no outside networking
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _bot_message(self, method: str, params: JSONDict, content: JSONDict) -> JSONDict:
        """Store a new bot message built from ``content`` and record the send event."""
        chat_id: int = params["chat_id"]
        markup = params.get("reply_markup")
        _validate_markup(markup)
        message_id = self._new_message_id(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat_json(chat_id),
            "from": self._bot_json(),
            **_compact(content),
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = params["message_thread_id"]
        reply_id, allow_missing = _reply_to_id(params)
        if reply_id is not None:
            replied = self._reply_json(chat_id, reply_id)
            if replied is None and not allow_missing:
                raise _ApiError(400, "Bad Request: message to be replied not found")
            if replied is not None:
                message["reply_to_message"] = replied
        if _inline_markup(markup) is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message_id)] = message
        self._record(self._snapshot(method, message, markup, params, edited=False))
        self.stats["sent"] += 1
        return message

    def _snapshot(
        self, method: str, message: JSONDict, markup: Any, params: JSONDict, *, edited: bool
    ) -> SentMessage:
        photo = message.get("photo")
        replied = message.get("reply_to_message")
        return SentMessage(
            message_id=message["message_id"],
            chat_id=message["chat"]["id"],
            text=message.get("text"),
            caption=message.get("caption"),
            reply_markup=markup if isinstance(markup, dict) else None,
            reply_to_message_id=replied["message_id"] if replied else None,
            edited=edited,
            photo=photo[-1]["file_id"] if photo else None,
            document=(message.get("document") or {}).get("file_id"),
            entities=list(message.get("entities") or message.get("caption_entities") or []),
            parse_mode=params.get("parse_mode"),
            message_thread_id=message.get("message_thread_id"),
            method=method,
            date=int(message.get("edit_date") or message["date"]),
            raw=message,
        )

    def _record(self, sent: SentMessage) -> None:
        self._current.setdefault(sent.chat_id, {})[sent.message_id] = sent
        self._events.append(sent)
        self._chat_events.setdefault(sent.chat_id, []).append(sent)

    def _editable(self, params: JSONDict) -> JSONDict:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: inline messages are not supported by the sandbox")
        chat_id, message_id = params["chat_id"], params.get("message_id")
        message = self._stored_message(chat_id, message_id) if message_id else None
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(
        self,
        method: str,
        params: JSONDict,
        message: JSONDict,
        changes: JSONDict,
        replaced: tuple[str, ...] = (),
    ) -> JSONDict:
        """Apply ``changes`` (after dropping the ``replaced`` keys) to a bot message."""
        markup = params.get("reply_markup")
        _validate_markup(markup)
        inline = _inline_markup(markup)
        base = _without(message, "reply_markup", *replaced)
        updated = {**base, **_compact(changes), "edit_date": int(time.time())}
        if inline is not None:
            updated["reply_markup"] = inline
        comparable = ("text", "caption", "entities", "caption_entities", "reply_markup")
        if all(updated.get(key) == message.get(key) for key in comparable):
            raise _ApiError(400, _NOT_MODIFIED)
        self._messages[(message["chat"]["id"], message["message_id"])] = updated
        self._record(self._snapshot(method, updated, inline, params, edited=True))
        self.stats["edited"] += 1
        return updated

    # ------------------------------------------------------------------ API methods

    async def _ok(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or None

        def ready() -> list[JSONDict] | None:
            batch = [u for u in self._updates if allowed is None or _update_kind(u) in allowed]
            return batch[:limit] or None

        return await self._wait_until(ready, timeout) or []

    async def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = str(params.get("url") or "")
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", ""))
            if not (1 <= len(name) <= 32) or not command.get("description"):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands[key] = commands
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    async def _send_message(self, params: JSONDict) -> JSONDict:
        text = params.get("text")
        if not text or not str(text).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(str(text)) > _MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")
        content = {"text": str(text), "entities": params.get("entities") or None}
        return self._bot_message("sendmessage", params, content)

    def _caption(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        if caption is not None and _utf16_len(str(caption)) > _MAX_CAPTION:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return {"caption": caption or None, "caption_entities": params.get("caption_entities")}

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        stored = self._file_param(params, "photo", "photos", "jpg")
        content = {"photo": _photo_sizes(stored), **self._caption(params)}
        return self._bot_message("sendphoto", params, content)

    async def _send_document(self, params: JSONDict) -> JSONDict:
        upload = params.get("document")
        stored = self._file_param(params, "document", "documents", "bin")
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if isinstance(upload, UploadedFile):
            document.update(file_name=upload.filename, mime_type=upload.content_type)
        content = {"document": document, **self._caption(params)}
        return self._bot_message("senddocument", params, content)

    def _source(self, params: JSONDict) -> JSONDict:
        from_chat = self._resolve_chat_id({"chat_id": params.get("from_chat_id")})
        source = self._stored_message(from_chat, params.get("message_id") or 0)
        if source is None:
            raise _ApiError(400, "Bad Request: message to copy not found")
        return source

    async def _copy_message(self, params: JSONDict) -> JSONDict:
        source = self._source(params)
        keys = ("text", "entities", "photo", "document", "contact", "caption")
        content = {key: source.get(key) for key in keys}
        if "caption" in params:
            content.update(self._caption(params))
        message = self._bot_message("copymessage", params, content)
        return {"message_id": message["message_id"]}

    async def _forward_message(self, params: JSONDict) -> JSONDict:
        source = self._source(params)
        keys = ("text", "entities", "photo", "document", "contact", "caption")
        content = {key: source.get(key) for key in keys}
        content["forward_origin"] = _forward_origin(source)
        return self._bot_message("forwardmessage", params, content)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        text = params.get("text")
        if "text" not in message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        if not text or not str(text).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(str(text)) > _MAX_TEXT:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        changes = {"text": str(text), "entities": params.get("entities") or None}
        return self._apply_edit("editmessagetext", params, message, changes, ("entities",))

    async def _edit_message_caption(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        if "text" in message:
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        replaced = ("caption", "caption_entities")
        return self._apply_edit(
            "editmessagecaption", params, message, self._caption(params), replaced
        )

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        return self._apply_edit("editmessagereplymarkup", params, message, {})

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id, message_id = params["chat_id"], int(params.get("message_id") or 0)
        if self._messages.pop((chat_id, message_id), None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        current = self._current.get(chat_id, {})
        if message_id in current:
            current[message_id] = dataclasses.replace(current[message_id], deleted=True)
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_queries or query_id in self.callback_answers:
            raise _ApiError(400, _BAD_QUERY)
        self.callback_answers[query_id] = {
            "callback_query_id": query_id,
            "text": params.get("text"),
            "show_alert": bool(params.get("show_alert")),
            "url": params.get("url"),
        }
        return True

    async def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": params["file_id"],
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._chat_json(params["chat_id"])
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id, user_id = params["chat_id"], params.get("user_id")
        if user_id == self.bot_id:
            return {"status": "member", "user": self._bot_json()}
        user = self._users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            raise _ApiError(400, "Bad Request: user not found")
        group = self._groups.get(chat_id)
        member = chat_id == user.id or (group is not None and user in group.members)
        return {"status": "member" if member else "left", "user": user.to_json()}


def _commands_key(scope: JSONDict | None, language_code: str) -> tuple[str, str]:
    """Return the storage key of a command list (scope JSON, language)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


def _update_kind(update: JSONDict) -> str:
    """Return the kind of an update (``message``, ``callback_query``, ...)."""
    return next(key for key in update if key != "update_id")


def _without(data: JSONDict, *keys: str) -> JSONDict:
    """Return a copy of ``data`` without ``keys``."""
    return {key: value for key, value in data.items() if key not in keys}


def _forward_origin(source: JSONDict) -> JSONDict:
    """Return the ``forward_origin`` object for a forwarded message."""
    sender = source.get("from") or {}
    return {"type": "user", "date": source["date"], "sender_user": sender}


async def _read_params(request: web.Request) -> JSONDict:
    """Read and decode the parameters of an API call (query, form, multipart or JSON)."""
    raw: JSONDict = dict(request.query)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise _ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(body, dict):
            raise _ApiError(400, "Bad Request: request body must be a JSON object")
        raw.update(body)
    elif content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.name:
                raw[part.name] = await _read_part(part)
    elif request.can_read_body:
        raw.update(await request.post())
    return {key: _decode_value(key, value) for key, value in raw.items()}


async def _read_part(part: BodyPartReader) -> str | UploadedFile:
    """Read one multipart part: a plain field or an uploaded file."""
    if part.filename is None:
        return await part.text()
    content = bytes(await part.read(decode=True))
    content_type = part.headers.get("Content-Type", "application/octet-stream")
    return UploadedFile(part.filename, content, content_type)
