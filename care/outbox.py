"""One way out: messages queued in the transaction that caused them, drained by one sender.

Care never sends directly. A use case calls `Outbox.add(tx, …)` inside its transaction; the
message exists if and only if the change committed. The sender (`Outbox.run`, started by the
bot) drains due messages one at a time after commit and applies the delivery rules in one place:
forgotten customers get nothing, opted-out or unreachable customers get no promotions, a 403 or
"chat not found" marks the customer unreachable, a failure is retried with backoff, a send a
crash interrupted is never repeated (it may have arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from care.clock import Clock, iso
from care.pacer import Pacer
from care.ports import Label, Messenger, OutboundMessage, SendResult, SendStatus, Text
from storage import customers as customers_repo
from storage import outbox as repo
from storage.customers import CustomerRow
from storage.db import Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
POLL_SECONDS = 2.0  # rows written by other processes (the command line) are picked up this fast
BATCH = 50

# Called in the transaction that records the outcome, with the row and Telegram's message id
# (sent) or the status (undelivered): e.g. a ticket remembers the id of its staff-chat post.
SentHook = Callable[[aiosqlite.Connection, OutboxRow, int], Awaitable[None]]
UndeliveredHook = Callable[[aiosqlite.Connection, OutboxRow, SendStatus], Awaitable[None]]
# Called in the transaction that claims a row for sending: a reason to skip it, or None to send.
SkipHook = Callable[[aiosqlite.Connection, OutboxRow], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Hooks:
    """What a kind of message does after it was sent or given up on."""

    sent: SentHook | None = None
    undelivered: UndeliveredHook | None = None
    skip: SkipHook | None = None


class Outbox:
    """Queues messages inside use cases and sends them after commit."""

    def __init__(
        self, db: Database, clock: Clock, messenger: Messenger, pacer: Pacer | None = None
    ) -> None:
        self._db, self._clock, self._messenger = db, clock, messenger
        # Promotional messages go out in bulk: spaced under Telegram's limits (overall and per
        # chat). Replies-like messages (ticket relays, staff posts) are not held behind them.
        self.pacer = pacer or Pacer(rate=25.0)
        self._hooks: dict[str, Hooks] = {}
        self._wake = asyncio.Event()

    def on(self, kind: str, hooks: Hooks) -> None:
        """Register what happens after a message of `kind` was sent or given up on."""
        self._hooks[kind] = hooks

    async def add(
        self,
        tx: aiosqlite.Connection,
        message: OutboundMessage,
        *,
        kind: str,
        customer_id: int | None = None,
        ref: str | int | None = None,
        dedupe_key: str | None = None,
        promotional: bool = False,
    ) -> bool:
        """Queue `message` in the caller's transaction; False if `dedupe_key` was queued before."""
        added = await repo.add(
            tx,
            chat_id=message.chat_id,
            customer_id=customer_id,
            kind=kind,
            ref=None if ref is None else str(ref),
            dedupe_key=dedupe_key,
            message=encode(message),
            promotional=promotional,
            at=iso(self._clock.now()),
        )
        # The sender waits for the database lock, which this transaction holds: it reads the
        # row only after commit, and finds nothing after a rollback.
        self._wake.set()
        return added is not None

    async def add_bulk(
        self,
        tx: aiosqlite.Connection,
        messages: Sequence[tuple[OutboundMessage, int, str, datetime]],
        *,
        kind: str,
        ref: str | int,
    ) -> None:
        """Queue promotional messages in bulk, one statement: (message, customer id, dedupe key,
        due) each; a dedupe key queued before is left alone."""
        at = iso(self._clock.now())
        await repo.add_many(
            tx,
            [
                (m.chat_id, customer_id, kind, str(ref), key, encode(m), 1, iso(due), at)
                for m, customer_id, key, due in messages
            ],
        )
        self._wake.set()

    async def run(self) -> None:
        """Send forever: after every wake-up, and every few seconds for other processes' rows."""
        async with self._db.transaction() as tx:
            interrupted = await repo.abandon_interrupted(tx)
        if interrupted:
            log.warning(
                "outbox interrupted_sends=%s (not resent: they may have arrived)", interrupted
            )
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the sender must outlive a bad row or a database hiccup
                log.exception("outbox drain failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def drain(self) -> int:
        """Send every message due now, oldest first; returns how many were sent."""
        sent = 0
        seen: set[int] = set()
        while True:
            async with self._db.read() as tx:
                rows = await repo.due(tx, iso(self._clock.now()), BATCH)
            rows = [row for row in rows if row.id not in seen]
            if not rows:
                return sent
            for row in rows:
                seen.add(row.id)
                if await self._send(row) is SendStatus.SENT:
                    sent += 1

    async def _send(self, row: OutboxRow) -> SendStatus | None:
        if row.promotional:
            # Wait before claiming: a crash while waiting leaves the row pending, not lost.
            await self.pacer.wait(row.chat_id)
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            if not await repo.mark_sending(tx, row.id):
                return None
            customer = None
            if row.customer_id is not None:
                customer = await customers_repo.find_by_id(tx, row.customer_id)
            skip = _skip_reason(row, customer)
            hooks = self._hooks.get(row.kind)
            if skip is None and hooks is not None and hooks.skip is not None:
                skip = await hooks.skip(tx, row)
            if skip is not None:
                await repo.finish(tx, row.id, "skipped", now, error=skip)
                await self._undelivered(tx, row, SendStatus.FAILED)
        if skip is not None:
            log.info("outbox skipped id=%s kind=%s reason=%s", row.id, row.kind, skip)
            return None
        result = await self._messenger.send(decode(row.message))
        await self._record(row, customer, result)
        return result.status

    async def _record(
        self, row: OutboxRow, customer: CustomerRow | None, result: SendResult
    ) -> None:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            if result.status is SendStatus.SENT:
                await repo.finish(tx, row.id, "sent", iso(now), message_id=result.message_id)
                if customer is not None and not customer.reachable:
                    await customers_repo.set_reachable(tx, customer.id, True)
                hooks = self._hooks.get(row.kind)
                if hooks is not None and hooks.sent is not None and result.message_id is not None:
                    await hooks.sent(tx, row, result.message_id)
                return
            if result.status.unreachable:
                await repo.finish(tx, row.id, "failed", iso(now), error=result.status.value)
                if customer is not None:
                    await customers_repo.set_reachable(tx, customer.id, False)
                await self._undelivered(tx, row, result.status)
            elif row.attempts + 1 < MAX_ATTEMPTS:
                wait = FIRST_RETRY * 2**row.attempts
                await repo.retry_at(tx, row.id, iso(now + wait), result.error or "failed")
            else:
                await repo.finish(tx, row.id, "failed", iso(now), error=result.error)
                await self._undelivered(tx, row, result.status)
        log.info(
            "outbox not sent id=%s kind=%s status=%s attempt=%s",
            row.id,
            row.kind,
            result.status,
            row.attempts + 1,
        )

    async def _undelivered(
        self, tx: aiosqlite.Connection, row: OutboxRow, status: SendStatus
    ) -> None:
        hooks = self._hooks.get(row.kind)
        if hooks is not None and hooks.undelivered is not None:
            await hooks.undelivered(tx, row, status)


def _skip_reason(row: OutboxRow, customer: CustomerRow | None) -> str | None:
    if customer is None:
        return None
    if customer.forgotten_at is not None:
        return "forgotten"
    if row.promotional and customer.opted_out:
        return "opted_out"
    if row.promotional and not customer.reachable:
        return "unreachable"
    return None


def _encoded(value: Any) -> Any:
    """A field value as JSON: labels and nested texts kept as such, translated when sent."""
    if isinstance(value, Label):
        return {"$label": [value.key, value.text]}
    if isinstance(value, Text):
        return {"$text": [value.key, {k: _encoded(v) for k, v in value.fields.items()}]}
    if isinstance(value, list | tuple):
        return [_encoded(item) for item in value]
    return value


def _decoded(value: Any) -> Any:
    """The field value `_encoded` wrote."""
    if isinstance(value, dict) and "$label" in value:
        return Label(*value["$label"])
    if isinstance(value, dict) and "$text" in value:
        key, fields = value["$text"]
        return Text(key, {k: _decoded(v) for k, v in fields.items()})
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def encode(message: OutboundMessage) -> str:
    """The message as JSON (labels kept as labels, translated when sent)."""
    fields = {name: _encoded(value) for name, value in message.fields.items()}
    return json.dumps(
        {
            "chat_id": message.chat_id,
            "key": message.key,
            "lang": message.lang,
            "fields": fields,
            "buttons": [list(button) for button in message.buttons],
            "reply_to": message.reply_to_message_id,
            "photo": message.photo,
            "link": list(message.link) if message.link else None,
        },
        ensure_ascii=False,
    )


def decode(text: str) -> OutboundMessage:
    """The message `encode` wrote."""
    data: dict[str, Any] = json.loads(text)
    fields = {name: _decoded(value) for name, value in data["fields"].items()}
    return OutboundMessage(
        chat_id=int(data["chat_id"]),
        key=str(data["key"]),
        lang=str(data["lang"]),
        fields=fields,
        buttons=tuple((str(key), str(callback)) for key, callback in data["buttons"]),
        reply_to_message_id=data.get("reply_to"),
        photo=data.get("photo"),
        link=(str(data["link"][0]), str(data["link"][1])) if data.get("link") else None,
    )
