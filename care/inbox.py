"""The durable inbox: nothing Telegram delivered is lost, nothing is handled twice.

An update is stored (committed) before Telegram is told it arrived — before the next
`getUpdates` offset, before the webhook's 200 — and marked done in the same transaction as the
handler's change. At start-up, what was stored but not done is handled first. An update that
fails `MAX_ATTEMPTS` times, or cannot be parsed at all, is parked with its error for an owner
(`carebot inbox`), never retried forever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from care.clock import Clock, iso
from storage import inbox as repo
from storage.db import Database, ride_along

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
        async with self._db.transaction() as tx:
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

    def mark_done_with_change(self, bot_id: int, update_id: int) -> bool:
        """Mark the update done in the current handler's next write transaction (or settle)."""
        at = iso(self._clock.now())

        async def mark(tx: Any) -> None:
            await repo.mark_done(tx, bot_id, update_id, at)

        return ride_along(mark)

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
