"""Stage facts and stage changes: what the rules read (purchases, tickets, points) and write."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import aiosqlite

OPEN_TICKET_STATUSES = ("open", "waiting_customer")


@dataclass(frozen=True, slots=True)
class Rating:
    """A 1–5 rating (ticket rating or CSAT) and when it was given."""

    at: str
    value: int


@dataclass(frozen=True, slots=True)
class FactsRow:
    """Everything the stage rules need about one customer, as stored."""

    customer_id: int
    stage: str
    stage_since: str
    stage_manual: bool
    created_at: str
    last_seen_at: str | None
    purchases: tuple[str, ...]  # created_at, oldest first
    open_complaints: int
    ratings: tuple[Rating, ...]
    last_ticket_at: str | None  # newest complaint or rating (a "new fact" for manual stages)
    lifetime_points: int
    last_checkin_due: str | None
    winback_occasions: frozenset[str]
    next_checkin_at: str | None
    winback_due_at: str | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One stage change; `reason` as stored (see `care.stages.reasons.Reason`)."""

    from_stage: str | None
    to_stage: str
    reason: str
    staff_id: int | None
    created_at: str


async def customer_ids_after(tx: aiosqlite.Connection, after_id: int, limit: int) -> list[int]:
    """The next `limit` customer ids above `after_id` (keyset pagination; forgotten excluded)."""
    cursor = await tx.execute(
        "SELECT id FROM customers WHERE id > ? AND forgotten_at IS NULL ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    return [int(row[0]) for row in await cursor.fetchall()]


async def load_facts(tx: aiosqlite.Connection, first_id: int, last_id: int) -> list[FactsRow]:
    """Facts for the customers with ids in [first_id, last_id], a few indexed queries in all."""
    span = (first_id, last_id)
    purchases: dict[int, list[str]] = defaultdict(list)
    cursor = await tx.execute(
        "SELECT customer_id, created_at FROM purchases WHERE customer_id BETWEEN ? AND ?"
        " ORDER BY customer_id, created_at",
        span,
    )
    for row in await cursor.fetchall():
        purchases[row[0]].append(row[1])
    open_complaints: dict[int, int] = defaultdict(int)
    ratings: dict[int, list[Rating]] = defaultdict(list)
    last_ticket: dict[int, str] = {}
    cursor = await tx.execute(
        "SELECT customer_id, kind, status, COALESCE(rating, csat) AS score, created_at,"
        " updated_at FROM tickets WHERE customer_id BETWEEN ? AND ?",
        span,
    )
    for row in await cursor.fetchall():
        cid = row["customer_id"]
        fact_at = None
        if row["kind"] == "complaint":
            fact_at = row["created_at"]
            if row["status"] in OPEN_TICKET_STATUSES:
                open_complaints[cid] += 1
        if row["score"] is not None:
            ratings[cid].append(Rating(row["updated_at"], int(row["score"])))
            fact_at = max(fact_at or "", row["updated_at"])
        if fact_at and fact_at > last_ticket.get(cid, ""):
            last_ticket[cid] = fact_at
    cursor = await tx.execute(
        "SELECT customer_id, SUM(delta) FROM points_ledger WHERE customer_id BETWEEN ? AND ?"
        " AND kind = 'earn' GROUP BY customer_id",
        span,
    )
    points = {row[0]: int(row[1] or 0) for row in await cursor.fetchall()}
    checkins: dict[int, str] = {}
    winbacks: dict[int, set[str]] = defaultdict(set)
    cursor = await tx.execute(
        "SELECT customer_id, kind, occasion, due_at FROM outreach"
        " WHERE customer_id BETWEEN ? AND ? AND kind IN ('checkin', 'winback')",
        span,
    )
    for row in await cursor.fetchall():
        cid = row["customer_id"]
        if row["kind"] == "checkin":
            checkins[cid] = max(checkins.get(cid, ""), row["due_at"])
        else:
            winbacks[cid].add(row["occasion"])
    cursor = await tx.execute(
        "SELECT id, stage, stage_since, stage_manual, created_at, last_seen_at, next_checkin_at,"
        " winback_due_at FROM customers WHERE id BETWEEN ? AND ? AND forgotten_at IS NULL"
        " ORDER BY id",
        span,
    )
    return [
        FactsRow(
            customer_id=row["id"],
            stage=row["stage"],
            stage_since=row["stage_since"],
            stage_manual=bool(row["stage_manual"]),
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            purchases=tuple(purchases.get(row["id"], ())),
            open_complaints=open_complaints.get(row["id"], 0),
            ratings=tuple(ratings.get(row["id"], ())),
            last_ticket_at=last_ticket.get(row["id"]),
            lifetime_points=points.get(row["id"], 0),
            last_checkin_due=checkins.get(row["id"]),
            winback_occasions=frozenset(winbacks.get(row["id"], ())),
            next_checkin_at=row["next_checkin_at"],
            winback_due_at=row["winback_due_at"],
        )
        for row in await cursor.fetchall()
    ]


async def load_facts_for(
    tx: aiosqlite.Connection, customer_ids: list[int], span: int = 1000
) -> list[FactsRow]:
    """Facts for these customers (scattered ids: one range query per run of nearby ids)."""
    ids = sorted(set(customer_ids))
    found: list[FactsRow] = []
    start = 0
    while start < len(ids):
        end = start
        while end + 1 < len(ids) and ids[end + 1] - ids[start] < span:
            end += 1
        wanted = set(ids[start : end + 1])
        rows = await load_facts(tx, ids[start], ids[end])
        found += [row for row in rows if row.customer_id in wanted]
        start = end + 1
    return found


async def change_stage(
    tx: aiosqlite.Connection,
    customer_id: int,
    *,
    from_stage: str | None,
    to_stage: str,
    reason: str,
    manual: bool,
    staff_id: int | None,
    at: str,
) -> None:
    """Move the customer to a stage and write the change to the history."""
    await tx.execute(
        "UPDATE customers SET stage = ?, stage_since = ?, stage_manual = ? WHERE id = ?",
        (to_stage, at, int(manual), customer_id),
    )
    await tx.execute(
        "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, staff_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (customer_id, from_stage, to_stage, reason, staff_id, at),
    )


async def hold_stage(tx: aiosqlite.Connection, customer_id: int, *, at: str) -> None:
    """Staff confirm the stage the customer already has: it holds from `at`, no history row."""
    await tx.execute(
        "UPDATE customers SET stage_since = ?, stage_manual = 1 WHERE id = ?", (at, customer_id)
    )


async def release_manual(tx: aiosqlite.Connection, customer_id: int) -> None:
    """The rules take over again from a staff-set stage."""
    await tx.execute("UPDATE customers SET stage_manual = 0 WHERE id = ?", (customer_id,))


async def set_schedule(
    tx: aiosqlite.Connection,
    customer_id: int,
    *,
    last_purchase_at: str | None,
    at_risk_at: str | None,
    lapsed_at: str | None,
    next_checkin_at: str | None,
    winback_due_at: str | None,
    at: str,
) -> None:
    """Store the derived recency moments and the next outreach due for the customer."""
    await tx.execute(
        "UPDATE customers SET last_purchase_at = ?, at_risk_at = ?, lapsed_at = ?,"
        " next_checkin_at = ?, winback_due_at = ?, evaluated_at = ? WHERE id = ?",
        (
            last_purchase_at,
            at_risk_at,
            lapsed_at,
            next_checkin_at,
            winback_due_at,
            at,
            customer_id,
        ),
    )


async def history(tx: aiosqlite.Connection, customer_id: int, limit: int) -> list[HistoryRow]:
    """The customer's newest stage changes, newest first."""
    cursor = await tx.execute(
        "SELECT from_stage, to_stage, reason, staff_id, created_at FROM stage_history"
        " WHERE customer_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        (customer_id, limit),
    )
    return [HistoryRow(**dict(row)) for row in await cursor.fetchall()]


async def at_risk_ids(tx: aiosqlite.Connection, at: str) -> list[int]:
    """Customers whose stored moments make them at risk at `at` (not yet lapsed), by id."""
    cursor = await tx.execute(
        "SELECT id FROM customers WHERE at_risk_at <= ? AND (lapsed_at IS NULL OR lapsed_at > ?)"
        " AND forgotten_at IS NULL ORDER BY id",
        (at, at),
    )
    return [int(row[0]) for row in await cursor.fetchall()]


async def names(
    tx: aiosqlite.Connection, first_id: int, last_id: int
) -> dict[int, tuple[str, str | None]]:
    """Member code and name of the customers with ids in [first_id, last_id]."""
    cursor = await tx.execute(
        "SELECT id, member_code, name FROM customers WHERE id BETWEEN ? AND ?", (first_id, last_id)
    )
    return {int(row[0]): (str(row[1]), row[2]) for row in await cursor.fetchall()}


async def spend_between(
    tx: aiosqlite.Connection, first_id: int, last_id: int, since: str, until: str
) -> dict[int, int]:
    """What each customer in [first_id, last_id] spent (cents) after `since`, up to `until`."""
    cursor = await tx.execute(
        "SELECT customer_id, SUM(amount_cents) FROM purchases WHERE customer_id BETWEEN ? AND ?"
        " AND created_at > ? AND created_at <= ? GROUP BY customer_id",
        (first_id, last_id, since, until),
    )
    return {int(row[0]): int(row[1] or 0) for row in await cursor.fetchall()}
