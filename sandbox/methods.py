"""The Bot API methods the sandbox implements, refusing what Telegram refuses."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from sandbox.entities import PARSE_MODES, EntityError, parse
from sandbox.state import (
    MAX_CAPTION,
    MAX_TEXT,
    ApiError,
    JSONDict,
    SentMessage,
    State,
    StoredFile,
    UploadedFile,
    compact,
    photo_sizes,
    utf16_len,
    without,
)

Handler = Callable[[JSONDict], Awaitable[Any]]

# Methods that create a new message in a chat (subject to flood limits).
SEND_METHODS = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "copymessage", "forwardmessage"}
)
# Methods addressed to a chat through ``chat_id``: the chat must exist.
CHAT_METHODS = SEND_METHODS | frozenset(
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
_BLOCKABLE_METHODS = CHAT_METHODS - {"getchat", "getchatmember"}
# Methods that would start a private conversation: refused until the user pressed Start.
_INITIATING_METHODS = SEND_METHODS | {"sendchataction"}
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
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_MAX_CALLBACK_DATA = 64
_MAX_CALLBACK_ANSWER = 200
_MAX_COMMANDS = 100
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_SECRET = re.compile(r"[A-Za-z0-9_-]+")
_WEBHOOK_PORTS = (443, 80, 88, 8443)
_ALBUM_TYPES = frozenset({"photo", "video", "document", "audio"})

BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_BAD_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


@dataclasses.dataclass
class _Poll:
    """One open getUpdates request; ``ended`` says why another request terminated it."""

    ended: str | None = None


class Methods:
    """Bot API method implementations over the sandbox state, by lower-case method name."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._poll: _Poll | None = None
        self.handlers: dict[str, Handler] = {
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
            "sendmediagroup": self._send_media_group,
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
            self.handlers[name] = self._ok

    def check_chat(self, method: str, params: JSONDict) -> int | None:
        """Resolve ``chat_id`` of a chat method; refuse chats the bot may not write to."""
        if method not in CHAT_METHODS:
            return None
        chat_id = self._state.resolve_chat_id(params.get("chat_id"))
        params["chat_id"] = chat_id
        user = self._state.users.get(chat_id)
        if user is not None and method in _BLOCKABLE_METHODS and user.blocked:
            raise ApiError(403, BLOCKED)
        if user is not None and method in _INITIATING_METHODS and not user.started:
            raise ApiError(403, CANT_INITIATE)
        return chat_id

    # ------------------------------------------------------------------ bot messages

    def _bot_message(
        self, method: str, params: JSONDict, content: JSONDict, *, markup: Any = None
    ) -> JSONDict:
        """Store a new bot message built from ``content`` and record the send event."""
        state = self._state
        chat_id: int = params["chat_id"]
        message_id = state.new_message_id(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": state.chat_json(chat_id),
            "from": state.bot_json(),
            **compact(content),
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = params["message_thread_id"]
        reply_id, allow_missing = _reply_to_id(params)
        if reply_id is not None:
            replied = state.reply_json(chat_id, reply_id)
            if replied is None and not allow_missing:
                raise ApiError(400, "Bad Request: message to be replied not found")
            if replied is not None:
                message["reply_to_message"] = replied
        if _inline_markup(markup) is not None:
            message["reply_markup"] = markup
        state.messages[(chat_id, message_id)] = message
        state.record(_snapshot(method, message, markup, params, edited=False))
        state.stats["sent"] += 1
        return message

    def _editable(self, params: JSONDict) -> JSONDict:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by the sandbox")
        chat_id, message_id = params["chat_id"], params.get("message_id")
        message = self._state.stored_message(chat_id, message_id) if message_id else None
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self._state.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
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
        validate_markup(markup)
        inline = _inline_markup(markup)
        base = without(message, "reply_markup", *replaced)
        updated = {**base, **compact(changes), "edit_date": int(time.time())}
        if inline is not None:
            updated["reply_markup"] = inline
        comparable = ("text", "caption", "entities", "caption_entities", "reply_markup")
        if all(updated.get(key) == message.get(key) for key in comparable):
            raise ApiError(400, _NOT_MODIFIED)
        self._state.messages[(message["chat"]["id"], message["message_id"])] = updated
        self._state.record(_snapshot(method, updated, inline, params, edited=True))
        self._state.stats["edited"] += 1
        return updated

    def _file_param(self, params: JSONDict, value: Any, folder: str, ext: str) -> StoredFile:
        """Resolve a file given as an upload, an ``attach://`` part, a file id or a URL."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            extension = value.filename.rpartition(".")[2] if "." in value.filename else ext
            return self._state.store_file(value.content, folder, extension)
        if isinstance(value, str) and value in self._state.files:
            return self._state.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._state.store_file(b"", folder, ext)  # never fetched: no outside network
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _source(self, params: JSONDict) -> JSONDict:
        from_chat = self._state.resolve_chat_id(params.get("from_chat_id"))
        source = self._state.stored_message(from_chat, params.get("message_id") or 0)
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        return source

    # ------------------------------------------------------------------ updates and webhooks

    async def _ok(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._state.bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self._state.privacy_mode,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        state = self._state
        if state.webhook_url:
            raise ApiError(409, _WEBHOOK_CONFLICT)
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            state.updates = state.updates[offset:]
        elif isinstance(offset, int) and offset > 0:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
        if "allowed_updates" in params:
            _set_allowed_updates(state, params["allowed_updates"])
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        self._end_poll(_POLL_CONFLICT)
        poll = self._poll = _Poll()
        try:
            batch = await state.wait_until(
                lambda: state.updates[:limit] or ([] if poll.ended else None), timeout
            )
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.ended:
            raise ApiError(409, poll.ended)
        return batch or []

    def _end_poll(self, reason: str) -> None:
        """Terminate the open getUpdates request, if any, with a 409 ``reason``."""
        if self._poll is not None:
            self._poll.ended = reason
            self._poll = None
            self._state.notify()

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if url:
            _check_webhook_url(url)
        secret = params.get("secret_token")
        if secret:
            secret = str(secret)
            if len(secret) > 256:
                raise ApiError(400, "Bad Request: secret token is too long")
            if not _SECRET.fullmatch(secret):
                raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if "allowed_updates" in params:
            _set_allowed_updates(self._state, params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        if url:
            self._end_poll("Conflict: terminated by setWebhook request")
        self._state.webhook_url = url
        self._state.webhook_secret = secret or None
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self._state.webhook_url = ""
        self._state.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self._state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._state.updates),
        }
        if self._state.allowed_updates is not None:
            info["allowed_updates"] = sorted(self._state.allowed_updates)
        return info

    # ------------------------------------------------------------------ commands

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > _MAX_COMMANDS:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description") or "")
            if not description.strip() or len(description) > 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._state.commands[_commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return list(self._state.commands.get(_commands_key(params), []))

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self._state.commands.pop(_commands_key(params), None)
        return True

    # ------------------------------------------------------------------ sending

    async def _send_message(self, params: JSONDict) -> JSONDict:
        markup = params.get("reply_markup")
        validate_markup(markup)
        text, entities = _text(params)
        content = {"text": text, "entities": entities}
        return self._bot_message("sendmessage", params, content, markup=markup)

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        markup = params.get("reply_markup")
        validate_markup(markup)
        caption = _caption(params)
        stored = self._file_param(params, params.get("photo"), "photos", "jpg")
        content = {"photo": photo_sizes(stored), **caption}
        return self._bot_message("sendphoto", params, content, markup=markup)

    async def _send_document(self, params: JSONDict) -> JSONDict:
        markup = params.get("reply_markup")
        validate_markup(markup)
        caption = _caption(params)
        upload = params.get("document")
        stored = self._file_param(params, upload, "documents", "bin")
        content = {"document": _document(stored, upload), **caption}
        return self._bot_message("senddocument", params, content, markup=markup)

    async def _send_media_group(self, params: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise ApiError(400, "Bad Request: can't parse media JSON object")
        if len(media) > 10:
            raise ApiError(400, "Bad Request: too many messages to send as an album")
        if len(media) < 2:
            raise ApiError(400, "Bad Request: wrong number of media in the album, must be 2-10")
        kinds = {str(item.get("type")) for item in media}
        if not kinds <= _ALBUM_TYPES:
            raise ApiError(
                400, f"Bad Request: unsupported media type {sorted(kinds - _ALBUM_TYPES)}"
            )
        for alone in ("document", "audio"):
            if alone in kinds and len(kinds) > 1:
                raise ApiError(
                    400, f"Bad Request: {alone} can't be mixed with another media types"
                )
        captions = [_caption(item) for item in media]
        contents = []
        for item, caption in zip(media, captions, strict=True):
            kind = item["type"]
            value = item.get("media")
            stored = self._file_param(params, value, f"{kind}s", "jpg")
            upload = (
                params.get(value.removeprefix("attach://")) if isinstance(value, str) else None
            )
            contents.append({kind: _album_file(kind, stored, upload), **caption})
        group_id = self._state.new_media_group_id()
        return [
            self._bot_message("sendmediagroup", params, {**content, "media_group_id": group_id})
            for content in contents
        ]

    async def _copy_message(self, params: JSONDict) -> JSONDict:
        markup = params.get("reply_markup")
        validate_markup(markup)
        source = self._source(params)
        keys = ("text", "entities", "photo", "document", "contact", "caption", "caption_entities")
        content = {key: source.get(key) for key in keys}
        if "caption" in params:
            content.update(_caption(params))
        message = self._bot_message("copymessage", params, content, markup=markup)
        return {"message_id": message["message_id"]}

    async def _forward_message(self, params: JSONDict) -> JSONDict:
        source = self._source(params)
        keys = ("text", "entities", "photo", "document", "contact", "caption", "caption_entities")
        content = {key: source.get(key) for key in keys}
        content["forward_origin"] = _forward_origin(source)
        return self._bot_message("forwardmessage", params, content)

    # ------------------------------------------------------------------ editing

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = _text(params, too_long="Bad Request: MESSAGE_TOO_LONG")
        changes = {"text": text, "entities": entities}
        return self._apply_edit("editmessagetext", params, message, changes, ("entities",))

    async def _edit_message_caption(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        replaced = ("caption", "caption_entities")
        return self._apply_edit("editmessagecaption", params, message, _caption(params), replaced)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        return self._apply_edit("editmessagereplymarkup", params, message, {})

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id, message_id = params["chat_id"], int(params.get("message_id") or 0)
        if self._state.messages.pop((chat_id, message_id), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        current = self._state.current.get(chat_id, {})
        if message_id in current:
            current[message_id] = dataclasses.replace(current[message_id], deleted=True)
        return True

    # ------------------------------------------------------------------ the rest

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        state = self._state
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > _MAX_CALLBACK_ANSWER:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if (
            query_id not in state.callback_queries
            or query_id in state.callback_answers
            or query_id in state.expired_queries
        ):
            raise ApiError(400, _BAD_QUERY)
        state.callback_answers[query_id] = {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": bool(params.get("show_alert")),
            "url": params.get("url"),
        }
        return True

    async def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._state.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": params["file_id"],
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._state.chat_json(params["chat_id"])
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
        state = self._state
        chat_id, user_id = params["chat_id"], params.get("user_id")
        if user_id == state.bot_id:
            return {"status": "member", "user": state.bot_json()}
        user = state.users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        group = state.groups.get(chat_id)
        member = chat_id == user.id or (group is not None and user.id in group.members)
        return {"status": "member" if member else "left", "user": user.to_json()}


# ---------------------------------------------------------------------- checks and shapes


def validate_markup(markup: Any) -> None:
    """Refuse inline keyboards that Telegram refuses."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an '
            "Array of Arrays",
        )
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard button: Field "text" must be '
                "a non-empty String",
            )
        if not any(button.get(action) is not None for action in _BUTTON_ACTIONS):
            raise ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: Text buttons are "
                "unallowed in the inline keyboard",
            )
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= _MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if button.get("url") is not None and not str(button["url"]).strip():
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


