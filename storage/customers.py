"""Customers: the people the business knows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Reads, Writes
from storage.errors import DuplicateKey, NotFound

_COLUMNS = (
    "id, telegram_id, username, phone, name, language, timezone, birthday, stage, stage_since,"
    " stage_manual, opted_out, reachable, member_code, forgotten_at, created_at, last_seen_at,"
    " birthday_set_at, birthday_first_set_at"
)


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One customer as stored."""

    id: int
    telegram_id: int | None
    username: str | None
    phone: str | None
    name: str | None
    language: str
    timezone: str | None
    birthday: str | None
    stage: str
    stage_since: str
    stage_manual: bool
    opted_out: bool
    reachable: bool
    member_code: str
    forgotten_at: str | None
    created_at: str
    last_seen_at: str | None
    birthday_set_at: str | None = None
    birthday_first_set_at: str | None = None


def _row(row: Any) -> CustomerRow:
    values = dict(row)
    for flag in ("stage_manual", "opted_out", "reachable"):
        values[flag] = bool(values[flag])
    return CustomerRow(**values)


async def _one(tx: Reads, where: str, params: tuple[Any, ...]) -> CustomerRow | None:
    # One round trip to the database thread (execute + fetchone would take two).
    sql = f"SELECT {_COLUMNS} FROM customers WHERE {where}"  # noqa: S608
    rows = list(await tx.execute_fetchall(sql, params))
    return _row(rows[0]) if rows else None


async def find_by_telegram_id(tx: Reads, telegram_id: int) -> CustomerRow | None:
    """The customer with this Telegram id, or None."""
    return await _one(tx, "telegram_id = ?", (telegram_id,))


async def find_by_id(tx: aiosqlite.Connection, customer_id: int) -> CustomerRow | None:
    """The customer with this id, or None."""
    return await _one(tx, "id = ?", (customer_id,))


async def get(tx: aiosqlite.Connection, customer_id: int) -> CustomerRow:
    """The customer with this id; NotFound if none."""
    found = await find_by_id(tx, customer_id)
    if found is None:
        raise NotFound(f"customer {customer_id}")
    return found


async def find_by_member_code(tx: aiosqlite.Connection, code: str) -> CustomerRow | None:
    """The customer with this member code, or None."""
    return await _one(tx, "member_code = ?", (code,))


async def find_by_username(tx: aiosqlite.Connection, username: str) -> CustomerRow | None:
    """The customer with this @username (case-insensitive), or None."""
    return await _one(tx, "lower(username) = lower(?)", (username,))


async def find_by_phone(tx: aiosqlite.Connection, phone: str) -> CustomerRow | None:
    """The customer with this normalised phone number, or None."""
    return await _one(tx, "phone = ?", (phone,))


async def add(
    tx: aiosqlite.Connection,
    *,
    telegram_id: int | None,
    username: str | None,
    name: str | None,
    language: str,
    member_code: str,
    at: str,
    phone: str | None = None,
) -> CustomerRow:
    """Insert a new customer at stage 'aware'; DuplicateKey if a unique value is taken."""
    try:
        cursor = await tx.execute(
            "INSERT INTO customers (telegram_id, username, name, language, member_code, phone,"
            " stage, stage_since, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'aware', ?, ?, ?)",
            (telegram_id, username, name, language, member_code, phone, at, at, at),
        )
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey("customers", str(exc)) from exc
    assert cursor.lastrowid is not None
    return await get(tx, cursor.lastrowid)


async def touch(
    tx: Writes, customer_id: int, *, username: str | None, name: str | None, at: str
) -> None:
    """Record that the customer was seen now, refreshing their Telegram name and username."""
    await tx.execute(
        "UPDATE customers SET last_seen_at = ?, username = ?, name = COALESCE(?, name),"
        " reachable = 1 WHERE id = ?",
        (at, username, name, customer_id),
    )


async def set_language(tx: aiosqlite.Connection, customer_id: int, language: str) -> None:
    """Store the customer's language."""
    await tx.execute("UPDATE customers SET language = ? WHERE id = ?", (language, customer_id))


async def set_opted_out(tx: aiosqlite.Connection, customer_id: int, opted_out: bool) -> None:
    """Turn outreach off (True) or on (False) for the customer."""
    await tx.execute(
        "UPDATE customers SET opted_out = ? WHERE id = ?", (int(opted_out), customer_id)
    )


async def set_reachable(tx: aiosqlite.Connection, customer_id: int, reachable: bool) -> None:
    """Mark whether Telegram still delivers to the customer (False after a 403)."""
    await tx.execute(
        "UPDATE customers SET reachable = ? WHERE id = ?", (int(reachable), customer_id)
    )


async def erase_personal_data(tx: aiosqlite.Connection, customer_id: int, at: str) -> None:
    """Remove everything that identifies the person; the row stays so ledger and tickets hold."""
    await tx.execute(
        "UPDATE customers SET telegram_id = NULL, username = NULL, phone = NULL, name = NULL,"
        " birthday = NULL, timezone = NULL, opted_out = 1, reachable = 0, forgotten_at = ?,"
        " birthday_set_at = NULL, birthday_first_set_at = NULL, forget_nonce = NULL,"
        " forget_asked_at = NULL"
        " WHERE id = ?",
        (at, customer_id),
    )


async def count(tx: aiosqlite.Connection) -> int:
    """How many customers are stored."""
    cursor = await tx.execute("SELECT COUNT(*) FROM customers")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def set_birthday(
    tx: aiosqlite.Connection,
    customer_id: int,
    birthday: str | None,
    *,
    by_customer_at: str | None = None,
) -> None:
    """Store the birthday as 'YYYY-MM-DD', or '--MM-DD' when the year is not given.

    `by_customer_at`: the customer changed it themselves at this moment (it counts towards the
    one change a year, and the first such moment is kept); staff and imports pass None.
    """
    await tx.execute(
        "UPDATE customers SET birthday = :birthday,"
        " birthday_set_at = COALESCE(:at, birthday_set_at),"
        " birthday_first_set_at = COALESCE(birthday_first_set_at, :at) WHERE id = :id",
        {"birthday": birthday, "at": by_customer_at, "id": customer_id},
    )


async def ask_forget(tx: aiosqlite.Connection, customer_id: int, nonce: int, at: str) -> None:
    """Remember the nonce of the newest /forget confirmation button and when it was asked."""
    await tx.execute(
        "UPDATE customers SET forget_nonce = ?, forget_asked_at = ? WHERE id = ?",
        (nonce, at, customer_id),
    )


async def take_forget(tx: aiosqlite.Connection, customer_id: int, nonce: int) -> str | None:
    """Use up the /forget confirmation with this nonce: when it was asked, or None if none."""
    cursor = await tx.execute(
        "SELECT forget_asked_at FROM customers WHERE id = ? AND forget_nonce = ?",
        (customer_id, nonce),
    )
    row = await cursor.fetchone()
    await tx.execute(
        "UPDATE customers SET forget_nonce = NULL, forget_asked_at = NULL WHERE id = ?",
        (customer_id,),
    )
    return None if row is None else str(row[0])


async def set_timezone(tx: aiosqlite.Connection, customer_id: int, timezone: str | None) -> None:
    """Store the customer's IANA time zone (None: the configured default)."""
    await tx.execute("UPDATE customers SET timezone = ? WHERE id = ?", (timezone, customer_id))
