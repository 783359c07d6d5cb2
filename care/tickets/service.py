"""Tickets: feedback, complaints and questions; staff answers; satisfaction; SLA alerts.

Every use case is one method and one transaction: the ticket's rows, the customer's stage, the
staff member's audit row and every message it causes (queued in the outbox) commit together.
Staff use cases run inside `StaffService.act`, which checks the caller's role first.
"""

from __future__ import annotations

import logging

import aiosqlite

from care import callbacks
from care.clock import Clock, iso
from care.errors import (
    ExpiredButton,
    InvalidArgument,
    NotRegistered,
    TicketAlreadyResolved,
    TicketNotResolved,
    UnknownTicket,
)
from care.outbox import Outbox
from care.roles import Role
from care.settings import LocaleSettings, TicketSettings
from care.staff import StaffService
from care.stages.service import StageService
from care.tickets.posts import TicketPosts, TierLookup, customer_of
from care.tickets.results import (
    Delivery,
    Outcome,
    Rating,
    SlaReport,
    Taken,
    Thread,
    TicketCreated,
    TicketLine,
    TicketList,
    TicketView,
    display_name,
)
from care.tickets.sla import FIRST_RESPONSE, TicketSla
from storage import customers as customers_repo
from storage import tickets as repo
from storage.db import Database
from storage.tickets import TicketRow

log = logging.getLogger(__name__)

CATEGORIES = ("product", "service", "delivery", "billing", "other")
SCOPES = ("open", "mine", "all")
LOW_CSAT = 2
MAX_STAFF_TEXT = 4096  # Telegram's limit for the staff member's own message


def ticket_number(ref: int | str, usage: str) -> int:
    """A ticket number from '1042' or '#1042'; InvalidArgument otherwise."""
    text = str(ref).strip().lstrip("#")
    if not text.isascii() or not text.isdecimal() or len(text) > 9:
        raise InvalidArgument(f"not a ticket number: {text}", usage=usage)
    return int(text)


