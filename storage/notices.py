"""Loyalty notices kept in the outreach outbox, so each is sent at most once."""

from __future__ import annotations

import aiosqlite


async def claim(
    tx: aiosqlite.Connection, customer_id: int, kind: str, occasion: str, at: str
) -> bool:
    """Reserve the (customer, kind, occasion) notice; False if it was already claimed."""
    cursor = await tx.execute(
        "INSERT INTO outreach (customer_id, kind, occasion, status, due_at, created_at,"
        " updated_at) VALUES (?, ?, ?, 'sending', ?, ?, ?)"
        " ON CONFLICT (customer_id, kind, occasion) DO NOTHING",
        (customer_id, kind, occasion, at, at, at),
    )
    return cursor.rowcount == 1


async def finish(
    tx: aiosqlite.Connection,
    customer_id: int,
    kind: str,
    occasion: str,
    status: str,
    at: str,
    reason: str | None = None,
) -> None:
    """Record how a claimed notice ended ('sent', 'failed' or 'skipped')."""
    await tx.execute(
        "UPDATE outreach SET status = ?, reason = ?, sent_at = CASE WHEN ? = 'sent' THEN ?"
        " ELSE sent_at END, updated_at = ? WHERE customer_id = ? AND kind = ? AND occasion = ?",
        (status, reason, status, at, at, customer_id, kind, occasion),
    )
