"""Campaigns: one message to a segment; its messages are outbox rows (kind 'campaign')."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

KIND = "campaign"
_COLUMNS = (
    "id, name, filter, texts, photo, button, local_at, status, recipients, excluded, created_by,"
    " created_at, confirmed_at, finished_at"
)


@dataclass(frozen=True, slots=True)
class CampaignRow:
    """One campaign as stored (texts and excluded as JSON)."""

    id: int
    name: str
    filter: str
    texts: str
    photo: str | None
    button: str | None
    local_at: str | None
    status: str
    recipients: int
    excluded: str
    created_by: int
    created_at: str
    confirmed_at: str | None
    finished_at: str | None


async def add(
    tx: aiosqlite.Connection,
    *,
    name: str,
    filter_text: str,
    texts: str,
    photo: str | None,
    button: str | None,
    local_at: str | None,
    created_by: int,
    at: str,
) -> int:
    """Insert a draft campaign; its id."""
    cursor = await tx.execute(
        "INSERT INTO campaigns (name, filter, texts, photo, button, local_at, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (name, filter_text, texts, photo, button, local_at, created_by, at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def find(tx: aiosqlite.Connection, campaign_id: int) -> CampaignRow | None:
    """The campaign with this id, or None."""
    cursor = await tx.execute(
        f"SELECT {_COLUMNS} FROM campaigns WHERE id = ?",  # noqa: S608
        (campaign_id,),
    )
    row = await cursor.fetchone()
    return None if row is None else CampaignRow(*row)


async def mark_queued(
    tx: aiosqlite.Connection, campaign_id: int, recipients: int, excluded: str, at: str
) -> bool:
    """A draft becomes queued (its messages were written); False if it was not a draft."""
    cursor = await tx.execute(
        "UPDATE campaigns SET status = 'queued', recipients = ?, excluded = ?, confirmed_at = ?"
        " WHERE id = ? AND status = 'draft'",
        (recipients, excluded, at, campaign_id),
    )
    return cursor.rowcount == 1


async def finish(tx: aiosqlite.Connection, campaign_id: int, status: str, at: str) -> bool:
    """A draft or queued campaign ends ('done' or 'cancelled'); False if it had ended."""
    cursor = await tx.execute(
        "UPDATE campaigns SET status = ?, finished_at = ?"
        " WHERE id = ? AND status IN ('draft', 'queued')",
        (status, at, campaign_id),
    )
    return cursor.rowcount == 1


async def skip_pending(tx: aiosqlite.Connection, campaign_id: int, reason: str) -> int:
    """Skip the campaign's messages not sent yet; how many."""
    cursor = await tx.execute(
        "UPDATE outbox SET status = 'skipped', error = ?"
        " WHERE kind = ? AND ref = ? AND status = 'pending'",
        (reason, KIND, str(campaign_id)),
    )
    return cursor.rowcount


async def unfinished(tx: aiosqlite.Connection, campaign_id: int) -> bool:
    """Whether any of the campaign's messages is still pending or being sent."""
    cursor = await tx.execute(
        # Spelled as the partial index outbox_campaign_open is, so SQLite uses it.
        "SELECT EXISTS (SELECT 1 FROM outbox INDEXED BY outbox_campaign_open"
        " WHERE kind = 'campaign' AND status IN ('pending', 'sending') AND ref = ?)",
        (str(campaign_id),),
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def outcomes(tx: aiosqlite.Connection, campaign_id: int) -> list[tuple[str, str, int]]:
    """(status, error, count) of the campaign's messages."""
    cursor = await tx.execute(
        "SELECT status, COALESCE(error, ''), COUNT(*) FROM outbox WHERE kind = ? AND ref = ?"
        " GROUP BY status, COALESCE(error, '')",
        (KIND, str(campaign_id)),
    )
    return [(str(s), str(e), int(n)) for s, e, n in await cursor.fetchall()]


async def add_promotions_optout(tx: aiosqlite.Connection, customer_id: int, at: str) -> bool:
    """The customer wants no more promotions (campaigns); False if they had said so."""
    cursor = await tx.execute(
        "INSERT INTO outreach_optouts (customer_id, kind, created_at) VALUES (?, 'promotions', ?)"
        " ON CONFLICT DO NOTHING",
        (customer_id, at),
    )
    return cursor.rowcount == 1


async def promotions_blocked(tx: aiosqlite.Connection, customer_id: int) -> str | None:
    """Why the customer must get no campaign now (per-kind opt-out, open complaint), or None."""
    cursor = await tx.execute(
        "SELECT EXISTS (SELECT 1 FROM outreach_optouts WHERE customer_id = ?"
        " AND kind = 'promotions'), EXISTS (SELECT 1 FROM tickets WHERE customer_id = ?"
        " AND kind = 'complaint' AND status IN ('open', 'waiting_customer'))",
        (customer_id, customer_id),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    if row[0]:
        return "opted_out_promotions"
    return "open_complaint" if row[1] else None


async def received(tx: aiosqlite.Connection, campaign_id: int, customer_id: int) -> bool:
    """Whether the campaign queued a message for this customer."""
    cursor = await tx.execute(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE dedupe_key = ?)",
        (f"{KIND}:{campaign_id}:{customer_id}",),
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def replies(tx: aiosqlite.Connection, campaign_id: int) -> int:
    """Recipients who wrote to the bot (a message, not a button) after their message was sent."""
    cursor = await tx.execute(
        "SELECT COUNT(DISTINCT o.customer_id) FROM outbox o JOIN inbox i"
        " ON i.chat_key = 'c' || o.chat_id AND i.received_at > o.sent_at"
        " AND json_extract(i.raw, '$.message') IS NOT NULL"
        " WHERE o.kind = ? AND o.ref = ? AND o.status = 'sent'",
        (KIND, str(campaign_id)),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