class TicketService:
    """Opens, threads, answers and resolves tickets; watches the SLA targets."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: TicketSettings,
        locale: LocaleSettings,
        outbox: Outbox,
        staff: StaffService,
        stages: StageService,
        tier_of: TierLookup | None = None,
    ) -> None:
        self._db, self._clock, self._settings = db, clock, settings
        self._staff, self._stages = staff, stages
        self._posts = TicketPosts(outbox, clock, staff, locale, tier_of)
        self._sla = TicketSla(db, clock, settings, locale, self._posts)

    # ------------------------------------------------------------------ customers open tickets

    async def open_feedback(
        self, telegram_id: int, rating: int, comment: str | None = None
    ) -> TicketCreated:
        """A feedback ticket with a 1–5 rating and an optional comment."""
        if not 1 <= rating <= 5:
            raise InvalidArgument(f"rating {rating}", usage="usage.rating")
        return await self._open(telegram_id, "feedback", body=comment, rating=rating)

    async def open_complaint(
        self, telegram_id: int, category: str, description: str, photo_file_id: str | None = None
    ) -> TicketCreated:
        """A complaint in a category, with a description and optionally a photo (file id)."""
        if category not in CATEGORIES:
            raise InvalidArgument(f"category {category}", usage="usage.category")
        return await self._open(
            telegram_id,
            "complaint",
            body=description,
            category=category,
            photo=photo_file_id,
        )

    async def _open(
        self,
        telegram_id: int,
        kind: str,
        *,
        body: str | None,
        category: str | None = None,
        rating: int | None = None,
        photo: str | None = None,
    ) -> TicketCreated:
        """Store the ticket, move the stage and queue the staff post, in one transaction."""
        body = (body or "").strip() or None
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            ticket = await self._add(tx, customer.id, kind, body, category, rating, photo)
        return self._created(ticket)

    async def open_question_in(
        self, tx: aiosqlite.Connection, customer_id: int, text: str
    ) -> TicketCreated:
        """A question for staff (the FAQ's "ask our team"), inside the caller's transaction."""
        return self._created(await self._add(tx, customer_id, "question", text.strip() or None))

    async def _add(
        self,
        tx: aiosqlite.Connection,
        customer_id: int,
        kind: str,
        body: str | None,
        category: str | None = None,
        rating: int | None = None,
        photo: str | None = None,
    ) -> TicketRow:
        """Store the ticket and its first message, move the stage, queue the staff post."""
        now = iso(self._clock.now())
        ticket = await repo.add(
            tx, customer_id=customer_id, kind=kind, category=category, rating=rating, at=now
        )
        if body is not None or photo is not None:
            await repo.add_message(
                tx, ticket.id, author="customer", body=body, photo_file_id=photo, at=now
            )
        await self._stages.refresh_in(tx, customer_id)
        await self._posts.post(tx, ticket)
        return ticket

    def _created(self, ticket: TicketRow) -> TicketCreated:
        log.info("ticket opened number=%s kind=%s", ticket.number, ticket.kind)
        expect = self._settings.target_hours(FIRST_RESPONSE, ticket.kind)
        return TicketCreated(ticket, expect, bool(self._settings.business_hours))

    async def remember_post(self, ticket_id: int, chat_id: int, message_id: int) -> None:
        """Record a message that stands for the ticket (the customer's confirmation): replies
        to it join the ticket. Its id is known only after the reply, so this is its own write."""
        async with self._db.transaction() as tx:
            await repo.add_post(tx, chat_id, message_id, ticket_id)

    # ------------------------------------------------------------------ threads

    async def add_customer_message(
        self,
        telegram_id: int,
        reply_to_message_id: int | None,
        text: str | None,
        photo_file_id: str | None = None,
    ) -> Thread | None:
        """A customer's message that belongs to an active ticket (the one replied to, else the
        one waiting for their answer): added to it and passed to staff. None if it belongs to
        no ticket (nothing is written)."""
        if reply_to_message_id is None:  # most messages: one statement, no transaction
            async with self._db.statement() as conn:
                if not await repo.any_waiting_for(conn, telegram_id):
                    return None
        else:
            async with self._db.read() as tx:
                if await self._thread(tx, telegram_id, reply_to_message_id) is None:
                    return None
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            ticket = await self._thread(tx, telegram_id, reply_to_message_id)
            if ticket is None:  # resolved in between
                return None
            await repo.add_message(
                tx, ticket.id, author="customer", body=text, photo_file_id=photo_file_id, at=now
            )
            if ticket.status == "waiting_customer":
                await repo.set_status(tx, ticket.id, "open", now)
            await repo.set_unreachable(tx, ticket.id, False)
            customer = await customer_of(tx, ticket)
            body = (text or "") + ("\n📷" if photo_file_id else "")
            await self._posts.to_staff_chat(
                tx, ticket, "tickets.staff_customer_said", name=display_name(customer), body=body
            )
        return Thread(ticket.number)

    @staticmethod
    async def _thread(
        tx: aiosqlite.Connection, telegram_id: int, reply_to_message_id: int | None
    ) -> TicketRow | None:
        customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
        if customer is None:
            return None
        if reply_to_message_id is not None:
            ticket = await repo.find_by_post(tx, telegram_id, reply_to_message_id)
            if ticket is not None and ticket.customer_id == customer.id and ticket.active:
                return ticket
        return await repo.find_waiting_for_customer(tx, customer.id)

    # ------------------------------------------------------------------ staff actions

    async def reply_in_staff_chat(
        self, actor_id: int, chat_id: int, reply_to_message_id: int, text: str
    ) -> Delivery | None:
        """A reply to a ticket's message in the staff chat answers the customer, as /reply
        does; None if the message replied to stands for no ticket."""
        if chat_id != self._posts.staff_chat:
            return None
        async with self._db.read() as tx:
            ticket = await repo.find_by_post(tx, chat_id, reply_to_message_id)
        if ticket is None:
            return None
        return await self.reply(
            actor_id, ticket.number, text, arguments=f"{ticket.number} (reply to post)"
        )

    async def reply(
        self, actor_id: int, ref: int | str, text: str, *, arguments: str | None = None
    ) -> Delivery:
        """Store a staff answer and queue it for the customer (the ticket then waits for them)."""
        audit = arguments if arguments is not None else f"{ref} {text}"
        async with self._staff.act(actor_id, "reply", audit, Role.STAFF) as act:
            number = ticket_number(ref, "usage.reply")
            text = text.strip()
            if not text:
                raise InvalidArgument("empty reply", usage="usage.reply")
            if len(text) > MAX_STAFF_TEXT:
                raise InvalidArgument(f"reply of {len(text)} characters", usage="usage.reply")
            now = iso(self._clock.now())
            tx = act.tx
            ticket = await self._active(tx, number)
            await repo.add_message(
                tx, ticket.id, author="staff", staff_id=actor_id, body=text, at=now
            )
            await repo.mark_first_response(tx, ticket.id, now, actor_id)
            customer = await customer_of(tx, ticket)
            outcome = await self._posts.relay(tx, ticket, customer, text)
            if outcome is Outcome.QUEUED:
                await repo.set_status(tx, ticket.id, "waiting_customer", now)
            act.result = outcome.value
            delivery = Delivery(await repo.get(tx, ticket.id), outcome, display_name(customer))
        log.info("ticket reply number=%s outcome=%s", number, outcome)
        return delivery

    async def take(self, actor_id: int, ref: int | str) -> Taken:
        """Assign an active ticket to the caller (a second tap changes nothing)."""
        async with self._staff.act(actor_id, "ticket_take", str(ref), Role.STAFF) as act:
            ticket = await self._active(act.tx, ticket_number(ref, "usage.ticket"))
            if ticket.assignee_id == actor_id:
                act.result = "already taken"
                return Taken(ticket, already=True)
            await repo.set_assignee(act.tx, ticket.id, actor_id, iso(self._clock.now()))
            act.result = "taken"
            return Taken(await repo.get(act.tx, ticket.id), already=False)

    async def resolve(
        self,
        actor_id: int,
        ref: int | str,
        note: str | None = None,
        *,
        action: str = "resolve",
    ) -> Delivery:
        """Resolve an active ticket and ask the customer, once, how satisfied they are."""
        note = (note or "").strip() or None
        audit = f"{ref} {note}" if note else str(ref)
        async with self._staff.act(actor_id, action, audit, Role.STAFF) as act:
            number = ticket_number(ref, "usage.resolve")
            if note is not None and len(note) > MAX_STAFF_TEXT:
                raise InvalidArgument(f"note of {len(note)} characters", usage="usage.resolve")
            now = iso(self._clock.now())
            tx = act.tx
            ticket = await self._active(tx, number)
            if note:
                await repo.add_message(
                    tx, ticket.id, author="staff", staff_id=actor_id, body=note, at=now
                )
            await repo.add_message(
                tx, ticket.id, author="system", staff_id=actor_id, body="resolved", at=now
            )
            await repo.set_status(tx, ticket.id, "resolved", now, resolved=True)
            customer = await customer_of(tx, ticket)
            if ticket.customer_id is not None:
                await self._stages.refresh_in(tx, ticket.customer_id)
            buttons: tuple[tuple[str, str], ...] = ()
            if ticket.csat is None:
                buttons = tuple(
                    (f"tickets.csat_{score}", callbacks.build("tickets", "csat", number, score))
                    for score in range(5, 0, -1)
                )
            outcome = await self._posts.resolved(tx, ticket, customer, note, buttons)
            act.result = f"resolved, customer {outcome.value}"
            delivery = Delivery(await repo.get(tx, ticket.id), outcome, display_name(customer))
        log.info("ticket resolved number=%s outcome=%s", number, outcome)
        return delivery

    async def reopen(self, actor_id: int, ref: int | str) -> TicketRow:
        """Put a resolved or closed ticket back to open."""
        async with self._staff.act(actor_id, "reopen", str(ref), Role.STAFF) as act:
            number = ticket_number(ref, "usage.reopen")
            now = iso(self._clock.now())
            ticket = await repo.find_by_number(act.tx, number)
            if ticket is None:
                raise UnknownTicket(number)
            if ticket.active:
                raise TicketNotResolved(number)
            await repo.add_message(
                act.tx, ticket.id, author="system", staff_id=actor_id, body="reopened", at=now
            )
            await repo.set_status(act.tx, ticket.id, "open", now)
            if ticket.customer_id is not None:
                await self._stages.refresh_in(act.tx, ticket.customer_id)
            act.result = "reopened"
            return await repo.get(act.tx, ticket.id)

    # ------------------------------------------------------------------ satisfaction

    async def rate(self, telegram_id: int, number: int, score: int) -> Rating:
        """Count the customer's satisfaction score once; a low one is reported to staff.

        Someone else's ticket, or one that does not exist, is an expired button.
        """
        if not 1 <= score <= 5:
            raise InvalidArgument(f"score {score}", usage="usage.rating")
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            ticket = await repo.find_by_number(tx, number)
            if customer is None or ticket is None or ticket.customer_id != customer.id:
                raise ExpiredButton()
            accepted = await repo.set_csat(tx, ticket.id, score, iso(self._clock.now()))
            if accepted:
                await self._stages.refresh_in(tx, customer.id)
                if score <= LOW_CSAT:
                    await self._posts.to_staff_chat(
                        tx,
                        ticket,
                        "tickets.staff_low_csat",
                        score=score,
                        name=display_name(customer),
                    )
            return Rating(await repo.get(tx, ticket.id), accepted)

    # ------------------------------------------------------------------ reading

    async def find(self, actor_id: int, ref: int | str) -> TicketView:
        """/ticket: a ticket with its customer and transcript; UnknownTicket if none."""
        async with self._staff.act(actor_id, "ticket", str(ref), Role.STAFF) as act:
            number = ticket_number(ref, "usage.ticket")
            ticket = await repo.find_by_number(act.tx, number)
            if ticket is None:
                raise UnknownTicket(number)
            customer = await customer_of(act.tx, ticket)
            act.result = "shown"
            return TicketView(
                ticket, display_name(customer), await repo.messages(act.tx, ticket.id)
            )

    async def list_for_staff(self, actor_id: int, scope: str = "open") -> TicketList:
        """/tickets: open (default), mine (assigned to the caller) or all, newest first."""
        async with self._staff.act(actor_id, "tickets", scope, Role.STAFF) as act:
            scope = scope.lower() or "open"
            if scope not in SCOPES:
                raise InvalidArgument(f"scope {scope}", usage="usage.tickets")
            if scope == "all":
                rows = await repo.list_by_status(act.tx, None)
            else:
                assignee = actor_id if scope == "mine" else None
                rows = await repo.list_by_status(act.tx, repo.ACTIVE, assignee_id=assignee)
            lines = [TicketLine(row, display_name(await customer_of(act.tx, row))) for row in rows]
            act.result = f"listed {len(lines)}"
        truncated = repo.LIST_LIMIT if len(rows) >= repo.LIST_LIMIT else None
        return TicketList(scope, lines, truncated)

    async def for_customer(self, telegram_id: int) -> list[TicketRow]:
        """The customer's tickets, newest first; NotRegistered if they never pressed /start."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            return await repo.list_for_customer(tx, customer.id)

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
