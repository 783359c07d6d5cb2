"""The sandbox's world: the bot, users, group chats, messages, files and the update queue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

JSONDict = dict[str, Any]
_T = TypeVar("_T")

MAX_TEXT = 4096
MAX_CAPTION = 1024
FIRST_USER_ID = 100_000_001
FIRST_GROUP_ID = -1_001_000_000_001
# Update kinds Telegram leaves out unless allowed_updates names them.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")


class ApiError(Exception):
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
class StoredFile:
    """A file the sandbox serves: uploaded by the bot or sent by a fake user."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class UserRecord:
    """What Telegram knows about one user, including whether they ever opened the bot's chat."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    started: bool = False
    blocked: bool = False

    def to_json(self) -> JSONDict:
        """Return the Bot API ``User`` object."""
        return compact(
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
        return compact(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


@dataclass
class GroupRecord:
    """A supergroup the bot is a member of."""

    id: int
    title: str
    type: str = "supergroup"
    members: list[int] = field(default_factory=list)

    def to_json(self) -> JSONDict:
        """Return the Bot API ``Chat`` object."""
        return {"id": self.id, "type": self.type, "title": self.title}


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
    media_group_id: str | None = None
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


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


def compact(data: JSONDict) -> JSONDict:
    """Drop ``None`` values from a JSON object."""
    return {key: value for key, value in data.items() if value is not None}


def without(data: JSONDict, *keys: str) -> JSONDict:
    """Return a copy of ``data`` without ``keys``."""
    return {key: value for key, value in data.items() if key not in keys}


def photo_sizes(stored: StoredFile) -> list[JSONDict]:
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


def update_kind(update: JSONDict) -> str:
    """Return the kind of an update (``message``, ``callback_query``, ...)."""
    return next(key for key in update if key != "update_id")


class State:
    """Everything the fake Telegram remembers, and the signal that something changed."""

    def __init__(
        self, bot_id: int, bot_username: str, *, first_update_id: int, privacy_mode: bool
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.privacy_mode = privacy_mode
        self.calls: list[tuple[str, JSONDict]] = []
        self.errors: list[tuple[str, int, str]] = []
        self.stats: dict[str, int] = dict.fromkeys(
            ("calls", "sent", "edited", "rate_limited", "errors"), 0
        )
        self.users: dict[int, UserRecord] = {}
        self.groups: dict[int, GroupRecord] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.updates: list[JSONDict] = []
        # None: Telegram's default (every kind but the opt-in ones); kept between calls.
        self.allowed_updates: frozenset[str] | None = None
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.messages: dict[tuple[int, int], JSONDict] = {}
        self.current: dict[int, dict[int, SentMessage]] = {}
        self.events: list[SentMessage] = []
        self.chat_events: dict[int, list[SentMessage]] = {}
        self.callback_queries: dict[str, int] = {}  # open query id -> the presser's user id
        self.expired_queries: set[str] = set()
        self.callback_answers: dict[str, JSONDict] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, StoredFile] = {}
        self.closing = False
        # A bot that keeps its database between sandbox runs (the demo) remembers update ids it
        # handled: start above them, as Telegram's ids keep growing.
        self._update_ids = itertools.count(first_update_id)
        self.user_ids = itertools.count(FIRST_USER_ID)
        self.group_ids = itertools.count(FIRST_GROUP_ID, -1)
        self._query_ids = itertools.count(4_000_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._media_group_ids = itertools.count(13_000_000_000_000_001)
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ change signal

    def notify(self) -> None:
        """Wake everyone waiting in :meth:`wait_until`."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], _T | None], seconds: float) -> _T | None:
        """Poll ``predicate`` on every state change until it is not None or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            result = predicate()
            remaining = deadline - loop.time()
            if result is not None or remaining <= 0 or self.closing:
                return result
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ------------------------------------------------------------------ chats

    def bot_json(self) -> JSONDict:
        """Return the Bot API ``User`` object of the bot."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Carebot Sandbox",
            "username": self.bot_username,
        }

    def chat_json(self, chat_id: int) -> JSONDict:
        """Return the ``Chat`` object of a group or of a user's private chat."""
        if chat_id in self.groups:
            return self.groups[chat_id].to_json()
        return self.users[chat_id].private_chat_json()

    def resolve_chat_id(self, raw: Any) -> int:
        """Return the id of an existing chat given as an id or ``@username``; else 400."""
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for user in self.users.values():
                if user.username and f"@{user.username}".lower() == raw.lower():
                    return user.id
            raise ApiError(400, "Bad Request: chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: chat not found") from exc
        if chat_id not in self.users and chat_id not in self.groups:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def new_message_id(self, chat_id: int) -> int:
        """Return the next message id in a chat (ids are per chat, as in private chats)."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def new_media_group_id(self) -> str:
        """Return a fresh ``media_group_id`` for an album."""
        return str(next(self._media_group_ids))

    def stored_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Return a stored message (the bot's or a user's), or None."""
        return self.messages.get((chat_id, message_id))

    def reply_json(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Return a message as embedded in ``reply_to_message`` (one level deep)."""
        replied = self.stored_message(chat_id, message_id)
        if replied is None:
            return None
        return without(replied, "reply_to_message")

    def current_message(self, chat_id: int, message_id: int) -> SentMessage:
        """Return the current state of a bot message; AssertionError if unknown."""
        try:
            return self.current[chat_id][message_id]
        except KeyError:
            raise AssertionError(f"bot message {message_id} in chat {chat_id} unknown") from None

    def record(self, sent: SentMessage) -> None:
        """Remember a bot send or edit, for the driver's inboxes."""
        self.current.setdefault(sent.chat_id, {})[sent.message_id] = sent
        self.events.append(sent)
        self.chat_events.setdefault(sent.chat_id, []).append(sent)

    # ------------------------------------------------------------------ updates

    def enqueue(self, kind: str, payload: JSONDict) -> None:
        """Queue an update, unless ``allowed_updates`` leaves its kind out (then it is lost)."""
        allowed = self.allowed_updates
        if (kind not in allowed) if allowed is not None else (kind in OPT_IN_UPDATES):
            return
        self.updates.append({"update_id": next(self._update_ids), kind: payload})
        self.notify()

    def user_message(
        self, user_id: int, chat_id: int, content: JSONDict, reply_to: int | None
    ) -> int:
        """Store a user's message and deliver it to the bot if the bot may see it."""
        user = self.users[user_id]
        group = self.groups.get(chat_id)
        if group is None:
            user.started = True  # a private chat exists only once the user pressed Start
        elif user_id not in group.members:
            group.members.append(user_id)
        message_id = self.new_message_id(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat_json(chat_id),
            "from": user.to_json(),
            **content,
        }
        if reply_to is not None:
            replied = self.reply_json(chat_id, reply_to)
            if replied is None:
                raise AssertionError(f"cannot reply: no message {reply_to} in chat {chat_id}")
            message["reply_to_message"] = replied
        self.messages[(chat_id, message_id)] = message
        if self.bot_sees(message):
            self.enqueue("message", message)
        return message_id

    def user_edit(self, user_id: int, chat_id: int, message_id: int, text: str) -> None:
        """Edit one of a user's text messages (an ``edited_message`` update if the bot sees it)."""
        original = self.stored_message(chat_id, message_id)
        if original is None or original.get("from", {}).get("id") != user_id:
            raise AssertionError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        edited = {**original, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        entities = text_entities(text)
        if entities:
            edited["entities"] = entities
        self.messages[(chat_id, message_id)] = edited
        if self.bot_sees(edited):
            self.enqueue("edited_message", edited)

    def bot_sees(self, message: JSONDict) -> bool:
        """Whether Telegram delivers this user message to the bot.

        In private chats always. In groups, a bot in privacy mode (``can_read_all_group_messages``
        false) sees only commands (for no other bot), replies to its own messages and mentions
        of it.
        """
        if message["chat"]["type"] == "private" or not self.privacy_mode:
            return True
        text = str(message.get("text") or message.get("caption") or "")
        mine = f"@{self.bot_username}".lower()
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            _, at, target = command.partition("@")
            return not at or f"@{target}".lower() == mine
        replied = message.get("reply_to_message") or {}
        if (replied.get("from") or {}).get("id") == self.bot_id:
            return True
        entities = message.get("entities") or message.get("caption_entities") or []
        for entity in entities:
            if entity.get("type") == "mention":
                start = entity["offset"]
                mention = _utf16_slice(text, start, start + entity["length"])
                if mention.lower() == mine:
                    return True
        return False

    def callback_query(self, user_id: int, message: SentMessage, data: str) -> str:
        """Queue a press of an inline button; return the query id."""
        query_id = str(next(self._query_ids))
        self.callback_queries[query_id] = user_id
        stored = self.stored_message(message.chat_id, message.message_id) or message.raw
        query = {
            "id": query_id,
            "from": self.users[user_id].to_json(),
            "message": stored,
            "chat_instance": f"ci{abs(message.chat_id)}",
            "data": data,
        }
        if message.chat_id == user_id:
            self.users[user_id].started = True
        self.enqueue("callback_query", query)
        return query_id

    # ------------------------------------------------------------------ files

    def store_file(self, content: bytes, folder: str, extension: str) -> StoredFile:
        """Store a file and return its ids and download path."""
        number = len(self.file_paths) + 1
        unique = secrets.token_hex(6)
        stored = StoredFile(
            file_id=f"SBX{folder[:3].upper()}{number}_{unique}",
            file_unique_id=f"U{number}{unique}",
            file_path=f"{folder}/file_{number}.{extension}",
            content=content,
        )
        self.files[stored.file_id] = stored
        self.files[stored.file_id + "-s"] = stored
        self.file_paths[stored.file_path] = stored
        return stored


def text_entities(text: str) -> list[JSONDict]:
    """The entities Telegram finds in a user's plain text: a leading command and @mentions."""
    entities: list[JSONDict] = []
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
    for found in _MENTION.finditer(text):
        offset = utf16_len(text[: found.start()])
        entities.append({"type": "mention", "offset": offset, "length": utf16_len(found[0])})
    return entities


def _utf16_slice(text: str, start: int, end: int) -> str:
    """Return the part of ``text`` between two UTF-16 offsets."""
    encoded = text.encode("utf-16-le")
    return encoded[start * 2 : end * 2].decode("utf-16-le", errors="replace")