def _formatted(
    source: JSONDict, key: str, entities_key: str, limit: int, too_long: str
) -> tuple[str | None, list[JSONDict] | None]:
    """Text (or caption) and entities after ``parse_mode``, refused if too long."""
    raw = source.get(key)
    if raw is None:
        return None, None
    text, entities = str(raw), source.get(entities_key) or None
    mode = source.get("parse_mode")
    if entities is None and mode:
        if str(mode).lower() not in PARSE_MODES:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        try:
            text, parsed = parse(text, str(mode))
        except EntityError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
        entities = parsed or None
    if utf16_len(text) > limit:
        raise ApiError(400, too_long)
    return text, entities


def _text(
    params: JSONDict, *, too_long: str = "Bad Request: message is too long"
) -> tuple[str, list[JSONDict] | None]:
    text, entities = _formatted(params, "text", "entities", MAX_TEXT, too_long)
    if not text or not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    return text, entities


def _caption(source: JSONDict) -> JSONDict:
    too_long = "Bad Request: message caption is too long"
    caption, entities = _formatted(source, "caption", "caption_entities", MAX_CAPTION, too_long)
    return {"caption": caption or None, "caption_entities": entities if caption else None}


def _document(stored: StoredFile, upload: Any) -> JSONDict:
    document: JSONDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
    }
    if isinstance(upload, UploadedFile):
        document.update(file_name=upload.filename, mime_type=upload.content_type)
    return document


