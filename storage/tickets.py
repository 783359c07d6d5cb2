"""Tickets: feedback, complaints and questions, their messages, chat posts and SLA alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Reads
from storage.errors import NotFound

FIRST_NUMBER = 1000  # the first ticket is #1001
ACTIVE = ("open", "waiting_customer")

_COLUMNS = (
    "id, number, customer_id, kind, category, status, rating, csat, assignee_id,"
    " staff_message_id, customer_unreachable, created_at, first_response_at, resolved_at,"
    " updated_at"
)

LIST_LIMIT = 30  # the most tickets one list shows


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One ticket as stored."""

    id: int
    number: int
    customer_id: int | None
    kind: str
    category: str | None
    status: str
    rating: int | None
    csat: int | None
    assignee_id: int | None
    staff_message_id: int | None
    customer_unreachable: bool
    created_at: str
    first_response_at: str | None
    resolved_at: str | None
    updated_at: str

    @property
    def active(self) -> bool:
        """Whether the ticket still needs work (open or waiting for the customer)."""
        return self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class TicketMessageRow:
    """One message in a ticket's transcript."""

    id: int
    ticket_id: int
    author: str
    staff_id: int | None
    body: str | None
    photo_file_id: str | None
    created_at: str


def _row(row: Any) -> TicketRow:
    values = dict(row)
    values["customer_unreachable"] = bool(values["customer_unreachable"])
    return TicketRow(**values)


async def _many(
    tx: aiosqlite.Connection, where: str, params: tuple[Any, ...], tail: str = ""
) -> list[TicketRow]:
    rows = await tx.execute_fetchall(
        f"SELECT {_COLUMNS} FROM tickets WHERE {where} {tail}",  # noqa: S608
        params,
    )
    return [_row(row) for row in rows]


async def _scalar(tx: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    cursor = await tx.execute(sql, params)
    row = await cursor.fetchone()
    return None if row is None else row[0]


async def next_number(tx: aiosqlite.Connection) -> int:
    """The next ticket number; call inside the transaction that inserts the ticket."""
    value = await _scalar(tx, "SELECT COALESCE(MAX(number), ?) + 1 FROM tickets", (FIRST_NUMBER,))
    return int(value)


async def add(
    tx: aiosqlite.Connection,
    *,
    customer_id: int | None,
    kind: str,
    category: str | None,
    rating: int | None,
    at: str,
) -> TicketRow:
    """Insert a new open ticket with the next number."""
    number = await next_number(tx)
    cursor = await tx.execute(
        "INSERT INTO tickets (number, customer_id, kind, category, rating, status, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
        (number, customer_id, kind, category, rating, at, at),
    )
    assert cursor.lastrowid is not None
    return await get(tx, cursor.lastrowid)


async def add_message(
    tx: aiosqlite.Connection,
    ticket_id: int,
    *,
    author: str,
    body: str | None,
    at: str,
    photo_file_id: str | None = None,
    staff_id: int | None = None,
) -> None:
    """Append one message to a ticket's transcript and touch the ticket."""
    await tx.execute(
        "INSERT INTO ticket_messages (ticket_id, author, staff_id, body, photo_file_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (ticket_id, author, staff_id, body, photo_file_id, at),
    )
    await tx.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (at, ticket_id))


async def get(tx: aiosqlite.Connection, ticket_id: int) -> TicketRow:
    """The ticket with this id; NotFound if none."""
    found = await _many(tx, "id = ?", (ticket_id,))
    if not found:
        raise NotFound(f"ticket id {ticket_id}")
    return found[0]


async def find_by_number(tx: aiosqlite.Connection, number: int) -> TicketRow | None:
    """The ticket with this number, or None."""
    found = await _many(tx, "number = ?", (number,))
    return found[0] if found else None


async def messages(tx: aiosqlite.Connection, ticket_id: int) -> list[TicketMessageRow]:
    """The ticket's transcript, oldest first."""
    cursor = await tx.execute(
        "SELECT id, ticket_id, author, staff_id, body, photo_file_id, created_at"
        " FROM ticket_messages WHERE ticket_id = ? ORDER BY created_at, id",
        (ticket_id,),
    )
    return [TicketMessageRow(**dict(row)) for row in await cursor.fetchall()]


async def add_post(
    tx: aiosqlite.Connection, chat_id: int, message_id: int, ticket_id: int
) -> None:
    """Remember that a chat message stands for the ticket (replies to it join the ticket)."""
    await tx.execute(
        "INSERT OR IGNORE INTO ticket_posts (chat_id, message_id, ticket_id) VALUES (?, ?, ?)",
        (chat_id, message_id, ticket_id),
    )


async def find_by_post(
    tx: aiosqlite.Connection, chat_id: int, message_id: int
) -> TicketRow | None:
    """The ticket a chat message stands for, or None."""
    found = await _many(
        tx,
        "id = (SELECT ticket_id FROM ticket_posts WHERE chat_id = ? AND message_id = ?)",
        (chat_id, message_id),
    )
    return found[0] if found else None


async def set_staff_message(
    tx: aiosqlite.Connection, ticket_id: int, chat_id: int, message_id: int
) -> None:
    """Record the ticket's post in the staff chat."""
    await tx.execute(
        "UPDATE tickets SET staff_message_id = ? WHERE id = ?", (message_id, ticket_id)
    )
    await add_post(tx, chat_id, message_id, ticket_id)


