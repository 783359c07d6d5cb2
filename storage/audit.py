"""The audit log: every staff action, allowed or refused."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audited action."""

    id: int
    actor_id: int
    action: str
    arguments: str
    result: str
    created_at: str


async def add(
    tx: aiosqlite.Connection, actor_id: int, action: str, arguments: str, result: str, at: str
) -> None:
    """Append one entry."""
    await tx.execute(
        "INSERT INTO audit_log (actor_id, action, arguments, result, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (actor_id, action, arguments, result, at),
    )


async def list_recent(tx: aiosqlite.Connection, limit: int = 20) -> list[AuditRow]:
    """The newest entries first."""
    cursor = await tx.execute(
        "SELECT id, actor_id, action, arguments, result, created_at FROM audit_log"
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [AuditRow(**dict(row)) for row in await cursor.fetchall()]
