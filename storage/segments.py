"""Tags, saved segments, and the facts about every customer a segment filter is evaluated on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import aiosqlite

from storage.points import _LIVE


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """A saved, named filter."""

    id: int
    name: str
    filter: str
    created_by: int
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What segment terms and campaign exclusions look at, for one customer."""

    id: int
    telegram_id: int | None
    name: str | None
    language: str
    timezone: str | None
    birthday: str | None
    stage: str
    opted_out: bool
    reachable: bool
    last_purchase_at: str | None
    at_risk_at: str | None
    lapsed_at: str | None
    tags: frozenset[str]
    open_tickets: int
    open_complaints: int
    earned_12m: int
    promotions_opted_out: bool
    last_promo_at: str | None  # the newest capped outreach or campaign message sent


async def save(tx: aiosqlite.Connection, name: str, text: str, actor_id: int, at: str) -> bool:
    """Insert or replace the segment `name`; True if it is new."""
    cursor = await tx.execute(
        "INSERT INTO segments (name, filter, created_by, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        (name, text, actor_id, at, at),
    )
    if cursor.rowcount == 1:
        return True
    await tx.execute(
        "UPDATE segments SET filter = ?, updated_at = ? WHERE name = ?", (text, at, name)
    )
    return False


async def find(tx: aiosqlite.Connection, name: str) -> SegmentRow | None:
    """The segment called `name`, or None."""
    cursor = await tx.execute(
        "SELECT id, name, filter, created_by, created_at, updated_at FROM segments WHERE name = ?",
        (name,),
    )
    row = await cursor.fetchone()
    return None if row is None else SegmentRow(*row)


async def list_all(tx: aiosqlite.Connection) -> list[SegmentRow]:
    """Every saved segment, by name."""
    cursor = await tx.execute(
        "SELECT id, name, filter, created_by, created_at, updated_at FROM segments ORDER BY name"
    )
    return [SegmentRow(*row) for row in await cursor.fetchall()]


async def add_tag(tx: aiosqlite.Connection, customer_id: int, tag: str, at: str) -> bool:
    """Tag a customer; False if they had the tag already."""
    cursor = await tx.execute(
        "INSERT INTO customer_tags (customer_id, tag, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (customer_id, tag, at),
    )
    return cursor.rowcount == 1


async def add_tags(tx: aiosqlite.Connection, tags: list[tuple[int, str]], at: str) -> None:
    """Tag many customers at once (an import); tags they have already stay."""
    await tx.executemany(
        "INSERT INTO customer_tags (customer_id, tag, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [(customer_id, tag, at) for customer_id, tag in tags],
    )


async def known_tags(tx: aiosqlite.Connection) -> set[str]:
    """Every tag some customer has."""
    cursor = await tx.execute("SELECT DISTINCT tag FROM customer_tags")
    return {str(row[0]) for row in await cursor.fetchall()}


async def all_facts(
    tx: aiosqlite.Connection, *, earned_since: str, capped_kinds: list[str]
) -> list[CustomerFacts]:
    """The facts of every customer not forgotten, in id order (a few whole-table reads)."""
    tags: dict[int, set[str]] = defaultdict(set)
    cursor = await tx.execute("SELECT customer_id, tag FROM customer_tags")
    for customer_id, tag in await cursor.fetchall():
        tags[customer_id].add(tag)
    tickets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    cursor = await tx.execute(
        "SELECT customer_id, kind = 'complaint', COUNT(*) FROM tickets"
        " WHERE status IN ('open', 'waiting_customer') AND customer_id IS NOT NULL"
        " GROUP BY customer_id, kind = 'complaint'"
    )
    for customer_id, complaint, count in await cursor.fetchall():
        tickets[customer_id][0] += count
        if complaint:
            tickets[customer_id][1] += count
    cursor = await tx.execute(
        "SELECT customer_id, SUM(delta) FROM points_ledger"  # noqa: S608
        f" WHERE kind IN ('earn', 'bonus') AND created_at >= ? AND {_LIVE} GROUP BY customer_id",
        (earned_since,),
    )
    earned = {int(cid): int(total) for cid, total in await cursor.fetchall()}
    cursor = await tx.execute("SELECT customer_id FROM outreach_optouts WHERE kind = 'promotions'")
    optouts = {int(row[0]) for row in await cursor.fetchall()}
    last_promo: dict[int, str] = {}
    placeholders = ", ".join("?" for _ in capped_kinds) or "NULL"
    cursor = await tx.execute(
        "SELECT customer_id, MAX(sent_at) FROM outreach WHERE status = 'sent'"  # noqa: S608
        f" AND kind IN ({placeholders}) GROUP BY customer_id"
        " UNION ALL SELECT customer_id, MAX(sent_at) FROM outbox"
        " WHERE kind = 'campaign' AND status = 'sent' GROUP BY customer_id",
        tuple(capped_kinds),
    )
    for customer_id, sent_at in await cursor.fetchall():
        if customer_id is not None and sent_at is not None:
            last_promo[customer_id] = max(sent_at, last_promo.get(customer_id, ""))
    cursor = await tx.execute(
        "SELECT id, telegram_id, name, language, timezone, birthday, stage, opted_out, reachable,"
        " last_purchase_at, at_risk_at, lapsed_at FROM customers WHERE forgotten_at IS NULL"
        " ORDER BY id"
    )
    facts = []
    for row in await cursor.fetchall():
        cid = int(row[0])
        open_tickets, open_complaints = tickets.get(cid, (0, 0))
        facts.append(
            CustomerFacts(
                id=cid,
                telegram_id=row[1],
                name=row[2],
                language=row[3],
                timezone=row[4],
                birthday=row[5],
                stage=row[6],
                opted_out=bool(row[7]),
                reachable=bool(row[8]),
                last_purchase_at=row[9],
                at_risk_at=row[10],
                lapsed_at=row[11],
                tags=frozenset(tags.get(cid, ())),
                open_tickets=open_tickets,
                open_complaints=open_complaints,
                earned_12m=earned.get(cid, 0),
                promotions_opted_out=cid in optouts,
                last_promo_at=last_promo.get(cid),
            )
        )
    return facts
