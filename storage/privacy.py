"""SQL for a customer's data rights: everything stored about one customer, read out or erased."""

from __future__ import annotations

from typing import Any

import aiosqlite

Row = dict[str, Any]

# What each query reads, by table; the customer's id is :customer, their Telegram id :telegram.
_EXPORT = {
    "customers": "SELECT * FROM customers WHERE id = :customer",
    "stage_history": "SELECT * FROM stage_history WHERE customer_id = :customer ORDER BY id",
    "points_ledger": "SELECT * FROM points_ledger WHERE customer_id = :customer ORDER BY id",
    "purchases": "SELECT * FROM purchases WHERE customer_id = :customer ORDER BY id",
    "tickets": "SELECT * FROM tickets WHERE customer_id = :customer ORDER BY id",
    "ticket_messages": "SELECT m.* FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id"
    " WHERE t.customer_id = :customer ORDER BY m.id",
    "outreach": "SELECT * FROM outreach WHERE customer_id = :customer ORDER BY id",
    "outreach_optouts": "SELECT * FROM outreach_optouts WHERE customer_id = :customer",
    "earn_confirmations": "SELECT * FROM earn_confirmations WHERE customer_id = :customer"
    " ORDER BY id",
    "faq_votes": "SELECT * FROM faq_votes WHERE chat_id = :telegram",
    "faq_presses": "SELECT * FROM faq_presses WHERE chat_id = :telegram",
    "ticket_posts": "SELECT * FROM ticket_posts WHERE chat_id = :telegram",
    "customer_tags": "SELECT * FROM customer_tags WHERE customer_id = :customer ORDER BY tag",
    "unanswered_askers": "SELECT a.unanswered_id, a.asked, u.example FROM unanswered_askers a"
    " JOIN unanswered u ON u.id = a.unanswered_id WHERE a.telegram_id = :telegram",
    "faq_proposal_seen": "SELECT * FROM faq_proposal_seen WHERE chat_id = :telegram",
    "outbox": "SELECT * FROM outbox WHERE customer_id = :customer OR chat_id = :telegram"
    " OR (kind LIKE 'ticket.%' AND ref IN"
    " (SELECT CAST(id AS TEXT) FROM tickets WHERE customer_id = :customer)) ORDER BY id",
}
# The customer's own updates: in their private chat, or sent or pressed by them elsewhere.
_OWN_UPDATES = (
    "SELECT bot_id, update_id, raw FROM inbox"
    " WHERE chat_key IN ('c' || :telegram, 'u' || :telegram)"
    " OR (json_valid(raw) AND :telegram IN (json_extract(raw, '$.message.from.id'),"
    " json_extract(raw, '$.edited_message.from.id'),"
    " json_extract(raw, '$.callback_query.from.id')))"
)


async def export_rows(
    tx: aiosqlite.Connection, customer_id: int, telegram_id: int | None
) -> dict[str, list[Row]]:
    """Every row that belongs to the customer, by table (their updates under `inbox`)."""
    params = {"customer": customer_id, "telegram": telegram_id}
    found: dict[str, list[Row]] = {}
    for table, sql in _EXPORT.items():
        cursor = await tx.execute(sql, params)
        found[table] = [dict(row) for row in await cursor.fetchall()]
    found["inbox"] = await own_updates(tx, telegram_id)
    return found


async def own_updates(tx: aiosqlite.Connection, telegram_id: int | None) -> list[Row]:
    """The stored updates the customer sent (bot id, update id, raw JSON)."""
    if telegram_id is None:
        return []
    cursor = await tx.execute(_OWN_UPDATES, {"telegram": telegram_id})
    return [dict(row) for row in await cursor.fetchall()]


async def texts_of(tx: aiosqlite.Connection, table: str, column: str) -> list[Row]:
    """`id` and one text column of every row of a table that may mention anyone (audit log,
    inbox, outbox, unanswered): the caller looks for the customer in them."""
    sql = _SCANS[(table, column)]
    cursor = await tx.execute(sql)
    return [dict(row) for row in await cursor.fetchall()]


_SCANS = {
    ("audit_log", "arguments"): "SELECT id, actor_id, arguments, result FROM audit_log",
    ("inbox", "raw"): "SELECT bot_id, update_id, chat_key, status, raw FROM inbox",
    ("outbox", "message"): "SELECT id, message FROM outbox",
    ("unanswered", "example"): "SELECT id, normalised, example, count FROM unanswered",
    ("faq_proposals", "example"): "SELECT id, normalised, example FROM faq_proposals",
}


async def set_audit(
    tx: aiosqlite.Connection, row_id: int, actor_id: int, arguments: str, result: str
) -> None:
    """Rewrite one audit row's actor and texts (the action and time stay)."""
    await tx.execute(
        "UPDATE audit_log SET actor_id = ?, arguments = ?, result = ? WHERE id = ?",
        (actor_id, arguments, result, row_id),
    )


