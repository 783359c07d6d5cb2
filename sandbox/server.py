"""The sandbox server: the aiohttp app and HTTP layer, and the :class:`Sandbox` that tests hold."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox.driver import SandboxChat, SandboxTimeout, SandboxUser
from sandbox.faults import Faults
from sandbox.methods import SEND_METHODS, Methods, commands_key
from sandbox.state import (
    ApiError,
    GroupRecord,
    JSONDict,
    SentMessage,
    State,
    UploadedFile,
    UserRecord,
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


class Sandbox:
    """A fake Telegram Bot API server on 127.0.0.1 plus a driver API for fake users.

    As strict as Telegram where the bot could go wrong: privacy mode in groups, no first
    message to a user who never pressed Start, ``parse_mode`` parsed, inline keyboards and
    command menus checked, one poller at a time and none while a webhook is set.
    """

    def __init__(
        self,
        token: str = "123456:SANDBOX",
        bot_username: str = "carebot_sandbox_bot",
        *,
        first_update_id: int = 1,
        privacy_mode: bool = True,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError(f"token must look like '<digits>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.base_url = ""
        self.base_file_url = ""
        self._state = State(
            self.bot_id, bot_username, first_update_id=first_update_id, privacy_mode=privacy_mode
        )
        self._faults = Faults()
        self._methods = Methods(self._state)
        self._users: dict[int, SandboxUser] = {}
        self._groups: dict[int, SandboxChat] = {}
        self._runner: web.AppRunner | None = None

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
        self._state.closing = False
        bound = sock.getsockname()[1]
        root = (
            f"http://[{host}]:{bound}" if family == socket.AF_INET6 else f"http://{host}:{bound}"
        )
        self.base_url = f"{root}/bot"
        self.base_file_url = f"{root}/file/bot"

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        self._state.closing = True
        self._state.notify()
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
        started: bool = False,
    ) -> SandboxUser:
        """Create a fake user.

        ``started``: the user already opened the private chat with the bot (pressed Start) in
        the past. A user who has not cannot be written to first (403) until they send the bot
        something privately, as in Telegram.
        """
        uid = user_id if user_id is not None else next(self._state.user_ids)
        if uid in self._state.users or uid <= 0:
            raise ValueError(f"user id {uid} is taken or not positive")
        record = UserRecord(uid, first_name, last_name, username, language_code, started)
        self._state.users[uid] = record
        user = SandboxUser(self._state, record)
        self._users[uid] = user
        return user

    def create_group(
        self,
        title: str,
        members: list[SandboxUser] | None = None,
        chat_id: int | None = None,
    ) -> SandboxChat:
        """Create a fake supergroup (negative id) that the bot is a member of."""
        gid = chat_id if chat_id is not None else next(self._state.group_ids)
        if gid in self._state.groups or gid >= 0:
            raise ValueError(f"group id {gid} is taken or not negative")
        record = GroupRecord(gid, title, members=[user.id for user in members or []])
        self._state.groups[gid] = record
        group = SandboxChat(self._state, record)
        self._groups[gid] = group
        return group

    def user(self, user_id: int) -> SandboxUser:
        """Return the sandbox user with this id."""
        return self._users[user_id]

    @property
    def users(self) -> list[SandboxUser]:
        """Return all sandbox users."""
        return list(self._users.values())

    @property
    def calls(self) -> list[tuple[str, JSONDict]]:
        """Return every API call received, as (lower-case method, parameters)."""
        return self._state.calls

    @property
    def errors(self) -> list[tuple[str, int, str]]:
        """Return every error answer given, as (method, status, description)."""
        return self._state.errors

    @property
    def stats(self) -> dict[str, int]:
        """Return counters: calls, sent, edited, rate_limited, errors."""
        return self._state.stats

    @property
    def callback_answers(self) -> dict[str, JSONDict]:
        """Return the ``answerCallbackQuery`` answers by query id."""
        return self._state.callback_answers

    @property
    def webhook_url(self) -> str:
        """Return the URL set by ``setWebhook`` (empty: none)."""
        return self._state.webhook_url

    @property
    def privacy_mode(self) -> bool:
        """Whether the bot sees only commands, replies to it and mentions of it in groups."""
        return self._state.privacy_mode

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Return the commands stored by ``setMyCommands`` for this scope and language."""
        return list(self._state.commands.get(commands_key(scope, language_code), []))

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Return every bot send and edit event (all chats or one chat), in order."""
        if chat_id is None:
            return list(self._state.events)
        return list(self._state.chat_events.get(chat_id, []))

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Return the bot's non-deleted messages in a chat, in their current state."""
        return [m for m in self._state.current.get(chat_id, {}).values() if not m.deleted]

    async def wait_sent(
        self,
        since: int = 0,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
    ) -> list[SentMessage]:
        """Wait until ``sent()`` holds more than ``since`` events; return the new ones."""
        events = self._state.events
        new = await self._state.wait_until(lambda: events[since:] or None, timeout)
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
            for name, params in self._state.calls[since:]:
                if name == wanted and (predicate is None or predicate(params)):
                    return params
            return None

        params = await self._state.wait_until(find, timeout)
        if params is None:
            raise SandboxTimeout(f"no {method} call within {timeout}s")
        return params

    @property
    def pending_updates(self) -> int:
        """Return the number of updates not yet acknowledged by the bot."""
        return len(self._state.updates)

    def inject(self, kind: str, payload: JSONDict) -> None:
        """Queue an update of any kind with this payload (kinds the driver has no method for)."""
        self._state.enqueue(kind, payload)

    def inject_raw(self, update: JSONDict) -> None:
        """Queue an update exactly as given, even one a real client library cannot parse."""
        self._state.updates.append(update)
        self._state.notify()

    def expire_callback_queries(self) -> None:
        """Let every unanswered button press time out: answering one now gets 400."""
        state = self._state
        state.expired_queries |= set(state.callback_queries) - set(state.callback_answers)

    # ------------------------------------------------------------------ faults

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
        self._faults.fail(
            method,
            status=status,
            description=description,
            retry_after=retry_after,
            times=times,
            chat_id=chat_id,
        )

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the answers to the next ``times`` calls of ``method`` by ``seconds``."""
        self._faults.delay(method, seconds, times)

    def block(self, user: SandboxUser, *, announce: bool = False) -> None:
        """Make the user block the bot: sends to their private chat get 403. With `announce`,
        the bot also gets the my_chat_member update ('kicked') that Telegram sends then."""
        self._state.users[user.id].blocked = True
        if announce:
            self.member_update(user, old="member", new="kicked")

    def unblock(self, user: SandboxUser, *, announce: bool = False) -> None:
        """Make the user unblock the bot (with `announce`: and send my_chat_member 'member')."""
        self._state.users[user.id].blocked = False
        if announce:
            self.member_update(user, old="kicked", new="member")

    def member_update(self, user: SandboxUser, *, old: str, new: str) -> None:
        """Queue a my_chat_member update: the bot's status in the user's private chat changed."""
        state = self._state
        bot = state.bot_json()
        before: JSONDict = {"user": bot, "status": old}
        after: JSONDict = {"user": bot, "status": new}
        for status in (before, after):
            if status["status"] == "kicked":
                status["until_date"] = 0
        payload = {
            "chat": user.private_chat_json(),
            "from": user.to_json(),
            "date": int(time.time()),
            "old_chat_member": before,
            "new_chat_member": after,
        }
        state.enqueue("my_chat_member", payload)

    def enforce_limits(
        self,
        per_chat_per_second: float | None = 1.0,
        global_per_second: float | None = 30.0,
        per_group_per_minute: float | None = 20.0,
    ) -> None:
        """Answer sends above Telegram's flood limits with 429 (``None`` disables a limit)."""
        self._faults.enforce_limits(per_chat_per_second, global_per_second, per_group_per_minute)

    def reset_faults(self) -> None:
        """Drop all injected failures, delays, blocks and flood limits."""
        self._faults.reset()
        for record in self._state.users.values():
            record.blocked = False

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        method = request.match_info["method"].lower()
        state = self._state
        try:
            params = await _read_params(request)
            result = await self._call(method, params)
        except ApiError as err:
            state.errors.append((method, err.status, err.description))
            state.stats["errors"] += 1
            if err.status == 429:
                state.stats["rate_limited"] += 1
            state.notify()
            return web.json_response(err.payload(), status=err.status)
        except Exception as exc:  # a sandbox bug must surface in PTB, not hang it
            failure = ApiError(500, f"Internal Server Error: sandbox failure {exc!r}")
            state.errors.append((method, failure.status, failure.description))
            state.stats["errors"] += 1
            return web.json_response(failure.payload(), status=500)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._state.file_paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _call(self, method: str, params: JSONDict) -> Any:
        state = self._state
        state.calls.append((method, params))
        state.stats["calls"] += 1
        state.notify()
        await self._faults.apply_delay(method)
        self._faults.apply_failure(method, params)
        handler = self._methods.handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        chat_id = self._methods.check_chat(method, params)
        if chat_id is not None and method in SEND_METHODS:
            self._faults.check_limits(chat_id)
        result = await handler(params)
        state.notify()
        return result


def _decode_value(key: str, value: Any) -> Any:
    """Convert one form-encoded parameter to its natural Python type."""
    if not isinstance(value, str):
        return value
    if key in _JSON_KEYS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
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


async def _read_params(request: web.Request) -> JSONDict:
    """Read and decode the parameters of an API call (query, form, multipart or JSON)."""
    raw: JSONDict = dict(request.query)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: request body must be a JSON object")
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
