"""Service levels for tickets: reminders in the staff chat, escalations to the owners."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from care.clock import Clock, iso, parse_iso
from care.ports import Label, Messenger, OutboundMessage, SendStatus
from care.settings import LocaleSettings, StaffSettings, TicketSettings
from care.sla import counted_time
from care.ticket_results import SlaReport, display_name, format_hours
from storage import customers as customers_repo
from storage import tickets as repo
from storage.db import Database
from storage.tickets import TicketRow

if TYPE_CHECKING:
    from care.tickets import TicketService

log = logging.getLogger(__name__)
FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"


class TicketSla:
    """One check of every active ticket against its targets; each alert is sent once."""

    def __init__(
        self,
        tickets: TicketService,
        db: Database,
        clock: Clock,
        settings: TicketSettings,
        staff: StaffSettings,
        locale: LocaleSettings,
        messenger: Messenger,
    ) -> None:
        self._tickets, self._db, self._clock, self._settings = tickets, db, clock, settings
        self._staff, self._locale, self._messenger = staff, locale, messenger

    async def check(self) -> SlaReport:
        """Post missed tickets, remind staff of first replies due, escalate missed resolutions.

        Each alert is sent once per ticket and threshold (recorded in `ticket_alerts` after a
        successful send, so a failed send is retried on the next run).
        """
        posted = await self._tickets.post_pending()
        now = self._clock.now()
        due: list[tuple[TicketRow, str, float]] = []
        async with self._db.read() as tx:
            for ticket in await repo.list_active(tx):
                for threshold in (FIRST_RESPONSE, RESOLUTION):
                    if threshold == FIRST_RESPONSE and ticket.first_response_at is not None:
                        continue
                    hours = self._settings.target_hours(threshold, ticket.kind)
                    if hours <= 0 or await repo.alert_sent(tx, ticket.id, threshold):
                        continue
                    waited = counted_time(
                        parse_iso(ticket.created_at), now, self._settings, self._locale.zone
                    )
                    if waited.total_seconds() >= hours * 3600:
                        due.append((ticket, threshold, hours))
        reminders = escalations = 0
        for ticket, threshold, hours in due:
            if threshold == FIRST_RESPONSE:
                sent = await self._tickets.to_staff_chat(
                    ticket, "tickets.sla_first_response", hours=format_hours(hours)
                )
                reminders += sent
            else:
                sent = await self._escalate(ticket, hours)
                escalations += sent
            if sent:
                async with self._db.transaction() as tx:
                    await repo.add_alert(tx, ticket.id, threshold, iso(now))
        if posted or reminders or escalations:
            log.info(
                "tickets sla posted=%s reminders=%s escalations=%s", posted, reminders, escalations
            )
        return SlaReport(posted, reminders, escalations)

    async def _escalate(self, ticket: TicketRow, hours: float) -> bool:
        """Tell every owner privately that a ticket missed its resolution target."""
        async with self._db.read() as tx:
            customer = (
                await customers_repo.find_by_id(tx, ticket.customer_id)
                if ticket.customer_id
                else None
            )
        fields = {
            "kind": Label(f"tickets.kind_{ticket.kind}", ticket.kind),
            "hours": format_hours(hours),
            "name": display_name(customer),
        }
        sent = never_started = False
        for owner in self._staff.owners:
            result = await self._messenger.send(
                OutboundMessage(
                    owner,
                    "tickets.sla_resolution",
                    self._locale.default_language,
                    {"number": ticket.number, **fields},
                )
            )
            sent = sent or result.status is SendStatus.SENT
            never_started = never_started or result.never_started
        if never_started:
            # Telegram lets a bot write first only to people who opened its private chat: say
            # it where the owner reads, and how to get escalations privately next time.
            told = await self._tickets.to_staff_chat(
                ticket, "tickets.sla_resolution_start_bot", **fields
            )
            sent = sent or told
        return sent
