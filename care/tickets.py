"""Tickets: feedback, complaints and questions; staff answers; satisfaction; SLA alerts.

A ticket and its first message are stored in one transaction before anyone is told its number.
Posting to the staff chat happens after the commit and may fail: the ticket then keeps
`staff_message_id` NULL and `check_sla` (run by a job) posts it when the chat can be reached.
"""

from __future__ import annotations

import logging
from datetime import datetime

import aiosqlite

from care.clock import Clock, iso
from care.complaints import looks_like_complaint
from care.errors import (
    InvalidArgument,
    NotRegistered,
    TicketAlreadyResolved,
    TicketNotResolved,
    UnknownCustomer,
    UnknownTicket,
)
from care.ports import (
    CustomerChanged,
    Messenger,
    ignore_change,
)
from care.settings import LocaleSettings, StaffSettings, TicketSettings
from care.ticket_posts import UNREACHABLE, TicketPosts, TierLookup, customer_of
from care.ticket_results import (
    Delivery,
    Rating,
    SlaReport,
    TicketCreated,
    TicketView,
    display_name,
)
from care.ticket_sla import FIRST_RESPONSE, TicketSla
from storage import customers as customers_repo
from storage import tickets as repo
from storage.db import Database
from storage.tickets import TicketRow

log = logging.getLogger(__name__)
__all__ = [
    "UNREACHABLE",
    "Delivery",
    "Rating",
    "SlaReport",
    "TicketCreated",
    "TicketService",
    "TicketView",
    "TierLookup",
    "display_name",
    "looks_like_complaint",
]

CATEGORIES = ("product", "service", "delivery", "billing", "other")
SCOPES = ("open", "mine", "all")
LOW_CSAT = 2


