"""The outreach outbox: candidates for each kind, rows keyed by (customer, kind, occasion)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

# Facts about the customer that every send rule needs, evaluated per candidate row only.
_CUSTOMER = (
    "c.id AS customer_id, c.telegram_id, c.name, c.language, c.timezone, c.birthday, c.stage,"
    " c.opted_out, c.reachable, c.last_purchase_at, c.next_checkin_at, c.winback_due_at,"
    " c.birthday_first_set_at,"
    " EXISTS (SELECT 1 FROM outreach_optouts x WHERE x.customer_id = c.id AND x.kind = :kind)"
    " AS kind_opted_out,"
    " (SELECT COUNT(*) FROM tickets t WHERE t.customer_id = c.id AND t.kind = 'complaint'"
    " AND t.status IN ('open', 'waiting_customer')) AS open_complaints,"
    # The newest capped message: scheduled outreach, or a campaign (sent through the outbox).
    " NULLIF(MAX("
    "COALESCE((SELECT MAX(p.sent_at) FROM outreach p WHERE p.customer_id = c.id"
    " AND p.status = 'sent' AND p.kind IN (SELECT value FROM json_each(:promotional))), ''),"
    " COALESCE((SELECT MAX(o.sent_at) FROM outbox o WHERE o.customer_id = c.id"
    " AND o.kind = 'campaign' AND o.status = 'sent'), '')), '') AS last_promo_at"
)
DUE_COLUMNS = {"checkin": "next_checkin_at", "winback": "winback_due_at"}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A customer considered for one kind of outreach, with what the rules need."""

    customer_id: int
    telegram_id: int | None
    name: str | None
    language: str
    timezone: str | None
    birthday: str | None
    stage: str
    opted_out: bool
    reachable: bool
    kind_opted_out: bool
    open_complaints: int
    last_promo_at: str | None
    last_purchase_at: str | None
    due: str | None  # next_checkin_at / winback_due_at for those kinds
    existing_status: str | None = None  # the outbox row already planned, if any
    existing_reason: str | None = None
    birthday_first_set_at: str | None = None  # when the customer first gave a birthday


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox row with its customer's current facts."""

    id: int
    kind: str
    occasion: str
    status: str
    due_at: str
    expires_at: str | None
    replied_at: str | None
    customer: Candidate
    created_at: str = ""


def _candidate(row: Any, kind: str) -> Candidate:
    keys = row.keys()
    return Candidate(
        customer_id=row["customer_id"],
        telegram_id=row["telegram_id"],
        name=row["name"],
        language=row["language"],
        timezone=row["timezone"],
        birthday=row["birthday"],
        stage=row["stage"],
        opted_out=bool(row["opted_out"]),
        reachable=bool(row["reachable"]),
        kind_opted_out=bool(row["kind_opted_out"]),
        open_complaints=int(row["open_complaints"]),
        last_promo_at=row["last_promo_at"],
        last_purchase_at=row["last_purchase_at"],
        due=row[DUE_COLUMNS[kind]] if kind in DUE_COLUMNS else None,
        existing_status=row["o_status"] if "o_status" in keys else None,
        existing_reason=row["o_reason"] if "o_reason" in keys else None,
        birthday_first_set_at=row["birthday_first_set_at"],
    )


async def birthday_candidates(
    tx: aiosqlite.Connection,
    month_day: str,
    occasion: str,
    *,
    promotional: str,
    after_id: int,
    limit: int,
    unplanned_only: bool,
) -> list[Candidate]:
    """Customers born on `month_day` ('MM-DD'), by the birthday index, in id batches."""
    return await _occasion_candidates(
        tx, "birthday", occasion, "substr(c.birthday, -5) = :md", {"md": month_day},
        promotional=promotional, after_id=after_id, limit=limit, unplanned_only=unplanned_only,
    )  # fmt: skip


