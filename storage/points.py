"""The points ledger (append-only; the balance is the sum) and the purchases it records."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Reads
from storage.errors import DuplicateKey

KINDS = ("earn", "redeem", "adjust", "expire", "bonus")
EARNED_KINDS = ("earn", "bonus")  # what counts towards a tier

_ENTRY_COLUMNS = (
    "id, customer_id, delta, kind, reason, reference, staff_id, created_at, receipt, voids"
)
# Entries that still count in windows (tier, daily cap, expiry): neither a voided entry nor the
# reversal that voided it. Sums over all entries (balance, lifetime) include both: they cancel.
_END = "9999"  # after every stored moment: no upper bound
_LIVE = "voids IS NULL AND id NOT IN (SELECT voids FROM points_ledger WHERE voids IS NOT NULL)"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement of points."""

    id: int
    customer_id: int
    delta: int
    kind: str
    reason: str | None
    reference: str
    staff_id: int | None
    created_at: str
    receipt: str | None = None
    voids: int | None = None


_CONFIRMATION_COLUMNS = (
    "id, actor_id, customer_id, amount_cents, receipt, reference, reason, status, created_at"
)


@dataclass(frozen=True, slots=True)
class ConfirmationRow:
    """An earn waiting for the staff member who asked to confirm it."""

    id: int
    actor_id: int
    customer_id: int
    amount_cents: int
    receipt: str | None
    reference: str
    reason: str | None
    status: str
    created_at: str


@dataclass(frozen=True, slots=True)
class PurchaseRow:
    """One purchase, as the stage engine reads it."""

    id: int
    customer_id: int
    amount_cents: int
    reference: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to append (for batched writes)."""

    customer_id: int
    delta: int
    kind: str
    reference: str
    at: str
    reason: str | None = None
    staff_id: int | None = None


async def _first(tx: Reads, sql: str, params: tuple[Any, ...]) -> Any:
    """The first row, in one call to the database thread (these queries are on hot paths)."""
    rows = list(await tx.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def _scalar(tx: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    row = await _first(tx, sql, params)
    return None if row is None else row[0]


async def append(
    tx: aiosqlite.Connection,
    customer_id: int,
    delta: int,
    kind: str,
    reference: str,
    at: str,
    *,
    reason: str | None = None,
    staff_id: int | None = None,
    receipt: str | None = None,
    voids: int | None = None,
) -> int:
    """Insert one entry; DuplicateKey if the customer already has an entry with `reference`,
    the receipt is on any entry, or `voids` was voided before."""
    try:
        cursor = await tx.execute(
            "INSERT INTO points_ledger"
            " (customer_id, delta, kind, reason, reference, staff_id, created_at, receipt, voids)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (customer_id, delta, kind, reason, reference, staff_id, at, receipt, voids),
        )
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey("points_ledger", reference) from exc
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def append_many(tx: aiosqlite.Connection, entries: Iterable[NewEntry]) -> None:
    """Insert many entries at once; DuplicateKey if any reference is taken (nothing is kept)."""
    rows = [
        (e.customer_id, e.delta, e.kind, e.reason, e.reference, e.staff_id, e.at) for e in entries
    ]
    try:
        await tx.executemany(
            "INSERT INTO points_ledger"
            " (customer_id, delta, kind, reason, reference, staff_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey("points_ledger", str(exc)) from exc


async def balance(tx: aiosqlite.Connection, customer_id: int) -> int:
    """The customer's balance: the sum of their entries."""
    value = await _scalar(
        tx,
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE customer_id = ?",
        (customer_id,),
    )
    return int(value)


