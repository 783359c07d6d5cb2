"""Processed Telegram updates, so a redelivered update does not act twice."""

from __future__ import annotations

import aiosqlite


async def status(tx: aiosqlite.Connection, update_id: int) -> str | None:
    """'started', 'done' or None for an update never seen."""
    cursor = await tx.execute(
        "SELECT status FROM processed_updates WHERE update_id = ?", (update_id,)
    )
    row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def mark(tx: aiosqlite.Connection, update_id: int, state: str, at: str) -> None:
    """Record the update's state."""
    await tx.execute(
        "INSERT INTO processed_updates (update_id, status, processed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (update_id) DO UPDATE SET status = excluded.status,"
        " processed_at = excluded.processed_at",
        (update_id, state, at),
    )


async def prune(tx: aiosqlite.Connection, before: str) -> int:
    """Forget updates processed before `before`; Telegram never redelivers them that late."""
    cursor = await tx.execute("DELETE FROM processed_updates WHERE processed_at < ?", (before,))
    return cursor.rowcount