def _album_file(kind: str, stored: StoredFile, upload: Any) -> JSONDict | list[JSONDict]:
    """The message field of one album item (photo sizes, or a video/audio/document object)."""
    if kind == "photo":
        return photo_sizes(stored)
    shape = _document(stored, upload)
    if kind == "video":
        shape.update(width=800, height=800, duration=0)
    elif kind == "audio":
        shape.update(duration=0)
    return shape


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise ApiError(400, "Bad Request: bad webhook: invalid port specified") from exc
    if port not in _WEBHOOK_PORTS:
        raise ApiError(
            400,
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        )


def _set_allowed_updates(state: State, value: Any) -> None:
    if not isinstance(value, list):
        raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
    state.allowed_updates = frozenset(str(kind) for kind in value) or None


def _commands_key(params: JSONDict) -> tuple[str, str]:
    """Return the storage key of a command list (scope JSON, language); refuse bad languages."""
    language = str(params.get("language_code") or "")
    if language and not _LANGUAGE.fullmatch(language):
        raise ApiError(400, "Bad Request: invalid language code specified")
    return commands_key(params.get("scope"), language)


def commands_key(scope: JSONDict | None, language_code: str) -> tuple[str, str]:
    """Return the storage key of a command list (scope JSON, language)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


def _reply_to_id(params: JSONDict) -> tuple[int | None, bool]:
    """Extract the replied message id and ``allow_sending_without_reply`` from parameters."""
    reply_parameters = params.get("reply_parameters")
    if isinstance(reply_parameters, dict):
        allow = bool(reply_parameters.get("allow_sending_without_reply"))
        return reply_parameters.get("message_id"), allow
    return params.get("reply_to_message_id"), bool(params.get("allow_sending_without_reply"))


def _inline_markup(markup: Any) -> JSONDict | None:
    """Return the markup if it is an inline keyboard (the only kind echoed in Messages)."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _forward_origin(source: JSONDict) -> JSONDict:
    """Return the ``forward_origin`` object for a forwarded message."""
    sender = source.get("from") or {}
    return {"type": "user", "date": source["date"], "sender_user": sender}


def _snapshot(
    method: str, message: JSONDict, markup: Any, params: JSONDict, *, edited: bool
) -> SentMessage:
    photo = message.get("photo")
    replied = message.get("reply_to_message")
    media = message.get("document") or message.get("video") or message.get("audio") or {}
    return SentMessage(
        message_id=message["message_id"],
        chat_id=message["chat"]["id"],
        text=message.get("text"),
        caption=message.get("caption"),
        reply_markup=markup if isinstance(markup, dict) else None,
        reply_to_message_id=replied["message_id"] if replied else None,
        edited=edited,
        photo=photo[-1]["file_id"] if photo else None,
        document=media.get("file_id"),
        entities=list(message.get("entities") or message.get("caption_entities") or []),
        parse_mode=params.get("parse_mode"),
        message_thread_id=message.get("message_thread_id"),
        method=method,
        date=int(message.get("edit_date") or message["date"]),
        media_group_id=message.get("media_group_id"),
        raw=message,
    )
