"""Customer administration across aggregates: profile updates, merging records, export rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.errors import DuplicateKey

# Columns an import may set; the names are fixed here, never taken from input.
PROFILE_COLUMNS = ("telegram_id", "phone", "name", "birthday", "language", "timezone")
_CHUNK = 500  # values per IN (...) list, well under SQLite's limit on parameters
_TARGETS = (
    "SELECT c.id, c.telegram_id, c.phone, c.name, c.birthday, c.language, c.timezone, c.stage,"
    " c.member_code, c.forgotten_at,"
    " COALESCE((SELECT SUM(delta) FROM points_ledger p WHERE p.customer_id = c.id), 0) AS points,"
    " (SELECT MAX(created_at) FROM purchases u WHERE u.customer_id = c.id) AS last_purchase_at"
    " FROM customers c"
)


@dataclass(frozen=True, slots=True)
class MergeCounts:
    """What moved from the imported record to the Telegram customer."""

    entries: int
    duplicates: int
    purchases: int
    tickets: int


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One customer as exported."""

    telegram_id: int | None
    phone: str | None
    name: str | None
    birthday: str | None
    language: str
    timezone: str | None
    points: int
    last_purchase_at: str | None
    stage: str
    member_code: str


async def update_profile(
    tx: aiosqlite.Connection, customer_id: int, values: dict[str, Any]
) -> None:
    """Set some of PROFILE_COLUMNS; DuplicateKey if a unique value (phone, id) is taken."""
    unknown = set(values) - set(PROFILE_COLUMNS)
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    if not values:
        return
    assignments = ", ".join(f"{column} = ?" for column in values)
    try:
        await tx.execute(
            f"UPDATE customers SET {assignments} WHERE id = ?",  # noqa: S608 (fixed names)
            (*values.values(), customer_id),
        )
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey("customers", str(exc)) from exc


async def set_stage(
    tx: aiosqlite.Connection,
    customer_id: int,
    stage: str,
    reason: str,
    at: str,
    *,
    manual: bool = False,
) -> bool:
    """Move the customer to `stage` with a history row; False if they were already there.

    `manual` marks a stage that holds until the rules see a new fact (staff, import).
    """
    cursor = await tx.execute("SELECT stage FROM customers WHERE id = ?", (customer_id,))
    row = await cursor.fetchone()
    await cursor.close()
    if row is None or row[0] == stage:
        return False
    await tx.execute(
        "UPDATE customers SET stage = ?, stage_since = ?, stage_manual = ? WHERE id = ?",
        (stage, at, int(manual), customer_id),
    )
    await tx.execute(
        "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (customer_id, row[0], stage, reason, at),
    )
    return True


async def open_ticket_count(tx: aiosqlite.Connection, customer_id: int) -> int:
    """Tickets still open or waiting for the customer."""
    cursor = await tx.execute(
        "SELECT COUNT(*) FROM tickets WHERE customer_id = ?"
        " AND status IN ('open', 'waiting_customer')",
        (customer_id,),
    )
    row = await cursor.fetchone()
    await cursor.close()
    return int(row[0]) if row else 0


