"""The update pipeline: Telegram -> durable inbox -> per-chat ordered, concurrent handling.

`UpdateFeeder` fetches updates (long polling, or a webhook it serves itself) as raw JSON and
commits them to the inbox before Telegram learns they arrived: the next `getUpdates` offset
and the webhook's 200 come only after the commit. An update python-telegram-bot cannot parse
is parked and skipped. `ChatOrderedProcessor` then runs updates concurrently across chats while
each chat's (and each sender's) updates run strictly in the order Telegram numbered them; it
marks each update done in the handler's own write transaction, retries a failure a few times
and parks it after the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application, BaseUpdateProcessor

from bot.config import TelegramSettings
from care.inbox import MAX_ATTEMPTS, DoneMark, Inbox, Received
from care.services import CareServices
from storage.db import Database, Rider, riding

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 512  # updates admitted at once; most wait for their chat's turn
WORKERS = 16  # updates handled at once: more only interleaves CPU work, and every reply waits
RETRY_DELAYS = (0.2, 1.0)  # seconds before the 2nd and 3rd attempt
POLL_BACKOFF_MAX = 30.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


@dataclass(slots=True)
class UpdateRun:
    """One attempt at handling one update, as the error handler sees it."""

    update_id: int
    attempt: int
    error: BaseException | None = None

    @property
    def final(self) -> bool:
        """No attempt comes after this one."""
        return self.attempt >= MAX_ATTEMPTS


_current: ContextVar[UpdateRun | None] = ContextVar("carebot_update_run", default=None)


def current_run() -> UpdateRun | None:
    """The attempt being made at the update this task handles, if any."""
    return _current.get()


@dataclass(slots=True)
class _Link:
    waits_for: list[asyncio.Future[None]]
    done: asyncio.Future[None]
    keys: tuple[str, ...]
    attempts: int


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat and a sender; marks updates done."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._working = asyncio.Semaphore(WORKERS)
        self._tails: dict[str, asyncio.Future[None]] = {}
        self._links: dict[int, _Link] = {}
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._inbox: Inbox | None = None
        self._care: CareServices | None = None
        self._db: Database | None = None
        self._settler: _Settler
        self._bot_id = 0

    def bind(self, app: Application[Any, Any, Any, Any, Any, Any], care: CareServices) -> None:
        """Connect to the application and its care services (in post_init, once the bot is
        known)."""
        self._app, self._care, self._inbox, self._db = app, care, care.inbox, care.db
        self._bot_id = app.bot.id
        self._settler = _Settler(care.db)

    async def tell_unanswered(self, update_id: int | None = None) -> int:
        """Send "this was done" for updates whose change committed without their reply (all
        of them at start-up, or one whose reply failed); how many were told."""
        assert self._care is not None
        care = self._care
        language = care.settings.locale.default_language
        return await care.inbox.tell_unanswered(self._bot_id, care.outbox, language, update_id)

    def admit(self, update: Update, attempts: int = 0) -> None:
        """Take the update's place in its chat's and its sender's lines; call in arrival order."""
        keys = order_keys(update)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waits_for = [self._tails[key] for key in keys if key in self._tails]
        for key in keys:
            self._tails[key] = done
        self._links[update.update_id] = _Link(waits_for, done, keys, attempts)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this chat's earlier updates, then handle this one (see the module doc)."""
        if not isinstance(update, Update) or self._inbox is None:
            await coroutine  # not from the inbox (e.g. a job's custom update): nothing to mark
            return
        link = self._links.pop(update.update_id, None)
        if link is None:
            self.admit(update)
            link = self._links.pop(update.update_id)
        try:
            for earlier in link.waits_for:  # waiting for its turn takes no worker
                await earlier
            async with self._working:
                await self._handle(update, coroutine, link.attempts + 1)
        finally:
            link.done.set_result(None)
            for key in link.keys:
                if self._tails.get(key) is link.done:
                    del self._tails[key]

    async def _handle(self, update: Update, coroutine: Awaitable[Any], attempt: int) -> None:
        assert self._inbox is not None and self._db is not None and self._app is not None
        while True:
            run = UpdateRun(update.update_id, attempt)
            with riding() as rider:
                mark = self._inbox.mark_done_with_change(self._bot_id, update.update_id)
                token = _current.set(run)
                try:
                    await coroutine
                finally:
                    _current.reset(token)
                if run.error is None:
                    mark.answered = True
                    await self._settler.settle(rider if not rider.committed else _answered(mark))
                    return
                if rider.committed:  # the change committed; its reply failed after: say so
                    await self.tell_unanswered(update.update_id)
                    return
            error = f"{type(run.error).__name__}: {run.error}"
            if await self._inbox.failed(self._bot_id, update.update_id, error, attempt):
                log.error("update parked update_id=%s attempts=%s", update.update_id, attempt)
                return
            await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])
            attempt += 1
            coroutine = self._app.process_update(update)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: unfinished updates stay pending in the inbox."""


class _Settler:
    """Group commit for updates whose handlers wrote nothing: their "done" marks (and
    last-seen refreshes) wait for the transaction already running, then commit together.

    A reply was sent before its mark commits; the shorter that window, the less a crash can make
    the bot answer twice. One transaction per burst instead of one per update keeps it short.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[tuple[Rider, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def settle(self, rider: Rider) -> None:
        """Commit this rider's writes with whatever else is waiting; returns once committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((rider, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._db.settle([rider for rider, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)


def _answered(mark: DoneMark) -> Rider:
    """A rider that records, after the change committed, that its reply went out too."""
    rider = Rider()
    rider.works.append(mark.answer)
    return rider


def order_keys(update: Update) -> tuple[str, ...]:
    """The lines an update waits in: its chat's and its sender's."""
    keys = []
    if update.effective_chat is not None:
        keys.append(f"c{update.effective_chat.id}")
    if update.effective_user is not None:
        keys.append(f"u{update.effective_user.id}")
    return tuple(keys)


class UpdateFeeder:
    """Moves updates from Telegram into the inbox, then to the application, losing none."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        processor: ChatOrderedProcessor,
        inbox: Inbox,
        telegram: TelegramSettings,
        poll_timeout: int,
    ) -> None:
        self._app, self._processor, self._inbox = app, processor, inbox
        self._telegram, self._poll_timeout = telegram, poll_timeout
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._bot_id = app.bot.id

    async def start(self) -> None:
        """Handle what an earlier run left, then start polling or serving the webhook."""
        told = await self._processor.tell_unanswered()
        if told:
            log.info("inbox told done-but-unanswered updates=%s", told)
        recovered = await self._inbox.recover(self._bot_id)
        if recovered:
            log.info("inbox recovered updates=%s", len(recovered))
        for received in recovered:
            await self._dispatch(received)
        if self._telegram.webhook_url:
            await self._start_webhook()
        else:
            self._task = asyncio.create_task(self._poll(), name="getUpdates")

    async def stop(self) -> None:
        """Stop fetching; what was stored and not handled waits in the inbox for next time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _dispatch(self, received: Received) -> None:
        try:
            update = Update.de_json(received.raw, self._app.bot)
        except Exception as exc:  # an update PTB cannot read must not stop the others
            await self._inbox.park(self._bot_id, received.update_id, f"unparsable: {exc!r}")
            log.warning("update parked update_id=%s reason=unparsable", received.update_id)
            return
        self._processor.admit(update, received.attempts)
        await self._app.update_queue.put(update)

    async def _store_and_dispatch(self, raw: list[dict[str, Any]]) -> None:
        for received in await self._inbox.store(self._bot_id, raw):
            await self._dispatch(received)

    async def _poll(self) -> None:
        offset = 0  # Telegram resends everything not yet confirmed
        backoff = 1.0
        while True:
            try:
                batch = await self._get_updates(offset)
                if batch:
                    await self._store_and_dispatch(batch)
                    ids = [u["update_id"] for u in batch if isinstance(u.get("update_id"), int)]
                    offset = max(ids, default=offset - 1) + 1  # confirms only what is stored
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
            except Exception as exc:  # network, 409, a refused token, the database: back off
                log.warning(
                    "getUpdates failed error=%s retry_in=%.0fs", type(exc).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, POLL_BACKOFF_MAX)

    async def _get_updates(self, offset: int) -> list[dict[str, Any]]:
        # The raw JSON, not parsed Updates: one PTB cannot parse must be stored and parked,
        # not make the poller fetch the same batch forever.
        result = await self._app.bot._post(
            "getUpdates",
            {"offset": offset, "timeout": self._poll_timeout, "allowed_updates": Update.ALL_TYPES},
            read_timeout=self._poll_timeout + 10,
        )
        return [item for item in result if isinstance(item, dict)] if result else []

    async def _start_webhook(self) -> None:
        settings = self._telegram
        server = web.Application()
        server.router.add_post(f"/{settings.webhook_path.lstrip('/')}", self._on_webhook)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.webhook_listen, settings.webhook_port)
        await site.start()
        await self._app.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("webhook listening port=%s", settings.webhook_port)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = self._telegram.webhook_secret or ""
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return web.Response(status=403)
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(payload, dict):
            return web.Response(status=400)
        # Telegram gets its 200 only once the update is committed; a failure here makes it retry.
        await self._store_and_dispatch([payload])
        return web.Response(status=200)


def _seconds(retry_after: Any) -> float:
    total = getattr(retry_after, "total_seconds", None)
    return float(total() if total else retry_after)