async def balance_and_earned(
    tx: Reads, customer_id: int, earned_since: str, until: str = _END
) -> tuple[int, int]:
    """The balance and the points earned (earn, bonus; not voided) since `earned_since`, both
    as they stood at `until` (an imported purchase of the past; default: everything)."""
    row = await _first(
        tx,
        "SELECT COALESCE(SUM(delta), 0),"  # noqa: S608
        " COALESCE(SUM(CASE WHEN kind IN ('earn', 'bonus') AND created_at >= ?"
        f" AND {_LIVE} THEN delta END), 0)"
        " FROM points_ledger WHERE customer_id = ? AND created_at <= ?",
        (earned_since, customer_id, until),
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def earned_since(
    tx: aiosqlite.Connection, customer_id: int, since: str, until: str = _END
) -> int:
    """Points entered as 'earn' from `since` to `until`, not voided (for the daily cap)."""
    value = await _scalar(
        tx,
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger"  # noqa: S608
        " WHERE customer_id = ? AND created_at >= ? AND created_at <= ? AND kind = 'earn'"
        f" AND {_LIVE}",
        (customer_id, since, until),
    )
    return int(value)


async def find_by_reference(
    tx: aiosqlite.Connection, customer_id: int, reference: str
) -> LedgerEntry | None:
    """The customer's entry with this reference, or None."""
    row = await _first(
        tx,
        f"SELECT {_ENTRY_COLUMNS} FROM points_ledger"  # noqa: S608
        " WHERE customer_id = ? AND reference = ?",
        (customer_id, reference),
    )
    return None if row is None else LedgerEntry(**dict(row))


async def find_entry(tx: aiosqlite.Connection, entry_id: int) -> LedgerEntry | None:
    """The entry with this number, or None."""
    row = await _first(
        tx,
        f"SELECT {_ENTRY_COLUMNS} FROM points_ledger WHERE id = ?",  # noqa: S608
        (entry_id,),
    )
    return None if row is None else LedgerEntry(**dict(row))


async def find_by_receipt(tx: aiosqlite.Connection, receipt: str) -> LedgerEntry | None:
    """The entry that counted this receipt (any customer), or None."""
    row = await _first(
        tx,
        f"SELECT {_ENTRY_COLUMNS} FROM points_ledger WHERE receipt = ?",  # noqa: S608
        (receipt,),
    )
    return None if row is None else LedgerEntry(**dict(row))


async def reversal_of(tx: aiosqlite.Connection, entry_id: int) -> LedgerEntry | None:
    """The entry that voided `entry_id`, or None."""
    row = await _first(
        tx,
        f"SELECT {_ENTRY_COLUMNS} FROM points_ledger WHERE voids = ?",  # noqa: S608
        (entry_id,),
    )
    return None if row is None else LedgerEntry(**dict(row))


async def voided_ids(tx: aiosqlite.Connection, entry_ids: list[int]) -> set[int]:
    """Which of these entries were voided."""
    if not entry_ids:
        return set()
    marks = ", ".join("?" for _ in entry_ids)
    rows = await tx.execute_fetchall(
        f"SELECT voids FROM points_ledger WHERE voids IN ({marks})",  # noqa: S608
        tuple(entry_ids),
    )
    return {int(row[0]) for row in rows}


async def recent_earn_amounts(
    tx: aiosqlite.Connection, customer_id: int | None, limit: int
) -> list[int]:
    """The amounts (cents) of the newest purchases of one customer, or of the shop (None)."""
    where = "amount_cents > 0" + (" AND customer_id = ?" if customer_id is not None else "")
    params: tuple[Any, ...] = (customer_id, limit) if customer_id is not None else (limit,)
    rows = await tx.execute_fetchall(
        f"SELECT amount_cents FROM purchases WHERE {where}"  # noqa: S608
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        params,
    )
    return [int(row[0]) for row in rows]


async def delete_purchase(tx: aiosqlite.Connection, customer_id: int, reference: str) -> int:
    """Remove the purchase an earn recorded (the earn was voided); how many rows went."""
    cursor = await tx.execute(
        "DELETE FROM purchases WHERE customer_id = ? AND reference = ?", (customer_id, reference)
    )
    return cursor.rowcount


async def add_confirmation(
    tx: aiosqlite.Connection,
    *,
    actor_id: int,
    customer_id: int,
    amount_cents: int,
    receipt: str | None,
    reference: str,
    reason: str | None,
    at: str,
) -> ConfirmationRow:
    """Store an earn waiting for confirmation; the existing one if the message `reference`
    (a re-sent /earn) asked before."""
    await tx.execute(
        "INSERT INTO earn_confirmations (actor_id, customer_id, amount_cents, receipt,"
        " reference, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (reference) DO NOTHING",
        (actor_id, customer_id, amount_cents, receipt, reference, reason, at),
    )
    row = await _first(
        tx,
        f"SELECT {_CONFIRMATION_COLUMNS} FROM earn_confirmations"  # noqa: S608
        " WHERE reference = ?",
        (reference,),
    )
    return ConfirmationRow(**dict(row))


async def find_confirmation(
    tx: aiosqlite.Connection, confirmation_id: int
) -> ConfirmationRow | None:
    """The confirmation with this id, or None."""
    row = await _first(
        tx,
        f"SELECT {_CONFIRMATION_COLUMNS} FROM earn_confirmations WHERE id = ?",  # noqa: S608
        (confirmation_id,),
    )
    return None if row is None else ConfirmationRow(**dict(row))


async def settle_confirmation(tx: aiosqlite.Connection, confirmation_id: int, status: str) -> bool:
    """Mark a pending confirmation confirmed or cancelled; False if it was not pending."""
    cursor = await tx.execute(
        "UPDATE earn_confirmations SET status = ? WHERE id = ? AND status = 'pending'",
        (status, confirmation_id),
    )
    return cursor.rowcount == 1


async def move_confirmations(tx: aiosqlite.Connection, source_id: int, target_id: int) -> None:
    """Re-point confirmations of a record merged into another customer."""
    await tx.execute(
        "UPDATE earn_confirmations SET customer_id = ? WHERE customer_id = ?",
        (target_id, source_id),
    )


async def list_entries(
    tx: aiosqlite.Connection, customer_id: int, *, limit: int, offset: int = 0
) -> list[LedgerEntry]:
    """The customer's entries, newest first."""
    cursor = await tx.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM points_ledger WHERE customer_id = ?"  # noqa: S608
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (customer_id, limit, offset),
    )
    return [LedgerEntry(**dict(row)) for row in await cursor.fetchall()]


