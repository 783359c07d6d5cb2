"""Service levels for tickets: reminders in the staff chat, escalations to the owners."""

from __future__ import annotations

import logging

from care.clock import Clock, iso, parse_iso
from care.ports import Label
from care.settings import LocaleSettings, TicketSettings
from care.tickets.hours import counted_time
from care.tickets.posts import TicketPosts, customer_of
from care.tickets.results import SlaReport, display_name, format_hours
from storage import tickets as repo
from storage.db import Database

log = logging.getLogger(__name__)
FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"


class TicketSla:
    """One check of every active ticket against its targets; each alert is queued once."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: TicketSettings,
        locale: LocaleSettings,
        posts: TicketPosts,
    ) -> None:
        self._db, self._clock, self._settings = db, clock, settings
        self._locale, self._posts = locale, posts

    async def check(self) -> SlaReport:
        """Post missed tickets, remind staff of first replies due, escalate missed resolutions.

        One transaction: each alert is queued in the outbox and recorded in `ticket_alerts`
        together, so it is sent once per ticket and threshold (the outbox retries the send).
        """
        async with self._db.read() as tx:
            missed = await self._posts.unposted(tx)
        now = self._clock.now()
        posted = reminders = escalations = 0
        async with self._db.transaction() as tx:
            for ticket in missed:
                posted += await self._posts.repost(tx, ticket)
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
                    if waited.total_seconds() < hours * 3600:
                        continue
                    if threshold == FIRST_RESPONSE:
                        queued = await self._posts.to_staff_chat(
                            tx, ticket, "tickets.sla_first_response", hours=format_hours(hours)
                        )
                        reminders += queued
                    else:
                        customer = await customer_of(tx, ticket)
                        fields: dict[str, object] = {
                            "number": ticket.number,
                            "kind": Label(f"tickets.kind_{ticket.kind}", ticket.kind),
                            "hours": format_hours(hours),
                            "name": display_name(customer),
                        }
                        queued = await self._posts.escalate(tx, ticket, fields)
                        escalations += queued
                    if queued:
                        await repo.add_alert(tx, ticket.id, threshold, iso(now))
        if posted or reminders or escalations:
            log.info(
                "tickets sla posted=%s reminders=%s escalations=%s", posted, reminders, escalations
            )
        return SlaReport(posted, reminders, escalations)