async def list_unposted(tx: aiosqlite.Connection, limit: int = 50) -> list[TicketRow]:
    """Tickets not yet in the staff chat, oldest first."""
    return await _many(tx, "staff_message_id IS NULL", (limit,), "ORDER BY id LIMIT ?")


async def set_status(
    tx: aiosqlite.Connection, ticket_id: int, status: str, at: str, *, resolved: bool = False
) -> None:
    """Change the status; `resolved` also sets resolved_at (reopening clears it)."""
    await tx.execute(
        "UPDATE tickets SET status = ?, updated_at = ?,"
        " resolved_at = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?",
        (status, at, int(resolved), at, ticket_id),
    )


async def mark_first_response(
    tx: aiosqlite.Connection, ticket_id: int, at: str, staff_id: int
) -> None:
    """Record the first staff answer (kept if already set) and assign the ticket if unassigned."""
    await tx.execute(
        "UPDATE tickets SET first_response_at = COALESCE(first_response_at, ?),"
        " assignee_id = COALESCE(assignee_id, ?) WHERE id = ?",
        (at, staff_id, ticket_id),
    )


async def set_assignee(tx: aiosqlite.Connection, ticket_id: int, staff_id: int, at: str) -> None:
    """Assign the ticket to a staff member."""
    await tx.execute(
        "UPDATE tickets SET assignee_id = ?, updated_at = ? WHERE id = ?",
        (staff_id, at, ticket_id),
    )


async def set_csat(tx: aiosqlite.Connection, ticket_id: int, score: int, at: str) -> bool:
    """Store the satisfaction score once; False if the ticket was already rated."""
    cursor = await tx.execute(
        "UPDATE tickets SET csat = ?, updated_at = ? WHERE id = ? AND csat IS NULL",
        (score, at, ticket_id),
    )
    return cursor.rowcount > 0


async def set_unreachable(tx: aiosqlite.Connection, ticket_id: int, unreachable: bool) -> None:
    """Mark whether the customer could be reached about this ticket."""
    await tx.execute(
        "UPDATE tickets SET customer_unreachable = ? WHERE id = ?", (int(unreachable), ticket_id)
    )


async def list_for_customer(
    tx: aiosqlite.Connection, customer_id: int, limit: int = 20
) -> list[TicketRow]:
    """The customer's tickets, newest first."""
    return await _many(tx, "customer_id = ?", (customer_id, limit), "ORDER BY number DESC LIMIT ?")


async def list_by_status(
    tx: aiosqlite.Connection,
    statuses: Sequence[str] | None,
    *,
    assignee_id: int | None = None,
    limit: int = LIST_LIMIT,
) -> list[TicketRow]:
    """Tickets with one of these statuses (None: any), optionally of one assignee, newest first."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if statuses is not None:
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    if assignee_id is not None:
        where.append("assignee_id = ?")
        params.append(assignee_id)
    params.append(limit)
    return await _many(tx, " AND ".join(where), tuple(params), "ORDER BY number DESC LIMIT ?")


async def list_active(tx: aiosqlite.Connection) -> list[TicketRow]:
    """Every open or waiting ticket, oldest first (the SLA check walks them)."""
    return await _many(tx, "status IN (?, ?)", ACTIVE, "ORDER BY id")


async def any_waiting_for(tx: Reads, telegram_id: int) -> bool:
    """Whether a ticket of the customer with this Telegram id waits for their answer."""
    rows = await tx.execute_fetchall(
        "SELECT 1 FROM tickets t JOIN customers c ON c.id = t.customer_id"
        " WHERE c.telegram_id = ? AND t.status = 'waiting_customer' LIMIT 1",
        (telegram_id,),
    )
    return bool(list(rows))


async def find_waiting_for_customer(
    tx: aiosqlite.Connection, customer_id: int
) -> TicketRow | None:
    """The customer's most recently updated ticket that waits for their answer, or None."""
    found = await _many(
        tx,
        "customer_id = ? AND status = 'waiting_customer'",
        (customer_id,),
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
    )
    return found[0] if found else None


async def count_active(tx: aiosqlite.Connection, customer_id: int) -> int:
    """How many of the customer's tickets are open or waiting."""
    return int(
        await _scalar(
            tx,
            "SELECT COUNT(*) FROM tickets WHERE customer_id = ? AND status IN (?, ?)",
            (customer_id, *ACTIVE),
        )
    )


async def alert_sent(tx: aiosqlite.Connection, ticket_id: int, threshold: str) -> bool:
    """Whether the SLA alert for this threshold was already sent."""
    found = await _scalar(
        tx,
        "SELECT 1 FROM ticket_alerts WHERE ticket_id = ? AND threshold = ?",
        (ticket_id, threshold),
    )
    return found is not None


async def add_alert(tx: aiosqlite.Connection, ticket_id: int, threshold: str, at: str) -> bool:
    """Record an SLA alert; False if it was already recorded."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO ticket_alerts (ticket_id, threshold, sent_at) VALUES (?, ?, ?)",
        (ticket_id, threshold, at),
    )
    return cursor.rowcount > 0