async def merge_records(
    tx: aiosqlite.Connection, source_id: int, target_id: int, at: str
) -> MergeCounts:
    """Re-point everything of `source_id` to `target_id` and delete the source row.

    A ledger reference both records hold was counted on each: the source's copy is kept (renamed)
    and cancelled by an 'adjust' entry, so the ledger stays append-only and counts it once.
    """
    params = {"src": source_id, "dst": target_id}
    cursor = await tx.execute(
        "SELECT id, delta, reference FROM points_ledger WHERE customer_id = :src"
        " AND reference IN (SELECT reference FROM points_ledger WHERE customer_id = :dst)",
        params,
    )
    duplicates = list(await cursor.fetchall())
    for entry_id, delta, reference in duplicates:
        await tx.execute(
            "UPDATE points_ledger SET customer_id = ?, reference = ? WHERE id = ?",
            (target_id, f"merged:{source_id}:{reference}", entry_id),
        )
        if delta:
            await tx.execute(
                "INSERT INTO points_ledger (customer_id, delta, kind, reason, reference,"
                " created_at) VALUES (?, ?, 'adjust', 'merge: counted on both records', ?, ?)",
                (target_id, -delta, f"merge-duplicate:{source_id}:{reference}", at),
            )
    moved = await tx.execute(
        "UPDATE points_ledger SET customer_id = :dst WHERE customer_id = :src", params
    )
    await tx.execute(
        "DELETE FROM purchases WHERE customer_id = :src AND reference IS NOT NULL AND reference"
        " IN (SELECT reference FROM purchases WHERE customer_id = :dst AND reference IS NOT NULL)",
        params,
    )
    purchases = await tx.execute(
        "UPDATE purchases SET customer_id = :dst WHERE customer_id = :src", params
    )
    tickets = await tx.execute(
        "UPDATE tickets SET customer_id = :dst WHERE customer_id = :src", params
    )
    await tx.execute(
        "UPDATE stage_history SET customer_id = :dst WHERE customer_id = :src", params
    )
    await tx.execute(
        "DELETE FROM outreach WHERE customer_id = :src AND EXISTS (SELECT 1 FROM outreach o"
        " WHERE o.customer_id = :dst AND o.kind = outreach.kind"
        " AND o.occasion = outreach.occasion)",
        params,
    )
    await tx.execute("UPDATE outreach SET customer_id = :dst WHERE customer_id = :src", params)
    await tx.execute(
        "INSERT OR IGNORE INTO outreach_optouts (customer_id, kind, created_at)"
        " SELECT :dst, kind, created_at FROM outreach_optouts WHERE customer_id = :src",
        params,
    )
    await tx.execute("DELETE FROM outreach_optouts WHERE customer_id = :src", params)
    await tx.execute("DELETE FROM customers WHERE id = :src", params)
    return MergeCounts(
        entries=moved.rowcount + len(duplicates),
        duplicates=len(duplicates),
        purchases=purchases.rowcount,
        tickets=tickets.rowcount,
    )


async def adopt_record(
    tx: aiosqlite.Connection,
    customer_id: int,
    *,
    phone: str,
    member_code: str,
    name: str | None,
    birthday: str | None,
    timezone: str | None,
) -> None:
    """Give the Telegram customer the merged record's phone and card, filling empty fields."""
    await tx.execute(
        "UPDATE customers SET phone = ?, member_code = ?, name = COALESCE(name, ?),"
        " birthday = COALESCE(birthday, ?), timezone = COALESCE(timezone, ?) WHERE id = ?",
        (phone, member_code, name, birthday, timezone, customer_id),
    )


async def export_rows(tx: aiosqlite.Connection) -> list[ExportRow]:
    """Every customer not forgotten, with balance and last purchase, oldest first."""
    cursor = await tx.execute(
        "SELECT c.telegram_id, c.phone, c.name, c.birthday, c.language, c.timezone,"
        " COALESCE((SELECT SUM(delta) FROM points_ledger p WHERE p.customer_id = c.id), 0)"
        " AS points,"
        " (SELECT MAX(created_at) FROM purchases u WHERE u.customer_id = c.id)"
        " AS last_purchase_at,"
        " c.stage, c.member_code"
        " FROM customers c WHERE c.forgotten_at IS NULL ORDER BY c.id"
    )
    return [ExportRow(**dict(row)) for row in await cursor.fetchall()]


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """A customer an import may match or change, with their balance and last purchase."""

    id: int
    telegram_id: int | None
    phone: str | None
    name: str | None
    birthday: str | None
    language: str
    timezone: str | None
    stage: str
    member_code: str
    forgotten_at: str | None
    points: int
    last_purchase_at: str | None


@dataclass(frozen=True, slots=True)
class Profile:
    """A customer's profile as an import writes it: a new row, or the whole of an existing one."""

    id: int
    telegram_id: int | None
    phone: str | None
    name: str | None
    birthday: str | None
    language: str
    timezone: str | None
    member_code: str