async def count_entries(tx: aiosqlite.Connection, customer_id: int) -> int:
    """How many entries the customer has."""
    value = await _scalar(
        tx, "SELECT COUNT(*) FROM points_ledger WHERE customer_id = ?", (customer_id,)
    )
    return int(value)


async def positive_and_spent(
    tx: aiosqlite.Connection, customer_id: int, created_until: str
) -> tuple[int, int]:
    """Points added up to `created_until` and all points ever taken away (as a positive sum).

    Points are spent oldest first, so the unspent points are always the newest lots: what is
    left of the lots added up to a moment is `max(0, added - spent)`.
    """
    cursor = await tx.execute(
        "SELECT COALESCE(SUM(CASE WHEN delta > 0 AND created_at <= ? THEN delta END), 0),"  # noqa: S608
        " COALESCE(-SUM(CASE WHEN delta < 0 THEN delta END), 0)"
        f" FROM points_ledger WHERE customer_id = ? AND {_LIVE}",
        (created_until, customer_id),
    )
    row = await cursor.fetchone()
    await cursor.close()
    assert row is not None
    return int(row[0]), int(row[1])


async def customers_with_lots_until(tx: aiosqlite.Connection, created_until: str) -> list[int]:
    """Customers who still hold points added up to `created_until` (candidates for expiry)."""
    cursor = await tx.execute(
        f"SELECT customer_id FROM points_ledger WHERE {_LIVE} GROUP BY customer_id"  # noqa: S608
        " HAVING COALESCE(SUM(CASE WHEN delta > 0 AND created_at <= ? THEN delta END), 0)"
        " > COALESCE(-SUM(CASE WHEN delta < 0 THEN delta END), 0)",
        (created_until,),
    )
    return [int(row[0]) for row in await cursor.fetchall()]


async def oldest_unspent_lot(tx: aiosqlite.Connection, customer_id: int, spent: int) -> str | None:
    """The creation time of the oldest lot not fully spent, given the total spent."""
    cursor = await tx.execute(
        "SELECT delta, created_at FROM points_ledger WHERE customer_id = ? AND delta > 0"  # noqa: S608
        f" AND {_LIVE} ORDER BY created_at, id",
        (customer_id,),
    )
    running = 0
    async for row in cursor:
        running += int(row[0])
        if running > spent:
            await cursor.close()
            return str(row[1])
    await cursor.close()
    return None


async def add_purchase(
    tx: aiosqlite.Connection, customer_id: int, amount_cents: int, reference: str | None, at: str
) -> int:
    """Record a purchase event."""
    cursor = await tx.execute(
        "INSERT INTO purchases (customer_id, amount_cents, reference, created_at)"
        " VALUES (?, ?, ?, ?)",
        (customer_id, amount_cents, reference, at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def list_purchases(
    tx: aiosqlite.Connection, customer_id: int, since: str | None = None
) -> list[PurchaseRow]:
    """The customer's purchases (at or after `since`), oldest first."""
    cursor = await tx.execute(
        "SELECT id, customer_id, amount_cents, reference, created_at FROM purchases"
        " WHERE customer_id = ? AND created_at >= ? ORDER BY created_at, id",
        (customer_id, since or ""),
    )
    return [PurchaseRow(**dict(row)) for row in await cursor.fetchall()]


async def last_purchase_at(tx: aiosqlite.Connection, customer_id: int) -> str | None:
    """When the customer last bought something, or None."""
    value = await _scalar(
        tx, "SELECT MAX(created_at) FROM purchases WHERE customer_id = ?", (customer_id,)
    )
    return None if value is None else str(value)


async def purchase_receipts(tx: aiosqlite.Connection, receipts: list[str]) -> dict[str, int]:
    """Which of these receipts a purchase already carries, and whose (one scan for them all)."""
    if not receipts:
        return {}
    rows = await tx.execute_fetchall(
        "SELECT reference, customer_id FROM purchases"
        " WHERE reference IN (SELECT value FROM json_each(?))",
        (json.dumps(receipts),),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def add_purchases(
    tx: aiosqlite.Connection, purchases: list[tuple[int, int, str, str]]
) -> None:
    """Record (customer id, amount cents, reference, time) purchases in one batch."""
    await tx.executemany(
        "INSERT INTO purchases (customer_id, amount_cents, reference, created_at)"
        " VALUES (?, ?, ?, ?)",
        purchases,
    )
