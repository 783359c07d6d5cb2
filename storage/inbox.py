"""The inbox: every Telegram update, stored before Telegram is told it arrived."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Writes

COLUMNS = "bot_id, update_id, chat_key, raw, status, attempts, error, received_at, done_at"


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One stored update and where its handling stands."""

    bot_id: int
    update_id: int
    chat_key: str
    raw: str
    status: str
    attempts: int
    error: str | None
    received_at: str
    done_at: str | None


async def add(tx: Writes, bot_id: int, update_id: int, chat_key: str, raw: str, at: str) -> bool:
    """Store an update; False if this bot already has it (Telegram delivered it again)."""
    cursor = await tx.execute(
        "INSERT INTO inbox (bot_id, update_id, chat_key, raw, received_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (bot_id, update_id) DO NOTHING",
        (bot_id, update_id, chat_key, raw, at),
    )
    return cursor.rowcount == 1


async def pending(tx: aiosqlite.Connection, bot_id: int) -> list[InboxRow]:
    """Updates not yet handled, in the order Telegram numbered them."""
    cursor = await tx.execute(
        f"SELECT {COLUMNS} FROM inbox WHERE bot_id = ? AND status = 'pending'"  # noqa: S608
        " ORDER BY update_id",
        (bot_id,),
    )
    return [InboxRow(*row) for row in await cursor.fetchall()]


async def mark_done(
    tx: Writes, bot_id: int, update_id: int, at: str, *, answered: bool = True
) -> None:
    """The update was handled; `answered` False while its reply may still be unsent."""
    await tx.execute(
        "UPDATE inbox SET status = 'done', done_at = ?, answered = ?"
        " WHERE bot_id = ? AND update_id = ?",
        (at, int(answered), bot_id, update_id),
    )


async def mark_answered(tx: Writes, bot_id: int, update_ids: list[int]) -> None:
    """The replies of these handled updates went out (or were given up on)."""
    await tx.executemany(
        "UPDATE inbox SET answered = 1 WHERE bot_id = ? AND update_id = ?",
        [(bot_id, update_id) for update_id in update_ids],
    )


async def unanswered(tx: aiosqlite.Connection, bot_id: int) -> list[InboxRow]:
    """Handled updates whose change committed while their reply may never have gone out."""
    cursor = await tx.execute(
        f"SELECT {COLUMNS} FROM inbox WHERE bot_id = ? AND answered = 0"  # noqa: S608
        " ORDER BY update_id",
        (bot_id,),
    )
    return [InboxRow(*row) for row in await cursor.fetchall()]


async def record_failure(
    tx: aiosqlite.Connection, bot_id: int, update_id: int, error: str, *, park: bool
) -> None:
    """Count one failed attempt; a parked update is not tried again until an owner says so."""
    await tx.execute(
        "UPDATE inbox SET attempts = attempts + 1, error = ?,"
        " status = CASE WHEN ? THEN 'parked' ELSE status END"
        " WHERE bot_id = ? AND update_id = ?",
        (error, int(park), bot_id, update_id),
    )


async def parked(tx: aiosqlite.Connection) -> list[InboxRow]:
    """Updates that failed too often, oldest first."""
    cursor = await tx.execute(
        f"SELECT {COLUMNS} FROM inbox WHERE status = 'parked'"  # noqa: S608
        " ORDER BY received_at, update_id"
    )
    return [InboxRow(*row) for row in await cursor.fetchall()]


async def unpark(tx: aiosqlite.Connection, update_id: int) -> int:
    """Make a parked update pending again (for every bot that has it); how many rows moved."""
    cursor = await tx.execute(
        "UPDATE inbox SET status = 'pending', attempts = 0 WHERE update_id = ?"
        " AND status = 'parked'",
        (update_id,),
    )
    return cursor.rowcount


async def prune(tx: aiosqlite.Connection, before: str) -> int:
    """Forget updates handled before `before`; Telegram never redelivers them that late."""
    cursor = await tx.execute("DELETE FROM inbox WHERE status = 'done' AND done_at < ?", (before,))
    return cursor.rowcount


async def counts(tx: aiosqlite.Connection) -> dict[str, int]:
    """How many updates are in each status."""
    cursor = await tx.execute("SELECT status, count(*) FROM inbox GROUP BY status")
    return {str(status): int(n) for status, n in await cursor.fetchall()}