async def holiday_candidates(
    tx: aiosqlite.Connection,
    occasion: str,
    *,
    promotional: str,
    after_id: int,
    limit: int,
    unplanned_only: bool,
) -> list[Candidate]:
    """Every customer with a chat, for one holiday's occasion, in id batches."""
    return await _occasion_candidates(
        tx, "holiday", occasion, "c.telegram_id IS NOT NULL", {},
        promotional=promotional, after_id=after_id, limit=limit, unplanned_only=unplanned_only,
    )  # fmt: skip


async def _occasion_candidates(
    tx: aiosqlite.Connection,
    kind: str,
    occasion: str,
    who: str,
    params: dict[str, Any],
    *,
    promotional: str,
    after_id: int,
    limit: int,
    unplanned_only: bool,
) -> list[Candidate]:
    """Customers matching `who` (a fixed SQL condition), with this occasion's row if planned."""
    only = " AND o.id IS NULL" if unplanned_only else ""
    cursor = await tx.execute(
        f"SELECT {_CUSTOMER}, o.status AS o_status, o.reason AS o_reason FROM customers c"  # noqa: S608
        " LEFT JOIN outreach o ON o.customer_id = c.id AND o.kind = :kind"
        " AND o.occasion = :occasion"
        f" WHERE {who} AND c.id > :after AND c.forgotten_at IS NULL{only}"
        " ORDER BY c.id LIMIT :limit",
        {
            **params,
            "kind": kind,
            "promotional": promotional,
            "occasion": occasion,
            "after": after_id,
            "limit": limit,
        },
    )
    return [_candidate(row, kind) for row in await cursor.fetchall()]


async def due_candidates(
    tx: aiosqlite.Connection,
    kind: str,
    until: str,
    *,
    promotional: str,
    after: tuple[str, int],
    limit: int,
) -> list[Candidate]:
    """Customers whose check-in or win-back is due by `until`, by index, in (due, id) order."""
    column = DUE_COLUMNS[kind]
    cursor = await tx.execute(
        f"SELECT {_CUSTOMER} FROM customers c WHERE c.{column} <= :until"  # noqa: S608
        f" AND (c.{column}, c.id) > (:after_due, :after_id) AND c.forgotten_at IS NULL"
        f" ORDER BY c.{column}, c.id LIMIT :limit",
        {
            "kind": kind,
            "promotional": promotional,
            "until": until,
            "after_due": after[0],
            "after_id": after[1],
            "limit": limit,
        },
    )
    return [_candidate(row, kind) for row in await cursor.fetchall()]


async def clear_due(tx: aiosqlite.Connection, kind: str, customer_ids: list[int]) -> None:
    """The check-ins or win-backs are planned: nothing more is due until the facts change."""
    column = DUE_COLUMNS[kind]
    await tx.executemany(
        f"UPDATE customers SET {column} = NULL WHERE id = ?",  # noqa: S608
        [(cid,) for cid in customer_ids],
    )


@dataclass(frozen=True, slots=True)
class NewOccasion:
    """An outbox row to add."""

    customer_id: int
    kind: str
    occasion: str
    status: str
    reason: str | None
    due_at: str
    expires_at: str
    stage: str


async def insert_many(tx: aiosqlite.Connection, rows: list[NewOccasion], at: str) -> int:
    """Add occasions to the outbox, skipping those already there (the UNIQUE key); return how
    many were added."""
    before = tx.total_changes
    await tx.executemany(
        "INSERT INTO outreach (customer_id, kind, occasion, status, reason, due_at, expires_at,"
        " stage, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (customer_id, kind, occasion) DO NOTHING",
        [
            (r.customer_id, r.kind, r.occasion, r.status, r.reason, r.due_at, r.expires_at)
            + (r.stage, at, at)
            for r in rows
        ],
    )
    return tx.total_changes - before


