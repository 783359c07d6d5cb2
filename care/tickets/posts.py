"""What tickets send: the staff-chat post and its thread, messages to the customer, escalations.

Everything is queued in the outbox inside the use case's transaction; the outbox hooks below run
in the transaction that records each outcome: a sent post stores its message id on the ticket
(staff replies to it then thread), every sent message is remembered as standing for the ticket
(replies to it join the ticket), and a message the customer never got is written into the
ticket and told to the staff chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import aiosqlite

from care import callbacks
from care.clock import Clock, iso
from care.outbox import Hooks, Outbox, decode
from care.ports import Label, OutboundMessage, SendStatus
from care.settings import LocaleSettings
from care.staff import StaffService
from care.tickets.results import Outcome, display_name
from storage import customers as customers_repo
from storage import outbox as outbox_repo
from storage import tickets as repo
from storage.customers import CustomerRow
from storage.outbox import OutboxRow
from storage.tickets import TicketRow

log = logging.getLogger(__name__)

# The customer's tier for the staff card, read inside the use case's transaction.
TierLookup = Callable[[aiosqlite.Connection, int], Awaitable[str]]

POST, THREAD, CUSTOMER, ESCALATION = (
    "ticket.post",  # the ticket's card in the staff chat
    "ticket.thread",  # anything else in the staff chat about a ticket (photo, answers, alerts)
    "ticket.customer",  # a staff reply or the resolution notice, to the customer
    "ticket.escalation",  # an owner's private alert
)
IN_FLIGHT = ("pending", "sending")
# A staff text longer than this goes to the customer as a message of its own: inside the
# catalogue text around it, it would pass Telegram's 4096 characters.
INLINE_TEXT = 3800

# Which customer message did not arrive, for the staff chat's notice.
_WHAT = {"tickets.customer_reply": "reply", "tickets.customer_resolved": "resolved"}


async def customer_of(tx: aiosqlite.Connection, ticket: TicketRow) -> CustomerRow | None:
    """The ticket's customer, if it has one."""
    if ticket.customer_id is None:
        return None
    return await customers_repo.find_by_id(tx, ticket.customer_id)