class TicketService:
    """Opens, threads, answers and resolves tickets; watches the SLA targets."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: TicketSettings,
        staff: StaffSettings,
        locale: LocaleSettings,
        messenger: Messenger,
        on_change: CustomerChanged = ignore_change,
        tier_of: TierLookup | None = None,
    ) -> None:
        self._db, self._clock, self._settings = db, clock, settings
        self._staff, self._locale, self._messenger = staff, locale, messenger
        self._on_change, self._tier_of = on_change, tier_of
        self._sla = TicketSla(self, db, clock, settings, staff, locale, messenger)
        self._posts = TicketPosts(db, clock, staff, locale, messenger, tier_of)

    # ------------------------------------------------------------------ customers open tickets

    async def open_feedback(
        self, customer_id: int, rating: int, comment: str | None = None
    ) -> TicketCreated:
        """A feedback ticket with a 1–5 rating and an optional comment."""
        if not 1 <= rating <= 5:
            raise InvalidArgument(f"rating {rating}", usage="usage.rating")
        return await self._open(customer_id, "feedback", body=comment, rating=rating)

    async def open_complaint(
        self, customer_id: int, category: str, description: str, photo_file_id: str | None = None
    ) -> TicketCreated:
        """A complaint in a category, with a description and optionally a photo (file id)."""
        if category not in CATEGORIES:
            raise InvalidArgument(f"category {category}", usage="usage.category")
        return await self._open(
            customer_id, "complaint", body=description, category=category, photo=photo_file_id
        )

    async def open_question(self, customer_id: int, text: str) -> TicketCreated:
        """A question for staff (the FAQ's 'ask staff' path)."""
        return await self._open(customer_id, "question", body=text)

    async def _open(
        self,
        customer_id: int,
        kind: str,
        *,
        body: str | None,
        category: str | None = None,
        rating: int | None = None,
        photo: str | None = None,
    ) -> TicketCreated:
        body = (body or "").strip() or None
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            if await customers_repo.find_by_id(tx, customer_id) is None:
                raise UnknownCustomer(str(customer_id))
            ticket = await repo.add(
                tx, customer_id=customer_id, kind=kind, category=category, rating=rating, at=now
            )
            if body is not None or photo is not None:
                await repo.add_message(
                    tx, ticket.id, author="customer", body=body, photo_file_id=photo, at=now
                )
        log.info("ticket opened number=%s kind=%s", ticket.number, kind)
        await self._on_change(customer_id)
        posted = await self._posts.post(ticket)
        expect = self._settings.target_hours(FIRST_RESPONSE, kind)
        return TicketCreated(await self._reload(ticket), posted, expect)

    async def remember_post(self, ticket: TicketRow, chat_id: int, message_id: int) -> None:
        """Record a message that stands for the ticket (e.g. the customer's confirmation)."""
        await self._posts.remember(ticket, chat_id, message_id)

    # ------------------------------------------------------------------ the staff chat

    async def post_pending(self) -> int:
        """Post tickets the staff chat missed, oldest first; stop at the first failure."""
        return await self._posts.post_pending()

    async def to_staff_chat(self, ticket: TicketRow, key: str, **fields: object) -> bool:
        """Say something about a ticket in the staff chat, threaded under its post."""
        return await self._posts.to_staff_chat(ticket, key, **fields)

    # ------------------------------------------------------------------ threads

    async def thread_for_customer(
        self, telegram_id: int, reply_to_message_id: int | None
    ) -> TicketRow | None:
        """The active ticket a customer's message belongs to: the one replied to, else the one
        waiting for their answer; None if neither."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                return None
            if reply_to_message_id is not None:
                ticket = await repo.find_by_post(tx, telegram_id, reply_to_message_id)
                if ticket is not None and ticket.customer_id == customer.id and ticket.active:
                    return ticket
            return await repo.find_waiting_for_customer(tx, customer.id)

    async def ticket_for_staff_message(self, chat_id: int, message_id: int) -> TicketRow | None:
        """The ticket a message in the staff chat stands for, or None."""
        async with self._db.read() as tx:
            return await repo.find_by_post(tx, chat_id, message_id)

    async def add_customer_message(
        self, ticket: TicketRow, text: str | None, photo_file_id: str | None = None
    ) -> bool:
        """Add the customer's answer to the ticket and post it to staff; True if posted."""
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            await repo.add_message(
                tx, ticket.id, author="customer", body=text, photo_file_id=photo_file_id, at=now
            )
            if ticket.status == "waiting_customer":
                await repo.set_status(tx, ticket.id, "open", now)
            await repo.set_unreachable(tx, ticket.id, False)
            customer = await customer_of(tx, ticket)
        if ticket.staff_message_id is None:
            return await self._posts.post(ticket)
        body = (text or "") + ("\n📷" if photo_file_id else "")
        return await self.to_staff_chat(
            ticket, "tickets.staff_customer_said", name=display_name(customer), body=body
        )

    # ------------------------------------------------------------------ staff actions

    async def reply(self, staff_id: int, number: int, text: str) -> Delivery:
        """Store a staff answer and send it to the customer; mark the ticket if they blocked us."""
        text = text.strip()
        if not text:
            raise InvalidArgument("empty reply", usage="usage.reply")
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            ticket = await self._active(tx, number)
            await repo.add_message(
                tx, ticket.id, author="staff", staff_id=staff_id, body=text, at=now
            )
            await repo.mark_first_response(tx, ticket.id, now, staff_id)
            customer = await customer_of(tx, ticket)
        delivered = await self._posts.tell_customer(
            ticket, customer, "tickets.customer_reply", {"text": text}, waiting=True
        )
        log.info("ticket reply number=%s delivered=%s", number, delivered)
        return Delivery(await self._reload(ticket), delivered, display_name(customer))

    async def take(self, staff_id: int, number: int) -> TicketRow:
        """Assign an active ticket to the caller."""
        async with self._db.transaction() as tx:
            ticket = await self._active(tx, number)
            await repo.set_assignee(tx, ticket.id, staff_id, iso(self._clock.now()))
            return await repo.get(tx, ticket.id)

    async def resolve(self, staff_id: int, number: int, note: str | None = None) -> Delivery:
        """Resolve an active ticket and ask the customer, once, how satisfied they are."""
        note = (note or "").strip() or None
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            ticket = await self._active(tx, number)
            if note:
                await repo.add_message(
                    tx, ticket.id, author="staff", staff_id=staff_id, body=note, at=now
                )
            await repo.add_message(
                tx, ticket.id, author="system", staff_id=staff_id, body="resolved", at=now
            )
            await repo.set_status(tx, ticket.id, "resolved", now, resolved=True)
            customer = await customer_of(tx, ticket)
        fields: dict[str, object] = {"note": f"\n\n{note}" if note else ""}
        buttons: tuple[tuple[str, str], ...] = ()
        if ticket.csat is None:
            buttons = tuple(
                (f"tickets.csat_{score}", f"tickets:csat:{number}:{score}")
                for score in range(5, 0, -1)
            )
        delivered = await self._posts.tell_customer(
            ticket, customer, "tickets.customer_resolved", fields, buttons=buttons
        )
        log.info("ticket resolved number=%s delivered=%s", number, delivered)
        if ticket.customer_id is not None:
            await self._on_change(ticket.customer_id)
        return Delivery(await self._reload(ticket), delivered, display_name(customer))

    async def reopen(self, staff_id: int, number: int) -> TicketRow:
        """Put a resolved or closed ticket back to open."""
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            ticket = await repo.find_by_number(tx, number)
            if ticket is None:
                raise UnknownTicket(number)
            if ticket.active:
                raise TicketNotResolved(number)
            await repo.add_message(
                tx, ticket.id, author="system", staff_id=staff_id, body="reopened", at=now
            )
            await repo.set_status(tx, ticket.id, "open", now)
            reopened = await repo.get(tx, ticket.id)
        if reopened.customer_id is not None:
            await self._on_change(reopened.customer_id)
        return reopened

    # ------------------------------------------------------------------ satisfaction

    async def rate(self, telegram_id: int, number: int, score: int) -> Rating:
        """Count the customer's satisfaction score once; a low one is reported to staff."""
        if not 1 <= score <= 5:
            raise InvalidArgument(f"score {score}", usage="usage.rating")
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            ticket = await repo.find_by_number(tx, number)
            if customer is None or ticket is None or ticket.customer_id != customer.id:
                raise UnknownTicket(number)
            accepted = await repo.set_csat(tx, ticket.id, score, iso(self._clock.now()))
            ticket = await repo.get(tx, ticket.id)
        if accepted:
            await self._on_change(customer.id)
        if accepted and score <= LOW_CSAT:
            await self.to_staff_chat(
                ticket, "tickets.staff_low_csat", score=score, name=display_name(customer)
            )
        return Rating(ticket, accepted)

    # ------------------------------------------------------------------ reading

    async def find(self, number: int) -> TicketView:
        """A ticket with its customer and transcript; UnknownTicket if none."""
        async with self._db.read() as tx:
            ticket = await repo.find_by_number(tx, number)
            if ticket is None:
                raise UnknownTicket(number)
            return TicketView(
                ticket, await customer_of(tx, ticket), await repo.messages(tx, ticket.id)
            )

    async def list_for_staff(self, scope: str, staff_id: int) -> list[TicketRow]:
        """Tickets for /tickets: open (default), mine (assigned to the caller) or all."""
        if scope not in SCOPES:
            raise InvalidArgument(f"scope {scope}", usage="usage.tickets")
        async with self._db.read() as tx:
            if scope == "all":
                return await repo.list_by_status(tx, None)
            assignee = staff_id if scope == "mine" else None
            return await repo.list_by_status(tx, repo.ACTIVE, assignee_id=assignee)

    async def for_customer(self, telegram_id: int) -> list[TicketRow]:
        """The customer's tickets, newest first; UnknownCustomer if they never pressed /start."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            return await repo.list_for_customer(tx, customer.id)

    async def open_complaints(self, customer_id: int) -> int:
        """How many complaints of the customer are open (an open one blocks promotions)."""
        async with self._db.read() as tx:
            return await repo.open_complaints(tx, customer_id)

    async def recent_ratings(self, customer_id: int, since: datetime) -> list[int]:
        """Feedback ratings and satisfaction scores the customer gave since `since`."""
        async with self._db.read() as tx:
            return await repo.recent_ratings(tx, customer_id, iso(since))

    # ------------------------------------------------------------------ service levels

    async def check_sla(self) -> SlaReport:
        """Post missed tickets, remind staff of first replies due, escalate missed resolutions."""
        return await self._sla.check()

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _active(tx: aiosqlite.Connection, number: int) -> TicketRow:
        ticket = await repo.find_by_number(tx, number)
        if ticket is None:
            raise UnknownTicket(number)
        if not ticket.active:
            raise TicketAlreadyResolved(number)
        return ticket

    async def _reload(self, ticket: TicketRow) -> TicketRow:
        async with self._db.read() as tx:
            return await repo.get(tx, ticket.id)