async def interrupt_sending(tx: aiosqlite.Connection, at: str) -> int:
    """Rows left in 'sending' by a crash: failed 'interrupted', never sent again (at most once)."""
    cursor = await tx.execute(
        "UPDATE outreach SET status = 'failed', reason = 'interrupted', updated_at = ?"
        " WHERE status = 'sending'",
        (at,),
    )
    return cursor.rowcount


async def due_ids(tx: aiosqlite.Connection, now: str, limit: int) -> list[int]:
    """Queued rows due by now, oldest first (the status/due index)."""
    cursor = await tx.execute(
        "SELECT id FROM outreach WHERE status = 'queued' AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?",
        (now, limit),
    )
    return [int(row[0]) for row in await cursor.fetchall()]


async def candidate(
    tx: aiosqlite.Connection, customer_id: int, kind: str, promotional: str
) -> Candidate | None:
    """One customer's current facts for one kind of outreach."""
    cursor = await tx.execute(
        f"SELECT {_CUSTOMER} FROM customers c WHERE c.id = :id",  # noqa: S608
        {"id": customer_id, "kind": kind, "promotional": promotional},
    )
    row = await cursor.fetchone()
    return None if row is None else _candidate(row, kind)


async def load(tx: aiosqlite.Connection, outreach_id: int, promotional: str) -> OutboxRow | None:
    """One outbox row with its customer's current facts."""
    cursor = await tx.execute(
        "SELECT id, customer_id, kind, occasion, status, due_at, expires_at, replied_at,"
        " created_at FROM outreach WHERE id = ?",
        (outreach_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    customer = await candidate(tx, row["customer_id"], row["kind"], promotional)
    assert customer is not None  # customers are never deleted
    return OutboxRow(
        id=row["id"],
        kind=row["kind"],
        occasion=row["occasion"],
        status=row["status"],
        due_at=row["due_at"],
        expires_at=row["expires_at"],
        replied_at=row["replied_at"],
        customer=customer,
        created_at=row["created_at"],
    )


async def mark(
    tx: aiosqlite.Connection,
    outreach_id: int,
    status: str,
    *,
    at: str,
    reason: str | None = None,
    from_status: str = "queued",
    **extra: Any,
) -> bool:
    """Move a row from `from_status` to `status`; False if it was not in `from_status`."""
    allowed = {"message_id", "valid_until", "sent_at", "stage"}
    sets = "".join(f", {name} = :{name}" for name in extra if name in allowed)
    cursor = await tx.execute(
        f"UPDATE outreach SET status = :status, reason = :reason, updated_at = :at{sets}"  # noqa: S608
        " WHERE id = :id AND status = :from_status",
        {
            **extra,
            "status": status,
            "reason": reason,
            "at": at,
            "id": outreach_id,
            "from_status": from_status,
        },
    )
    return cursor.rowcount == 1


async def hold(tx: aiosqlite.Connection, outreach_id: int, until: str, at: str) -> None:
    """Keep a queued row for later (quiet hours)."""
    await tx.execute(
        "UPDATE outreach SET due_at = ?, reason = 'held: quiet_hours', updated_at = ?"
        " WHERE id = ? AND status = 'queued'",
        (until, at, outreach_id),
    )


async def defer(
    tx: aiosqlite.Connection, outreach_id: int, due_at: str, expires_at: str, reason: str, at: str
) -> None:
    """Keep a queued row for a later window (a win-back held by the frequency cap)."""
    await tx.execute(
        "UPDATE outreach SET due_at = ?, expires_at = ?, reason = ?, updated_at = ?"
        " WHERE id = ? AND status = 'queued'",
        (due_at, expires_at, reason, at, outreach_id),
    )


async def requeue(
    tx: aiosqlite.Connection, outreach_id: int, due_at: str, reason: str, at: str
) -> bool:
    """Put a row whose send definitely failed back in the queue, due again at `due_at`."""
    cursor = await tx.execute(
        "UPDATE outreach SET status = 'queued', due_at = ?, reason = ?, updated_at = ?"
        " WHERE id = ? AND status = 'sending'",
        (due_at, reason, at, outreach_id),
    )
    return cursor.rowcount == 1


async def record_checkin_answer(
    tx: aiosqlite.Connection, outreach_id: int, customer_id: int, score: int, at: str
) -> int:
    """Record a check-in answer as resolved feedback; return the ticket number."""
    cursor = await tx.execute("SELECT COALESCE(MAX(number), 1000) + 1 FROM tickets")
    row = await cursor.fetchone()
    assert row is not None
    number = int(row[0])
    await tx.execute(
        "INSERT INTO tickets (number, customer_id, kind, category, status, rating, created_at,"
        " resolved_at, updated_at) VALUES (?, ?, 'feedback', 'checkin', 'resolved', ?, ?, ?, ?)",
        (number, customer_id, score, at, at, at),
    )
    await tx.execute(
        "UPDATE outreach SET replied_at = ?, updated_at = ? WHERE id = ?", (at, at, outreach_id)
    )
    return number


async def record_won_back(tx: aiosqlite.Connection, since: str, at: str) -> int:
    """Win-backs followed by a purchase within the offer's validity are won back."""
    cursor = await tx.execute(
        "UPDATE outreach SET won_back_at = (SELECT MIN(p.created_at) FROM purchases p"
        " WHERE p.customer_id = outreach.customer_id AND p.created_at >= outreach.sent_at"
        " AND p.created_at <= outreach.valid_until), updated_at = ?"
        " WHERE kind = 'winback' AND status = 'sent' AND won_back_at IS NULL"
        " AND valid_until >= ? AND EXISTS (SELECT 1 FROM purchases p"
        " WHERE p.customer_id = outreach.customer_id AND p.created_at >= outreach.sent_at"
        " AND p.created_at <= outreach.valid_until)",
        (at, since),
    )
    return cursor.rowcount


async def set_optout(tx: aiosqlite.Connection, customer_id: int, kind: str, at: str) -> bool:
    """Stop one kind of outreach for the customer; False if it was already stopped."""
    cursor = await tx.execute(
        "INSERT INTO outreach_optouts (customer_id, kind, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (customer_id, kind, at),
    )
    return cursor.rowcount > 0


async def clear_optouts(tx: aiosqlite.Connection, customer_id: int) -> int:
    """Every kind of outreach back on for the customer (mutes and "stop these"); how many."""
    cursor = await tx.execute("DELETE FROM outreach_optouts WHERE customer_id = ?", (customer_id,))
    return cursor.rowcount


async def stats(tx: aiosqlite.Connection, since: str, until: str) -> list[tuple[str, str, int]]:
    """(kind, measure, count) for occasions due in [since, until]: statuses, reasons, replies."""
    cursor = await tx.execute(
        "SELECT o.kind, CASE WHEN o.status IN ('skipped', 'failed', 'missed')"
        " THEN o.status || ':' || COALESCE(o.reason, '') ELSE o.status END, COUNT(*)"
        " FROM outreach o WHERE o.due_at BETWEEN ? AND ? GROUP BY 1, 2"
        " UNION ALL SELECT o.kind, 'replies', COUNT(*) FROM outreach o"
        " JOIN customers c ON c.id = o.customer_id WHERE o.due_at BETWEEN ? AND ?"
        " AND o.status = 'sent' AND (o.replied_at IS NOT NULL OR c.last_seen_at > o.sent_at)"
        " GROUP BY 1"
        " UNION ALL SELECT o.kind, 'won_back', COUNT(*) FROM outreach o"
        " WHERE o.due_at BETWEEN ? AND ? AND o.won_back_at IS NOT NULL GROUP BY 1",
        (since, until) * 3,
    )
    return [(row[0], row[1], int(row[2])) for row in await cursor.fetchall()]
