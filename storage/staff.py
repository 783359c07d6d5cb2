"""Staff roles granted in the database (owners come from config, not from here)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class StaffRow:
    """One staff member."""

    telegram_id: int
    role: str
    name: str | None
    granted_by: int
    created_at: str


async def find(tx: aiosqlite.Connection, telegram_id: int) -> StaffRow | None:
    """The staff row for this Telegram id, or None."""
    cursor = await tx.execute(
        "SELECT telegram_id, role, name, granted_by, created_at FROM staff_roles"
        " WHERE telegram_id = ?",
        (telegram_id,),
    )
    row = await cursor.fetchone()
    return None if row is None else StaffRow(**dict(row))


async def upsert(
    tx: aiosqlite.Connection, telegram_id: int, role: str, name: str | None, by: int, at: str
) -> None:
    """Grant (or change) a role."""
    await tx.execute(
        "INSERT INTO staff_roles (telegram_id, role, name, granted_by, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (telegram_id) DO UPDATE SET role = excluded.role,"
        " name = COALESCE(excluded.name, name), granted_by = excluded.granted_by",
        (telegram_id, role, name, by, at),
    )


async def remove(tx: aiosqlite.Connection, telegram_id: int) -> bool:
    """Revoke a role; True if there was one."""
    cursor = await tx.execute("DELETE FROM staff_roles WHERE telegram_id = ?", (telegram_id,))
    return cursor.rowcount > 0


async def list_all(tx: aiosqlite.Connection) -> list[StaffRow]:
    """Every staff member, oldest first."""
    cursor = await tx.execute(
        "SELECT telegram_id, role, name, granted_by, created_at FROM staff_roles"
        " ORDER BY created_at, telegram_id"
    )
    return [StaffRow(**dict(row)) for row in await cursor.fetchall()]
