"""The durable inbox: nothing Telegram delivered is lost, nothing is handled twice.

An update is stored (committed) before Telegram is told it arrived — before the next
`getUpdates` offset, before the webhook's 200 — and marked done in the same transaction as the
handler's change. At start-up, what was stored but not done is handled first; an update whose
change committed while its reply may not have gone out is answered with a short "this was
done" notice through the outbox instead of silence (re-running it could do it twice). An
update that fails `MAX_ATTEMPTS` times, or cannot be parsed at all, is parked with its error
for an owner (`carebot inbox`), never retried forever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiosqlite

from care.clock import Clock, iso
from care.customers import language_from_code
from care.outbox import Outbox
from care.ports import OutboundMessage
from storage import customers as customers_repo
from storage import inbox as repo
from storage.db import Database, Writes, ride_along

MAX_ATTEMPTS = 3
KEEP_DONE = timedelta(days=2)  # Telegram keeps an unconfirmed update for 24 hours
MAX_ERROR = 500

# Where an update's chat and sender sit, by update kind.
_CARRIERS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)


@dataclass(frozen=True, slots=True)
class Received:
    """An update to handle: its id, Telegram's JSON, and how many attempts came before."""

    update_id: int
    raw: dict[str, Any]
    attempts: int = 0


@dataclass(slots=True)
class DoneMark:
    """An update's done mark, riding the handler's change; `answered` once its reply went out."""

    bot_id: int
    update_id: int
    at: str
    answered: bool = False

    async def __call__(self, tx: Writes) -> None:
        """Write the mark (the rider runs it inside the transaction it joins)."""
        await repo.mark_done(tx, self.bot_id, self.update_id, self.at, answered=self.answered)

    async def answer(self, tx: Writes) -> None:
        """The reply went out after the change had committed with `answered` still False."""
        await repo.mark_answered(tx, self.bot_id, [self.update_id])


@dataclass(frozen=True, slots=True)
class ParkedUpdate:
    """An update set aside after failing; an owner can look at it and retry it."""

    bot_id: int
    update_id: int
    chat_key: str
    attempts: int
    error: str | None
    received_at: str
    summary: str


def chat_key(raw: dict[str, Any]) -> str:
    """What orders this update: its chat, else its sender, else nothing in particular."""
    for kind in _CARRIERS:
        chat_id = _id_of(_field(raw.get(kind), "chat"))
        if chat_id is not None:
            return f"c{chat_id}"
    query = raw.get("callback_query")
    if isinstance(query, dict):
        chat_id = _id_of(_field(query.get("message"), "chat"))
        if chat_id is not None:
            return f"c{chat_id}"
        sender_id = _id_of(query.get("from"))
        if sender_id is not None:
            return f"u{sender_id}"
    for value in raw.values():
        sender_id = _id_of(_field(value, "from")) or _id_of(_field(value, "user"))
        if sender_id is not None:
            return f"u{sender_id}"
    return "-"


def _field(value: object, name: str) -> object:
    """`value[name]` when value is a JSON object, else None (an update may be malformed)."""
    return value.get(name) if isinstance(value, dict) else None


def _id_of(value: object) -> object | None:
    """The `id` of a JSON object, or None when it is not an object with an id."""
    return value.get("id") if isinstance(value, dict) else None