class TicketPosts:
    """Queues a ticket's messages and keeps its threads when the outbox reports back."""

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        staff: StaffService,
        locale: LocaleSettings,
        tier_of: TierLookup | None = None,
    ) -> None:
        self._outbox, self._clock, self._staff = outbox, clock, staff
        self._lang, self._tier_of = locale.default_language, tier_of
        outbox.on(POST, Hooks(sent=self._posted))
        outbox.on(THREAD, Hooks(sent=self._threaded))
        outbox.on(CUSTOMER, Hooks(sent=self._delivered, undelivered=self._not_delivered))
        outbox.on(ESCALATION, Hooks(undelivered=self._owner_unreachable))

    @property
    def staff_chat(self) -> int | None:
        """The staff chat's id, if there is one (it may be set while the bot runs)."""
        return self._staff.staff_chat_id

    async def tier(self, tx: aiosqlite.Connection, customer_id: int | None) -> str:
        """The customer's tier name for the card ('' if unknown)."""
        if customer_id is None or self._tier_of is None:
            return ""
        return await self._tier_of(tx, customer_id)

    # ------------------------------------------------------------------ the staff chat

    async def post(self, tx: aiosqlite.Connection, ticket: TicketRow) -> bool:
        """Queue the ticket's card with the customer's details; False without a staff chat."""
        chat_id = self._staff.staff_chat_id
        if chat_id is None:
            return False
        customer = await customer_of(tx, ticket)
        tier = await self.tier(tx, ticket.customer_id)
        open_count = await repo.count_active(tx, customer.id) if customer else 0
        first = next(iter(await repo.messages(tx, ticket.id)), None)
        fields = {
            "number": ticket.number,
            "category": Label(f"tickets.category_{ticket.category}", ticket.category or ""),
            "tier": Label(f"loyalty.tier.{tier}", tier or "–"),
            "stars": "★" * (ticket.rating or 0) + "☆" * (5 - (ticket.rating or 0)),
            "name": display_name(customer),
            "stage": Label(f"stages.{customer.stage}", customer.stage) if customer else "?",
            "open": open_count,
            "body": (first.body if first and first.body else "—")
            + ("\n📷" if first and first.photo_file_id else ""),
        }
        message = OutboundMessage(
            chat_id,
            f"tickets.staff_post_{ticket.kind}",
            self._lang,
            fields,
            buttons=(
                ("tickets.button_take", callbacks.build("tickets", "take", ticket.number)),
                ("tickets.button_resolve", callbacks.build("tickets", "resolve", ticket.number)),
            ),
        )
        await self._outbox.add(tx, message, kind=POST, ref=ticket.id)
        return True

    async def unposted(self, tx: aiosqlite.Connection) -> list[TicketRow]:
        """Tickets to (re)post now: those never queued, and the oldest whose post failed."""
        fresh, failed = await self._missed(tx)
        return fresh + failed[:1]

    async def _missed(self, tx: aiosqlite.Connection) -> tuple[list[TicketRow], list[TicketRow]]:
        """Unposted tickets never queued, and those whose post failed (none while a post is
        being retried: the staff chat is failing, and is probed with one post at a time)."""
        if self._staff.staff_chat_id is None:
            return [], []
        fresh: list[TicketRow] = []
        failed: list[TicketRow] = []
        retrying = False
        for ticket in await repo.list_unposted(tx):
            rows = await outbox_repo.find(tx, POST, str(ticket.id))
            in_flight = [row for row in rows if row.status in IN_FLIGHT]
            if in_flight:
                retrying = retrying or any(row.attempts for row in in_flight)
            else:
                (failed if rows else fresh).append(ticket)
        return fresh, [] if retrying else failed

    async def repost(self, tx: aiosqlite.Connection, ticket: TicketRow) -> bool:
        """Queue a missed ticket's card again (the card it was first given, if it had one)."""
        rows = await outbox_repo.find(tx, POST, str(ticket.id))
        current = await repo.get(tx, ticket.id)
        if current.staff_message_id is not None or any(r.status in IN_FLIGHT for r in rows):
            return False
        if not rows or self._staff.staff_chat_id is None:
            return await self.post(tx, current)
        card = replace(decode(rows[-1].message), chat_id=self._staff.staff_chat_id)
        await self._outbox.add(tx, card, kind=POST, ref=ticket.id)
        return True

    async def to_staff_chat(
        self,
        tx: aiosqlite.Connection,
        ticket: TicketRow,
        key: str,
        *,
        dedupe_key: str | None = None,
        **fields: object,
    ) -> bool:
        """Queue something about a ticket for the staff chat, threaded under its post; False
        without a staff chat or when `dedupe_key` was queued before."""
        chat_id = self._staff.staff_chat_id
        if chat_id is None:
            return False
        current = await repo.get(tx, ticket.id)
        message = OutboundMessage(
            chat_id,
            key,
            self._lang,
            {"number": ticket.number, **fields},
            reply_to_message_id=current.staff_message_id,
        )
        return await self._outbox.add(
            tx, message, kind=THREAD, ref=ticket.id, dedupe_key=dedupe_key
        )

    # ------------------------------------------------------------------ the customer

    async def to_customer(
        self,
        tx: aiosqlite.Connection,
        ticket: TicketRow,
        customer: CustomerRow | None,
        key: str,
        fields: dict[str, object],
        *,
        buttons: tuple[tuple[str, str], ...] = (),
    ) -> Outcome:
        """Queue a message for the ticket's customer, if anything can reach them."""
        if customer is not None and customer.forgotten_at is not None:
            return Outcome.FORGOTTEN
        if customer is None or customer.telegram_id is None:
            return Outcome.NO_CHAT
        message = OutboundMessage(
            customer.telegram_id,
            key,
            customer.language,
            {"number": ticket.number, **fields},
            buttons=buttons,
        )
        await self._outbox.add(tx, message, kind=CUSTOMER, customer_id=customer.id, ref=ticket.id)
        return Outcome.QUEUED

    async def relay(
        self, tx: aiosqlite.Connection, ticket: TicketRow, customer: CustomerRow | None, text: str
    ) -> Outcome:
        """Queue a staff answer for the customer: in the reply text, or after a header when
        it is too long to fit inside it."""
        if len(text) <= INLINE_TEXT:
            return await self.to_customer(
                tx, ticket, customer, "tickets.customer_reply", {"text": text}
            )
        outcome = await self.to_customer(tx, ticket, customer, "tickets.customer_reply_header", {})
        if outcome is Outcome.QUEUED:
            await self.to_customer(tx, ticket, customer, "tickets.customer_text", {"text": text})
        return outcome

    async def resolved(
        self,
        tx: aiosqlite.Connection,
        ticket: TicketRow,
        customer: CustomerRow | None,
        note: str | None,
        buttons: tuple[tuple[str, str], ...],
    ) -> Outcome:
        """Queue the resolution notice (with the satisfaction buttons); a long note goes first,
        as a message of its own."""
        inline = note is None or len(note) <= INLINE_TEXT
        if not inline:
            await self.to_customer(tx, ticket, customer, "tickets.customer_text", {"text": note})
        fields: dict[str, object] = {"note": f"\n\n{note}" if note and inline else ""}
        return await self.to_customer(
            tx, ticket, customer, "tickets.customer_resolved", fields, buttons=buttons
        )

    # ------------------------------------------------------------------ the owners

    async def escalate(
        self, tx: aiosqlite.Connection, ticket: TicketRow, fields: dict[str, object]
    ) -> bool:
        """Queue a private alert for every owner; False if there are none."""
        for owner in self._staff.owners:
            message = OutboundMessage(owner, "tickets.sla_resolution", self._lang, fields)
            await self._outbox.add(
                tx,
                message,
                kind=ESCALATION,
                ref=ticket.id,
                dedupe_key=f"{ESCALATION}:{ticket.id}:{owner}",
            )
        return bool(self._staff.owners)

    # ------------------------------------------------------------------ outbox hooks

    async def _posted(self, tx: aiosqlite.Connection, row: OutboxRow, message_id: int) -> None:
        """The card is in the staff chat: replies to it thread; the photo goes under it."""
        ticket = await repo.get(tx, int(row.ref or 0))
        await repo.set_staff_message(tx, ticket.id, row.chat_id, message_id)
        first = next(iter(await repo.messages(tx, ticket.id)), None)
        if first is not None and first.photo_file_id is not None:
            photo = OutboundMessage(
                row.chat_id,
                "tickets.staff_photo",
                self._lang,
                {"number": ticket.number},
                reply_to_message_id=message_id,
                photo=first.photo_file_id,
            )
            await self._outbox.add(tx, photo, kind=THREAD, ref=ticket.id)
        _, failed = await self._missed(tx)
        if failed:  # the staff chat works again: post the next ticket it missed
            await self.repost(tx, failed[0])

    async def _threaded(self, tx: aiosqlite.Connection, row: OutboxRow, message_id: int) -> None:
        await repo.add_post(tx, row.chat_id, message_id, int(row.ref or 0))

    async def _delivered(self, tx: aiosqlite.Connection, row: OutboxRow, message_id: int) -> None:
        """The customer got it: their reply to it joins the ticket."""
        ticket_id = int(row.ref or 0)
        await repo.add_post(tx, row.chat_id, message_id, ticket_id)
        await repo.set_unreachable(tx, ticket_id, False)

    async def _not_delivered(
        self, tx: aiosqlite.Connection, row: OutboxRow, status: SendStatus
    ) -> None:
        """The customer never got it: say so in the ticket and in the staff chat."""
        ticket = await repo.get(tx, int(row.ref or 0))
        customer = await customer_of(tx, ticket)
        if customer is not None and customer.forgotten_at is not None:
            reason = "forgotten"
        else:
            reason = "blocked" if status.unreachable else "failed"
        now = iso(self._clock.now())
        await repo.add_message(
            tx, ticket.id, author="system", body=f"not delivered: {reason}", at=now
        )
        if reason != "failed":
            await repo.set_unreachable(tx, ticket.id, True)
        if ticket.status == "waiting_customer":  # nobody can answer what they never saw
            await repo.set_status(tx, ticket.id, "open", now)
        what = _WHAT.get(decode(row.message).key, "reply")
        await self.to_staff_chat(
            tx,
            ticket,
            "tickets.staff_undelivered",
            name=display_name(customer),
            what=Label(f"tickets.undelivered_{what}", what),
            reason=Label(f"tickets.undelivered_because_{reason}", reason),
        )
        log.warning("ticket message not delivered number=%s reason=%s", ticket.number, reason)

    async def _owner_unreachable(
        self, tx: aiosqlite.Connection, row: OutboxRow, status: SendStatus
    ) -> None:
        """An owner who never started the bot privately cannot be alerted there (403): the
        staff chat gets the alert instead, and the owner is asked, once, to start the bot."""
        if not status.unreachable:
            return
        ticket = await repo.get(tx, int(row.ref or 0))
        alert = decode(row.message)
        await self.to_staff_chat(
            tx, ticket, alert.key, **alert.fields, dedupe_key=f"{ESCALATION}:{ticket.id}:chat"
        )
        await self.to_staff_chat(
            tx,
            ticket,
            "tickets.owner_start_bot",
            owner=row.chat_id,
            dedupe_key=f"ticket.owner_start_bot:{row.chat_id}",
        )
