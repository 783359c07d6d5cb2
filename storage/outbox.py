"""The outbox: messages written with the change that caused them, sent after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

COLUMNS = (
    "id, chat_id, customer_id, kind, ref, dedupe_key, message, promotional, status, attempts,"
    " not_before, error, message_id, created_at, sent_at"
)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbound message and where it stands."""

    id: int
    chat_id: int
    customer_id: int | None
    kind: str
    ref: str | None
    dedupe_key: str | None
    message: str
    promotional: bool
    status: str
    attempts: int
    not_before: str
    error: str | None
    message_id: int | None
    created_at: str
    sent_at: str | None


def _row(row: aiosqlite.Row) -> OutboxRow:
    values = dict(row)
    values["promotional"] = bool(values["promotional"])
    return OutboxRow(**values)


async def add(
    tx: aiosqlite.Connection,
    *,
    chat_id: int,
    customer_id: int | None,
    kind: str,
    ref: str | None,
    dedupe_key: str | None,
    message: str,
    promotional: bool,
    at: str,
) -> int | None:
    """Queue one message; None if its dedupe key was already queued."""
    cursor = await tx.execute(
        "INSERT INTO outbox (chat_id, customer_id, kind, ref, dedupe_key, message, promotional,"
        " not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        (chat_id, customer_id, kind, ref, dedupe_key, message, int(promotional), at, at),
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


async def add_many(tx: aiosqlite.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Queue many messages at once: (chat_id, customer_id, kind, ref, dedupe_key, message,
    promotional, not_before, created_at) each; a dedupe key queued before is left alone."""
    await tx.executemany(
        "INSERT INTO outbox (chat_id, customer_id, kind, ref, dedupe_key, message, promotional,"
        " not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        rows,
    )


async def due(tx: aiosqlite.Connection, now: str, limit: int) -> list[OutboxRow]:
    """Pending messages due by `now`, oldest first; bulk (promotional) ones after the others,
    so a campaign's thousands of rows never hold a ticket's answer back."""
    cursor = await tx.execute(
        f"SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND not_before <= ?"  # noqa: S608
        " ORDER BY promotional, id LIMIT ?",
        (now, limit),
    )
    return [_row(row) for row in await cursor.fetchall()]


async def find(tx: aiosqlite.Connection, kind: str, ref: str) -> list[OutboxRow]:
    """The messages of one kind queued for one row (e.g. a ticket), oldest first."""
    cursor = await tx.execute(
        f"SELECT {COLUMNS} FROM outbox WHERE kind = ? AND ref = ? ORDER BY id",  # noqa: S608
        (kind, ref),
    )
    return [_row(row) for row in await cursor.fetchall()]


async def mark_sending(tx: aiosqlite.Connection, outbox_id: int) -> bool:
    """Claim a pending message for sending; False if someone else claimed it."""
    cursor = await tx.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
        " WHERE id = ? AND status = 'pending'",
        (outbox_id,),
    )
    return cursor.rowcount == 1


async def finish(
    tx: aiosqlite.Connection,
    outbox_id: int,
    status: str,
    at: str,
    *,
    error: str | None = None,
    message_id: int | None = None,
) -> None:
    """Record how a message ended ('sent', 'failed' or 'skipped')."""
    await tx.execute(
        "UPDATE outbox SET status = ?, error = ?, message_id = ?,"
        " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
        (status, error, message_id, status, at, outbox_id),
    )


async def retry_at(tx: aiosqlite.Connection, outbox_id: int, when: str, error: str) -> None:
    """Put a message back in the queue, due again at `when`."""
    await tx.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, error = ? WHERE id = ?",
        (when, error, outbox_id),
    )


async def abandon_interrupted(tx: aiosqlite.Connection) -> int:
    """Messages a crash interrupted mid-send may have been delivered: never resend them."""
    cursor = await tx.execute(
        "UPDATE outbox SET status = 'failed', error = 'interrupted' WHERE status = 'sending'"
    )
    return cursor.rowcount


async def counts(tx: aiosqlite.Connection, kind: str | None = None) -> dict[str, int]:
    """How many messages are in each status (of one kind, or all)."""
    cursor = await tx.execute(
        "SELECT status, count(*) FROM outbox WHERE ? IS NULL OR kind = ? GROUP BY status",
        (kind, kind),
    )
    return {str(status): int(n) for status, n in await cursor.fetchall()}