@dataclass(frozen=True, slots=True)
class StageChange:
    """A stage an import sets (a history row with its reason goes with it)."""

    customer_id: int
    from_stage: str
    to_stage: str


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def find_import_targets(
    tx: aiosqlite.Connection,
    *,
    telegram_ids: Iterable[int],
    phones: Iterable[str],
    member_codes: Iterable[str],
) -> list[ImportTarget]:
    """Every customer holding one of these Telegram ids, phones or member codes, once each."""
    ids: set[int] = set()
    for column, values in (
        ("telegram_id", telegram_ids),
        ("phone", phones),
        ("member_code", member_codes),
    ):
        for chunk in _chunks(dict.fromkeys(values)):
            marks = ", ".join("?" * len(chunk))
            rows = await tx.execute_fetchall(
                f"SELECT id FROM customers WHERE {column} IN ({marks})",  # noqa: S608 (fixed names, placeholders)
                chunk,
            )  # the unique indexes answer this alone
            ids.update(row[0] for row in rows)
    targets: list[ImportTarget] = []
    for chunk in _chunks(sorted(ids)):  # in id order: the table is read front to back
        marks = ", ".join("?" * len(chunk))
        rows = await tx.execute_fetchall(f"{_TARGETS} WHERE c.id IN ({marks})", chunk)
        targets.extend(ImportTarget(*row) for row in rows)
    return targets


async def taken_member_codes(tx: aiosqlite.Connection, codes: Iterable[str]) -> set[str]:
    """Those of `codes` that a customer already holds."""
    taken: set[str] = set()
    for chunk in _chunks(codes):
        marks = ", ".join("?" * len(chunk))
        cursor = await tx.execute(
            f"SELECT member_code FROM customers WHERE member_code IN ({marks})",  # noqa: S608 (placeholders)
            chunk,
        )
        taken.update(row[0] for row in await cursor.fetchall())
    return taken


async def next_customer_id(tx: aiosqlite.Connection) -> int:
    """The id the next customer row gets (rows are numbered as SQLite would number them)."""
    cursor = await tx.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def add_customers(tx: aiosqlite.Connection, profiles: Sequence[Profile], at: str) -> None:
    """Insert imported customers at stage 'aware'; DuplicateKey if a unique value is taken."""
    try:
        await tx.executemany(
            "INSERT INTO customers (id, telegram_id, phone, name, birthday, language, timezone,"
            " member_code, stage, stage_since, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'aware', ?, ?, ?)",
            [
                (p.id, p.telegram_id, p.phone, p.name, p.birthday, p.language, p.timezone,
                 p.member_code, at, at, at)
                for p in profiles
            ],
        )  # fmt: skip
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey("customers", str(exc)) from exc


async def update_profiles(tx: aiosqlite.Connection, profiles: Sequence[Profile]) -> None:
    """Write each profile over its customer, in order; DuplicateKey if a unique value is taken."""
    try:
        await tx.executemany(
            "UPDATE customers SET telegram_id = ?, phone = ?, name = ?, birthday = ?,"
            " language = ?, timezone = ?, member_code = ? WHERE id = ?",
            [
                (p.telegram_id, p.phone, p.name, p.birthday, p.language, p.timezone,
                 p.member_code, p.id)
                for p in profiles
            ],
        )  # fmt: skip
    except sqlite3.IntegrityError as exc:
        raise DuplicateKey("customers", str(exc)) from exc


async def set_stages(
    tx: aiosqlite.Connection, changes: Sequence[StageChange], reason: str, at: str
) -> None:
    """Set many stages that hold against the rules (like staff's), each with a history row."""
    await tx.executemany(
        "UPDATE customers SET stage = ?, stage_since = ?, stage_manual = 1 WHERE id = ?",
        [(c.to_stage, at, c.customer_id) for c in changes],
    )
    await tx.executemany(
        "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(c.customer_id, c.from_stage, c.to_stage, reason, at) for c in changes],
    )


async def add_purchase_marks(
    tx: aiosqlite.Connection, marks: Sequence[tuple[int, str]], reference: str
) -> None:
    """Record (customer id, time) purchases of amount 0: when each customer last bought."""
    await tx.executemany(
        "INSERT INTO purchases (customer_id, amount_cents, reference, created_at)"
        " VALUES (?, 0, ?, ?)",
        [(customer_id, reference, at) for customer_id, at in marks],
    )