async def set_inbox_raw(
    tx: aiosqlite.Connection, bot_id: int, update_id: int, raw: str, chat_key: str
) -> None:
    """Replace one stored update's JSON and chat key."""
    await tx.execute(
        "UPDATE inbox SET raw = ?, chat_key = ?, error = NULL WHERE bot_id = ? AND update_id = ?",
        (raw, chat_key, bot_id, update_id),
    )


async def set_outbox_message(
    tx: aiosqlite.Connection, row_id: int, message: str, *, unlink: bool
) -> None:
    """Replace one outbox row's message; `unlink` also drops the recipient and stops a send."""
    if unlink:
        await tx.execute(
            "UPDATE outbox SET message = ?, chat_id = 0, customer_id = NULL,"
            " status = CASE WHEN status IN ('pending', 'sending') THEN 'skipped' ELSE status END,"
            " error = CASE WHEN status IN ('pending', 'sending') THEN 'erased' ELSE error END"
            " WHERE id = ?",
            (message, row_id),
        )
    else:
        await tx.execute("UPDATE outbox SET message = ? WHERE id = ?", (message, row_id))


async def forget_unanswered(
    tx: aiosqlite.Connection, row_id: int, *, count: int, asked: int, example: str
) -> None:
    """`asked` askings fewer for an unanswered question: the row goes with its last asker."""
    if count <= asked:
        await tx.execute("DELETE FROM unanswered WHERE id = ?", (row_id,))
    else:
        await tx.execute(
            "UPDATE unanswered SET count = count - ?, example = ? WHERE id = ?",
            (asked, example, row_id),
        )


async def delete_proposal(tx: aiosqlite.Connection, row_id: int) -> None:
    """Forget a phrasing proposed to staff from the customer's own words."""
    await tx.execute("DELETE FROM faq_proposals WHERE id = ?", (row_id,))


async def set_reason(
    tx: aiosqlite.Connection, table: str, row_id: int, reason: str | None
) -> None:
    """Rewrite the free-text reason of one stage change, ledger entry or earn confirmation."""
    await tx.execute(_REASONS[table], (reason, row_id))


_REASONS = {
    "stage_history": "UPDATE stage_history SET reason = ? WHERE id = ?",
    "points_ledger": "UPDATE points_ledger SET reason = ? WHERE id = ?",
    "earn_confirmations": "UPDATE earn_confirmations SET reason = ? WHERE id = ?",
}


async def erase_rows(
    tx: aiosqlite.Connection, customer_id: int, telegram_id: int | None
) -> dict[str, int]:
    """Delete or blank what is only about the customer; rows changed per table."""
    params = {"customer": customer_id, "telegram": telegram_id}
    statements = {
        "ticket_messages": "UPDATE ticket_messages SET body = NULL, photo_file_id = NULL"
        " WHERE ticket_id IN (SELECT id FROM tickets WHERE customer_id = :customer)"
        " AND (body IS NOT NULL OR photo_file_id IS NOT NULL)",
        "outreach": "DELETE FROM outreach WHERE customer_id = :customer",
        "outreach_optouts": "DELETE FROM outreach_optouts WHERE customer_id = :customer",
        "earn_confirmations": "UPDATE earn_confirmations SET status = 'cancelled'"
        " WHERE customer_id = :customer AND status = 'pending'",
        "faq_votes": "DELETE FROM faq_votes WHERE chat_id = :telegram",
        "faq_presses": "DELETE FROM faq_presses WHERE chat_id = :telegram",
        "ticket_posts": "DELETE FROM ticket_posts WHERE chat_id = :telegram",
        "customer_tags": "DELETE FROM customer_tags WHERE customer_id = :customer",
        "unanswered_askers": "DELETE FROM unanswered_askers WHERE telegram_id = :telegram",
        "faq_proposal_seen": "DELETE FROM faq_proposal_seen WHERE chat_id = :telegram",
    }
    changed: dict[str, int] = {}
    for table, sql in statements.items():
        cursor = await tx.execute(sql, params)
        changed[table] = changed.get(table, 0) + max(cursor.rowcount, 0)
    return changed


async def new_member_code(tx: aiosqlite.Connection, customer_id: int, code: str) -> bool:
    """Give the customer a new member code (the old one is on a card they may keep); False if
    the code is taken."""
    try:
        await tx.execute("UPDATE customers SET member_code = ? WHERE id = ?", (code, customer_id))
    except aiosqlite.IntegrityError:
        return False
    return True


async def tables(tx: aiosqlite.Connection) -> dict[str, list[str]]:
    """Every table of the schema with its columns."""
    cursor = await tx.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    names = [str(row[0]) for row in await cursor.fetchall()]
    found: dict[str, list[str]] = {}
    for name in names:
        cursor = await tx.execute("SELECT name FROM pragma_table_info(?)", (name,))
        found[name] = [str(row[0]) for row in await cursor.fetchall()]
    return found
