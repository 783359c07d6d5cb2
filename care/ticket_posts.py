"""Ticket messages: posts to the staff chat, threaded notes under them, and messages to customers.

A ticket's post carries the customer's card and the Take and Resolve buttons. Every message that
stands for a ticket (its post, notes threaded under it, what the customer was sent) is
remembered, so a reply to any of them threads back to the ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiosqlite

from care.clock import Clock, iso
from care.ports import Label, Messenger, OutboundMessage, SendStatus
from care.settings import LocaleSettings, StaffSettings
from care.ticket_results import display_name
from storage import customers as customers_repo
from storage import tickets as repo
from storage.customers import CustomerRow
from storage.db import Database
from storage.tickets import TicketRow

log = logging.getLogger(__name__)
# The customer's loyalty tier by customer id (the loyalty service answers it).
TierLookup = Callable[[int], Awaitable[str]]
UNREACHABLE = (SendStatus.BLOCKED, SendStatus.NOT_FOUND)


async def customer_of(tx: aiosqlite.Connection, ticket: TicketRow) -> CustomerRow | None:
    """The ticket's customer, or None if it has none (or they were deleted)."""
    if ticket.customer_id is None:
        return None
    return await customers_repo.find_by_id(tx, ticket.customer_id)


class TicketPosts:
    """Posts tickets to the staff chat, threads notes under them and tells customers."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        staff: StaffSettings,
        locale: LocaleSettings,
        messenger: Messenger,
        tier_of: TierLookup | None = None,
    ) -> None:
        self._db, self._clock, self._staff = db, clock, staff
        self._locale, self._messenger, self._tier_of = locale, messenger, tier_of
        self._posting: set[int] = set()  # tickets being posted right now (job vs. handler)

    async def remember(self, ticket: TicketRow, chat_id: int, message_id: int) -> None:
        """Record a message that stands for the ticket (e.g. the customer's confirmation)."""
        async with self._db.transaction() as tx:
            await repo.add_post(tx, chat_id, message_id, ticket.id)

    async def post(self, ticket: TicketRow) -> bool:
        """Post the ticket with the customer's card to the staff chat; False if not possible."""
        chat_id = self._staff.chat_id
        if chat_id is None or ticket.id in self._posting:
            return False
        self._posting.add(ticket.id)
        try:
            async with self._db.read() as tx:
                current = await repo.get(tx, ticket.id)
                if current.staff_message_id is not None:
                    return True
                customer = await customer_of(tx, current)
                open_count = await repo.count_active(tx, customer.id) if customer else 0
                first = next(iter(await repo.messages(tx, ticket.id)), None)
            tier = ""
            if customer is not None and self._tier_of is not None:
                tier = await self._tier_of(customer.id)
            fields = {
                "number": current.number,
                "category": Label(f"tickets.category_{current.category}", current.category or ""),
                "tier": Label(f"loyalty.tier.{tier}", tier or "–"),
                "stars": "★" * (current.rating or 0) + "☆" * (5 - (current.rating or 0)),
                "name": display_name(customer),
                "stage": Label(f"stages.{customer.stage}", customer.stage) if customer else "?",
                "open": open_count,
                "body": (first.body if first and first.body else "—")
                + ("\n📷" if first and first.photo_file_id else ""),
            }
            result = await self._messenger.send(
                OutboundMessage(
                    chat_id,
                    f"tickets.staff_post_{current.kind}",
                    self._locale.default_language,
                    fields,
                    buttons=(
                        ("tickets.button_take", f"tickets:take:{current.number}"),
                        ("tickets.button_resolve", f"tickets:resolve:{current.number}"),
                    ),
                )
            )
            if result.status is not SendStatus.SENT or result.message_id is None:
                log.warning("ticket not posted number=%s status=%s", current.number, result.status)
                return False
            async with self._db.transaction() as tx:
                await repo.set_staff_message(tx, ticket.id, chat_id, result.message_id)
            return True
        finally:
            self._posting.discard(ticket.id)

    async def post_pending(self) -> int:
        """Post tickets the staff chat missed, oldest first; stop at the first failure."""
        if self._staff.chat_id is None:
            return 0
        async with self._db.read() as tx:
            pending = await repo.list_unposted(tx)
        posted = 0
        for ticket in pending:
            if not await self.post(ticket):
                break
            posted += 1
        return posted

    async def to_staff_chat(self, ticket: TicketRow, key: str, **fields: object) -> bool:
        """Say something about a ticket in the staff chat, threaded under its post."""
        chat_id = self._staff.chat_id
        if chat_id is None:
            return False
        result = await self._messenger.send(
            OutboundMessage(
                chat_id,
                key,
                self._locale.default_language,
                {"number": ticket.number, **fields},
                reply_to_message_id=ticket.staff_message_id,
            )
        )
        if result.status is not SendStatus.SENT or result.message_id is None:
            return False
        await self.remember(ticket, chat_id, result.message_id)
        return True

    async def tell_customer(
        self,
        ticket: TicketRow,
        customer: CustomerRow | None,
        key: str,
        fields: dict[str, object],
        *,
        buttons: tuple[tuple[str, str], ...] = (),
        waiting: bool = False,
    ) -> bool:
        """Send to the customer; on success thread it, on a 403/400 mark them unreachable."""
        if customer is None or customer.telegram_id is None:
            return False
        result = await self._messenger.send(
            OutboundMessage(
                customer.telegram_id,
                key,
                customer.language,
                {"number": ticket.number, **fields},
                buttons=buttons,
            )
        )
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            if result.status is SendStatus.SENT and result.message_id is not None:
                await repo.add_post(tx, customer.telegram_id, result.message_id, ticket.id)
                await repo.set_unreachable(tx, ticket.id, False)
                if waiting:
                    await repo.set_status(tx, ticket.id, "waiting_customer", now)
                return True
            if result.status in UNREACHABLE:
                await repo.set_unreachable(tx, ticket.id, True)
                await customers_repo.set_reachable(tx, customer.id, False)
            await repo.add_message(
                tx, ticket.id, author="system", body=f"not delivered: {result.status}", at=now
            )
        log.warning(
            "ticket message not delivered number=%s status=%s", ticket.number, result.status
        )
        return False
