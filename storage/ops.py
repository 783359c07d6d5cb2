"""Operating records: backups taken, heartbeats of the running bot, facts set from Telegram."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class BackupRow:
    """One backup attempt and its outcome."""

    id: int
    started_at: str
    finished_at: str
    path: str
    ok: bool
    size_bytes: int | None
    counts: dict[str, int]
    error: str | None


async def record_backup(
    tx: aiosqlite.Connection,
    *,
    started_at: str,
    finished_at: str,
    path: str,
    ok: bool,
    size_bytes: int | None,
    counts: dict[str, int],
    error: str | None,
) -> int:
    """Store the outcome of a backup; returns its id."""
    cursor = await tx.execute(
        "INSERT INTO backups (started_at, finished_at, path, ok, size_bytes, counts, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (started_at, finished_at, path, int(ok), size_bytes, json.dumps(counts), error),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def last_backup(tx: aiosqlite.Connection, *, ok_only: bool = False) -> BackupRow | None:
    """The newest backup attempt (or the newest that succeeded)."""
    cursor = await tx.execute(
        "SELECT id, started_at, finished_at, path, ok, size_bytes, counts, error FROM backups"
        " WHERE ok = 1 OR NOT ? ORDER BY finished_at DESC, id DESC LIMIT 1",
        (ok_only,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return BackupRow(
        row[0], row[1], row[2], row[3], bool(row[4]), row[5], json.loads(row[6] or "{}"), row[7]
    )


async def beat(tx: aiosqlite.Connection, name: str, at: str) -> None:
    """Record that a part of the running bot was alive at `at`."""
    await tx.execute(
        "INSERT INTO heartbeats (name, at) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET at = excluded.at",
        (name, at),
    )


async def heartbeats(tx: aiosqlite.Connection) -> dict[str, str]:
    """Every part's last heartbeat."""
    cursor = await tx.execute("SELECT name, at FROM heartbeats")
    return {name: at for name, at in await cursor.fetchall()}


async def set_fact(tx: aiosqlite.Connection, name: str, value: str, by: int, at: str) -> None:
    """Store a fact set from Telegram (e.g. the staff chat)."""
    await tx.execute(
        "INSERT INTO bot_facts (name, value, set_by, set_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, set_by = excluded.set_by,"
        " set_at = excluded.set_at",
        (name, value, by, at),
    )


async def fact(tx: aiosqlite.Connection, name: str) -> str | None:
    """A fact set from Telegram, or None."""
    cursor = await tx.execute("SELECT value FROM bot_facts WHERE name = ?", (name,))
    row = await cursor.fetchone()
    return None if row is None else str(row[0])