class Inbox:
    """Stores updates, hands them out once, and keeps failures visible."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    async def store(self, bot_id: int, updates: list[dict[str, Any]]) -> list[Received]:
        """Commit a batch from Telegram; returns the updates not seen before, in order."""
        fresh: list[Received] = []
        now = iso(self._clock.now())
        async with self._db.plain_write() as tx:
            for raw in updates:
                update_id = raw.get("update_id")
                if not isinstance(update_id, int) or isinstance(update_id, bool):
                    continue  # nothing to key it by (and Telegram never sends one)
                text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
                if await repo.add(tx, bot_id, update_id, chat_key(raw), text, now):
                    fresh.append(Received(update_id, raw))
        return fresh

    async def recover(self, bot_id: int) -> list[Received]:
        """Updates stored before a crash or stop and not yet handled, oldest first.

        Each comes back with one more attempt counted (it may be what crashed the process);
        one that has had all its attempts is parked instead.
        """
        recovered: list[Received] = []
        async with self._db.transaction() as tx:
            for row in await repo.pending(tx, bot_id):
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    await repo.record_failure(
                        tx, bot_id, row.update_id, row.error or "interrupted", park=True
                    )
                    continue
                await repo.record_failure(
                    tx, bot_id, row.update_id, row.error or "interrupted", park=False
                )
                recovered.append(Received(row.update_id, json.loads(row.raw), row.attempts + 1))
        return recovered

    def mark_done_with_change(self, bot_id: int, update_id: int) -> DoneMark:
        """Mark the update done in the current handler's next write transaction (or settle)."""
        mark = DoneMark(bot_id, update_id, iso(self._clock.now()))
        ride_along(mark)
        return mark

    async def tell_unanswered(
        self, bot_id: int, outbox: Outbox, default_language: str, only: int | None = None
    ) -> int:
        """Each update whose change committed but whose reply may be missing (only the update
        `only`, when given) gets a "this was done" notice in its chat, once; how many."""
        async with self._db.transaction() as tx:
            rows = [
                row
                for row in await repo.unanswered(tx, bot_id)
                if only is None or row.update_id == only
            ]
            for row in rows:
                notice = await _done_notice(tx, json.loads(row.raw), default_language)
                if notice is not None:
                    await outbox.add(
                        tx, notice, kind="inbox.done_before_restart",
                        dedupe_key=f"inbox.done:{bot_id}:{row.update_id}",
                    )  # fmt: skip
            await repo.mark_answered(tx, bot_id, [row.update_id for row in rows])
        return len(rows)

    async def mark_done(self, bot_id: int, update_id: int) -> None:
        """Mark the update done on its own."""
        async with self._db.transaction() as tx:
            await repo.mark_done(tx, bot_id, update_id, iso(self._clock.now()))

    async def failed(self, bot_id: int, update_id: int, error: str, attempts: int) -> bool:
        """Count a failed attempt (`attempts` made so far); True if the update is now parked."""
        park = attempts >= MAX_ATTEMPTS
        async with self._db.transaction() as tx:
            await repo.record_failure(tx, bot_id, update_id, error[:MAX_ERROR], park=park)
        return park

    async def park(self, bot_id: int, update_id: int, error: str) -> None:
        """Set an update aside at once (it cannot be parsed: retrying cannot help)."""
        async with self._db.transaction() as tx:
            await repo.record_failure(tx, bot_id, update_id, error[:MAX_ERROR], park=True)

    async def parked(self) -> list[ParkedUpdate]:
        """Every parked update, oldest first, with a one-line summary of what it was."""
        async with self._db.read() as tx:
            rows = await repo.parked(tx)
        return [
            ParkedUpdate(
                row.bot_id, row.update_id, row.chat_key, row.attempts, row.error,
                row.received_at, summarise(row.raw),
            )
            for row in rows
        ]  # fmt: skip

    async def retry(self, update_id: int) -> bool:
        """Make a parked update pending again; the running bot handles it at its next start."""
        async with self._db.transaction() as tx:
            return await repo.unpark(tx, update_id) > 0

    async def prune(self) -> int:
        """Forget handled updates older than Telegram could redeliver; how many went."""
        async with self._db.transaction() as tx:
            return await repo.prune(tx, iso(self._clock.now() - KEEP_DONE))

    async def counts(self) -> dict[str, int]:
        """How many updates are pending, done and parked."""
        async with self._db.read() as tx:
            return await repo.counts(tx)


async def _done_notice(
    tx: aiosqlite.Connection, raw: dict[str, Any], default_language: str
) -> OutboundMessage | None:
    """The notice for an update that was done but may not have been answered, in its sender's
    language, as a reply to their message; None when there is no chat to tell."""
    message = _field(raw, "message")
    query = _field(raw, "callback_query")
    if isinstance(message, dict):
        sender, chat_id = _field(message, "from"), _id_of(_field(message, "chat"))
        reply_to = _field(message, "message_id")
        what = str(_field(message, "text") or _field(message, "caption") or "")
        bare = "common.done_before_restart_message"  # a photo, a contact: nothing to quote
    elif isinstance(query, dict):
        sender, chat_id = _field(query, "from"), _id_of(_field(_field(query, "message"), "chat"))
        reply_to, what = _field(_field(query, "message"), "message_id"), ""
        bare = "common.done_before_restart_button"
        chat_id = chat_id if chat_id is not None else _id_of(sender)
    else:
        return None
    if not isinstance(chat_id, int):
        return None
    sender_id = _id_of(sender)
    customer = (
        await customers_repo.find_by_telegram_id(tx, sender_id)
        if isinstance(sender_id, int)
        else None
    )
    code = _field(sender, "language_code")
    lang = (
        customer.language
        if customer is not None
        else language_from_code(code if isinstance(code, str) else None, default_language)
    )
    what = what.replace("\n", " ")
    return OutboundMessage(
        chat_id,
        "common.done_before_restart" if what else bare,
        lang,
        {"what": what[:60] + ("…" if len(what) > 60 else "")},
        reply_to_message_id=reply_to if isinstance(reply_to, int) else None,
    )


def summarise(raw: str) -> str:
    """The update's kind and the first words of its text, for an owner's listing."""
    try:
        data = json.loads(raw)
    except ValueError:
        return "unreadable JSON"
    if not isinstance(data, dict):
        return "not an object"
    kinds = [key for key in data if key != "update_id"]
    kind = kinds[0] if kinds else "empty"
    body = data.get(kind)
    text = body.get("text") or body.get("data") or "" if isinstance(body, dict) else ""
    text = str(text).replace("\n", " ")
    return f"{kind}: {text[:40]}" if text else kind
