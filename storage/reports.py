"""The owner's report: read-only aggregates over a period [start, end) (ISO-8601 UTC text).

Every query reads a period's rows through an index of migration 0012 (or a covering index for
the whole-ledger balance), so a report over a million ledger rows stays well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Writes


@dataclass(frozen=True, slots=True)
class CustomerValue:
    """One customer's spend and visits in a window, with their stage now."""

    customer_id: int
    name: str | None
    member_code: str
    stage: str
    spend_cents: int
    visits: int
    last_purchase_at: str | None


@dataclass(frozen=True, slots=True)
class RfmCell:
    """Customers in one cell of the recency × frequency grid, and what they spent."""

    recency: int  # bucket index, 0 = most recent
    frequency: int  # bucket index, 0 = fewest purchases
    customers: int
    spend_cents: int


@dataclass(frozen=True, slots=True)
class TicketTimes:
    """One ticket's kind and moments, for response and resolution times."""

    kind: str
    created_at: str
    first_response_at: str | None
    resolved_at: str | None
    csat: int | None


async def _rows(tx: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    cursor = await tx.execute(sql, params)
    rows = await cursor.fetchall()
    await cursor.close()
    return list(rows)


async def _one(tx: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    rows = await _rows(tx, sql, params)
    return rows[0]


async def stages_at(tx: aiosqlite.Connection, moment: str) -> dict[str, int]:
    """Customers known before `moment` by the stage they had then: their stage now, or for
    those whose stage changed since, where their first later change started from."""
    rows = await _rows(
        tx,
        "SELECT CASE WHEN l.customer_id IS NULL THEN c.stage"
        " ELSE COALESCE(l.from_stage, 'aware') END, COUNT(*) FROM customers c"
        " LEFT JOIN (SELECT customer_id, from_stage FROM (SELECT customer_id, from_stage,"
        " ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY created_at, id) AS n"
        " FROM stage_history WHERE created_at >= ?) WHERE n = 1) l ON l.customer_id = c.id"
        " WHERE c.created_at < ? AND (c.forgotten_at IS NULL OR c.forgotten_at >= ?) GROUP BY 1",
        (moment, moment, moment),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def stage_moves(
    tx: aiosqlite.Connection, start: str, end: str
) -> list[tuple[str, str, int]]:
    """(from stage, to stage, count) of the stage changes in the period."""
    rows = await _rows(
        tx,
        "SELECT COALESCE(from_stage, 'aware'), to_stage, COUNT(*) FROM stage_history"
        " WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2",
        (start, end),
    )
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


async def new_customers(tx: aiosqlite.Connection, start: str, end: str) -> int:
    """Customers first known in the period."""
    row = await _one(
        tx, "SELECT COUNT(*) FROM customers WHERE created_at >= ? AND created_at < ?", (start, end)
    )
    return int(row[0])


async def lapsed_in(tx: aiosqlite.Connection, start: str, end: str) -> int:
    """Customers whose lapsed moment (stored by the stage engine) fell in the period."""
    row = await _one(
        tx, "SELECT COUNT(*) FROM customers WHERE lapsed_at >= ? AND lapsed_at < ?", (start, end)
    )
    return int(row[0])


async def came_back(tx: aiosqlite.Connection, start: str, end: str, gap_since: str) -> int:
    """Customers who bought in the period after no purchase in the `gap_since` window before
    their first purchase of the period (they had been away at least that long)."""
    row = await _one(
        tx,
        "SELECT COUNT(*) FROM (SELECT p.customer_id, MIN(p.created_at) AS first_at"
        " FROM purchases p WHERE p.created_at >= ? AND p.created_at < ? GROUP BY p.customer_id)"
        " f WHERE EXISTS (SELECT 1 FROM purchases q WHERE q.customer_id = f.customer_id"
        " AND q.created_at < ?) AND NOT EXISTS (SELECT 1 FROM purchases q"
        " WHERE q.customer_id = f.customer_id AND q.created_at < f.first_at"
        " AND q.created_at >= datetime(f.first_at, ?))",
        (start, end, start, gap_since),
    )
    return int(row[0])


async def recency_at(tx: aiosqlite.Connection, moment: str) -> dict[str, int]:
    """Customers with a purchase by recency status at `moment`, from the moments the stage
    engine stored (`care.stages.rules.Recency.status` applied in SQL)."""
    rows = await _rows(
        tx,
        "SELECT CASE WHEN lapsed_at IS NOT NULL AND lapsed_at <= ? THEN 'lapsed'"
        " WHEN at_risk_at IS NOT NULL AND at_risk_at <= ? THEN 'at_risk' ELSE 'active' END,"
        " COUNT(*) FROM customers WHERE last_purchase_at IS NOT NULL AND created_at < ?"
        " GROUP BY 1",
        (moment, moment, moment),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def at_risk_by_value(
    tx: aiosqlite.Connection, moment: str, since: str, limit: int
) -> tuple[int, list[CustomerValue]]:
    """What the customers at risk at `moment` spent since `since` in all, and the top ones."""
    where = (
        " FROM customers c WHERE c.at_risk_at IS NOT NULL AND c.at_risk_at <= ?"
        " AND (c.lapsed_at IS NULL OR c.lapsed_at > ?)"
    )
    spend = (
        "(SELECT COALESCE(SUM(p.amount_cents), 0) FROM purchases p WHERE p.customer_id = c.id"
        " AND p.created_at >= ? AND p.created_at < ?)"
    )
    visits = (
        "(SELECT COUNT(*) FROM purchases p WHERE p.customer_id = c.id"
        " AND p.created_at >= ? AND p.created_at < ?)"
    )
    total = await _one(
        tx, f"SELECT COALESCE(SUM({spend}), 0){where}", (since, moment, moment, moment)
    )
    rows = await _rows(
        tx,
        f"SELECT c.id, c.name, c.member_code, c.stage, {spend}, {visits}, c.last_purchase_at"
        f"{where} ORDER BY 5 DESC, c.id LIMIT ?",
        (since, moment, since, moment, moment, moment, limit),
    )
    return int(total[0]), [CustomerValue(*row) for row in rows]


async def value_by_stage(
    tx: aiosqlite.Connection, start: str, end: str
) -> dict[str, tuple[int, int, int]]:
    """Per current stage: (customers who bought, spend in cents, visits) in the period."""
    rows = await _rows(
        tx,
        "SELECT c.stage, COUNT(*), SUM(v.spend), SUM(v.visits) FROM (SELECT customer_id,"
        " SUM(amount_cents) AS spend, COUNT(*) AS visits FROM purchases"
        " WHERE created_at >= ? AND created_at < ? GROUP BY customer_id) v"
        " JOIN customers c ON c.id = v.customer_id GROUP BY c.stage",
        (start, end),
    )
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


async def top_customers(
    tx: aiosqlite.Connection, start: str, end: str, limit: int
) -> list[CustomerValue]:
    """The customers who spent most in the period."""
    rows = await _rows(
        tx,
        "SELECT c.id, c.name, c.member_code, c.stage, v.spend, v.visits, c.last_purchase_at"
        " FROM (SELECT customer_id, SUM(amount_cents) AS spend, COUNT(*) AS visits"
        " FROM purchases WHERE created_at >= ? AND created_at < ? GROUP BY customer_id) v"
        " JOIN customers c ON c.id = v.customer_id ORDER BY v.spend DESC, c.id LIMIT ?",
        (start, end, limit),
    )
    return [CustomerValue(*row) for row in rows]


async def rfm(
    tx: aiosqlite.Connection,
    since: str,
    end: str,
    recency_after: tuple[str, ...],
    frequency: tuple[int, ...],
) -> list[RfmCell]:
    """The grid over customers who bought in [since, end): recency bucket i when the last
    purchase is at or after `recency_after[i]` (newest bound first; the rest after them) ×
    purchase-count buckets (lower bounds `frequency`)."""
    recency_case = (
        " ".join(f"WHEN last_at >= ? THEN {i}" for i in range(len(recency_after)))
        + f" ELSE {len(recency_after)}"
    )
    frequency_case = " ".join(
        f"WHEN visits >= {int(n)} THEN {i}" for i, n in reversed(list(enumerate(frequency)))
    )
    # In customer order from the covering index: grouping streams, no sort, no table reads.
    rows = await _rows(
        tx,
        f"SELECT CASE {recency_case} END, CASE {frequency_case} ELSE 0 END,"  # noqa: S608
        " COUNT(*), SUM(spend) FROM (SELECT customer_id, COUNT(*) AS visits,"
        " SUM(amount_cents) AS spend, MAX(created_at) AS last_at"
        " FROM purchases INDEXED BY purchases_report_customer"
        " WHERE created_at >= ? AND created_at < ? GROUP BY customer_id) GROUP BY 1, 2",
        (*recency_after, since, end),
    )
    return [RfmCell(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


async def purchases_total(tx: aiosqlite.Connection, start: str, end: str) -> tuple[int, int, int]:
    """(purchases, spend in cents, distinct buyers) in the period."""
    row = await _one(
        tx,
        "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0), COUNT(DISTINCT customer_id)"
        " FROM purchases WHERE created_at >= ? AND created_at < ?",
        (start, end),
    )
    return int(row[0]), int(row[1]), int(row[2])


async def tickets_resolved_in(tx: aiosqlite.Connection, start: str, end: str) -> list[TicketTimes]:
    """Tickets resolved in the period, with their CSAT (if given) and moments."""
    rows = await _rows(
        tx,
        "SELECT kind, created_at, first_response_at, resolved_at, csat FROM tickets"
        " WHERE resolved_at >= ? AND resolved_at < ?",
        (start, end),
    )
    return [TicketTimes(*row) for row in rows]


async def tickets_opened_in(tx: aiosqlite.Connection, start: str, end: str) -> list[TicketTimes]:
    """Tickets opened in the period, with their moments."""
    rows = await _rows(
        tx,
        "SELECT kind, created_at, first_response_at, resolved_at, csat FROM tickets"
        " WHERE created_at >= ? AND created_at < ?",
        (start, end),
    )
    return [TicketTimes(*row) for row in rows]


async def active_tickets(tx: aiosqlite.Connection) -> list[TicketTimes]:
    """Tickets open or waiting for the customer now."""
    rows = await _rows(
        tx,
        "SELECT kind, created_at, first_response_at, resolved_at, csat FROM tickets"
        " WHERE status IN ('open', 'waiting_customer')",
        (),
    )
    return [TicketTimes(*row) for row in rows]


async def faq_outcomes(tx: aiosqlite.Connection, start_hour: str, end_hour: str) -> dict[str, int]:
    """FAQ questions per outcome (answer, suggest, fallback) in hours [start_hour, end_hour)."""
    rows = await _rows(
        tx,
        "SELECT outcome, SUM(count) FROM faq_outcomes WHERE hour >= ? AND hour < ? GROUP BY 1",
        (start_hour, end_hour),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def faq_votes(tx: aiosqlite.Connection, start: str, end: str) -> tuple[int, int]:
    """(👍, 👎) given in the period."""
    row = await _one(
        tx,
        "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) FROM faq_votes"
        " WHERE voted_at >= ? AND voted_at < ?",
        (start, end),
    )
    return int(row[0]), int(row[1])


async def top_unanswered(
    tx: aiosqlite.Connection, start: str, end: str, limit: int
) -> list[tuple[str, int]]:
    """(example, times asked) of the questions still unanswered that were asked in the period."""
    rows = await _rows(
        tx,
        "SELECT example, count FROM unanswered WHERE resolved_entry_id IS NULL"
        " AND last_seen_at >= ? AND last_seen_at < ? ORDER BY count DESC, last_seen_at DESC"
        " LIMIT ?",
        (start, end, limit),
    )
    return [(str(row[0]), int(row[1])) for row in rows]


async def points_moved(tx: aiosqlite.Connection, start: str, end: str) -> dict[str, int]:
    """The net points per ledger kind entered in the period (a void cancels its entry)."""
    rows = await _rows(
        tx,
        "SELECT kind, SUM(delta) FROM points_ledger WHERE created_at >= ? AND created_at < ?"
        " GROUP BY kind",
        (start, end),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def points_outstanding(tx: aiosqlite.Connection, moment: str) -> int:
    """Every balance at `moment` added up: the points the shop still owes."""
    row = await _one(
        tx,
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE created_at < ?",
        (moment,),
    )
    return int(row[0])


async def customers_by_earned(
    tx: aiosqlite.Connection, since: str, end: str, thresholds: tuple[int, ...]
) -> dict[int, int]:
    """Customers who earned points (earn, bonus; net of voids) in [since, end), counted by the
    highest of the ascending `thresholds` they reached (its index); none reached: -1."""
    case = " ".join(
        f"WHEN earned >= {int(n)} THEN {i}" for i, n in reversed(list(enumerate(thresholds)))
    )
    rows = await _rows(
        tx,
        f"SELECT CASE {case} ELSE -1 END, COUNT(*) FROM (SELECT SUM(delta) AS earned"  # noqa: S608
        " FROM points_ledger INDEXED BY points_ledger_report_customer"
        " WHERE created_at >= ? AND created_at < ?"
        " AND kind IN ('earn', 'bonus') GROUP BY customer_id HAVING SUM(delta) > 0) GROUP BY 1",
        (since, end),
    )
    return {int(row[0]): int(row[1]) for row in rows}


async def customers_before(tx: aiosqlite.Connection, moment: str) -> int:
    """Customers first known before `moment` (and not forgotten by then)."""
    row = await _one(
        tx,
        "SELECT COUNT(*) FROM customers WHERE created_at < ?"
        " AND (forgotten_at IS NULL OR forgotten_at >= ?)",
        (moment, moment),
    )
    return int(row[0])


async def add_faq_outcome(tx: Writes, hour: str, outcome: str) -> None:
    """Count one FAQ question's outcome in its hour."""
    await tx.execute(
        "INSERT INTO faq_outcomes (hour, outcome, count) VALUES (?, ?, 1)"
        " ON CONFLICT (hour, outcome) DO UPDATE SET count = count + 1",
        (hour, outcome),
    )
