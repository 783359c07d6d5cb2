"""Outreach use cases: plan and send occasions; customers' birthdays, answers and mutes; staff
preview and stats.

Planning (`care/outreach/plan.py`) writes each occasion into the outbox once; sending
(`care/outreach/send.py`) re-checks every rule when a row is due and records each row at most
once.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.customers import find_customer
from care.errors import BirthdayLocked, InvalidArgument, NotAnswerable, NotRegistered
from care.loyalty.service import LoyaltyService
from care.outreach.plan import OutreachPlanner, PlanItem
from care.outreach.rules import (
    Birthday,
    parse_birthday,
    stored_birthday,
    zone_of,
)
from care.outreach.send import OutreachSender
from care.pacer import Pacer
from care.ports import Messenger
from care.roles import Role
from care.settings import LocaleSettings, OutreachSettings
from care.staff import StaffService
from storage import customers as customers_repo
from storage import outreach as repo
from storage.db import Database

log = logging.getLogger(__name__)
BIRTHDAY_CHANGE_EVERY = timedelta(days=365)  # customers change their birthday once a year


@dataclass(frozen=True, slots=True)
class CheckinAnswer:
    """A recorded check-in answer (or the earlier one, if already answered)."""

    score: int
    ticket_number: int | None
    already: bool


@dataclass(frozen=True, slots=True)
class Muted:
    """A per-kind opt-out: which kind, and whether it was new (False: a repeated tap)."""

    kind: str
    changed: bool


@dataclass(frozen=True, slots=True)
class Preview:
    """Staff /outreach preview: the day, everyone considered, how many are due."""

    day: date
    items: list[PlanItem]
    due: int


@dataclass(frozen=True, slots=True)
class StaffBirthday:
    """A birthday staff set: whose (name or member code) and what."""

    who: str
    birthday: Birthday


class OutreachService:
    """Plans and sends birthday and holiday greetings, check-ins and win-backs; answers staff
    questions."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: OutreachSettings,
        locale: LocaleSettings,
        messenger: Messenger,
        staff: StaffService,
        business_name: str = "",
        *,
        loyalty: LoyaltyService,
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
        self._staff = staff
        self._locale, self._messenger, self._business = locale, messenger, business_name
        self._promotional = json.dumps(list(settings.promotional))
        self._sender = OutreachSender(
            db, clock, settings, locale, messenger, business_name, self._promotional, loyalty
        )
        self._planner = OutreachPlanner(db, clock, settings, locale, self._promotional)

    async def plan(self) -> Counter[str]:
        """Insert every occasion that has come (or comes within two days, for birthdays)."""
        return await self._planner.plan()

    async def preview_for(self, actor_id: int, day: date | None) -> Preview:
        """Staff /outreach preview [day] (default: today): authorised, audited, no other writes."""
        shown = day or self._clock.now().date()
        arguments = f"preview {day.isoformat()}" if day else "preview"
        async with self._staff.act(actor_id, "outreach", arguments, Role.STAFF) as act:
            items = await self._planner.preview(shown, act.tx)
            due = sum(1 for item in items if item.status == "due")
            act.result = f"preview {shown} due={due} total={len(items)}"
        return Preview(shown, items, due)

    async def preview(self, day: date) -> list[PlanItem]:
        """Dry run: everyone considered on `day`, per kind, due or skipped and why. No writes."""
        async with self._db.read() as tx:
            return await self._planner.preview(day, tx)

    # ------------------------------------------------------------------ sending

    @property
    def pacer(self) -> Pacer:
        """The sender's pacer (tests replace its sleep)."""
        return self._sender.pacer

    async def drain(self, limit: int | None = None) -> Counter[str]:
        """Send what is due, one message at a time at the configured rate (never in parallel)."""
        return await self._sender.drain(limit)

    async def run_once(self) -> tuple[Counter[str], Counter[str]]:
        """Plan, then send everything due now."""
        return await self.plan(), await self.drain()

    # ------------------------------------------------------------------ customers' answers

    async def answer_checkin(
        self, telegram_id: int, outreach_id: int, score: int
    ) -> CheckinAnswer:
        """Record a 1–5 check-in answer as feedback, once."""
        if not 1 <= score <= 5:
            raise NotAnswerable()
        at = iso(self._clock.now())
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            row = await repo.load(tx, outreach_id, self._promotional)
            if (
                customer is None
                or row is None
                or row.customer.customer_id != customer.id
                or row.kind != "checkin"
                or row.status != "sent"
            ):
                raise NotAnswerable()
            if row.replied_at is not None:
                return CheckinAnswer(score, None, already=True)
            number = await repo.record_checkin_answer(tx, outreach_id, customer.id, score, at)
        return CheckinAnswer(score, number, already=False)

    async def mute(self, telegram_id: int, outreach_id: int) -> Muted:
        """Stop the kind of message this outbox row was (per-kind opt-out)."""
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            row = await repo.load(tx, outreach_id, self._promotional)
            if customer is None or row is None or row.customer.customer_id != customer.id:
                raise NotAnswerable()
            changed = await repo.set_optout(tx, customer.id, row.kind, iso(self._clock.now()))
        return Muted(row.kind, changed)

    async def set_birthday(self, telegram_id: int, text: str) -> Birthday:
        """Store the customer's birthday (day and month; year optional), once a year at most.

        Setting the birthday already stored changes nothing; another one within a year of the
        customer's last change is refused (staff can change it: `set_birthday_for`).
        """
        now = self._clock.now()
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            zone = zone_of(customer.timezone, self._locale.zone)
            birthday = parse_birthday(text, now.astimezone(zone).date())
            if birthday.stored() == customer.birthday:
                return birthday
            if customer.birthday_set_at is not None:
                next_change = parse_iso(customer.birthday_set_at) + BIRTHDAY_CHANGE_EVERY
                if now < next_change:
                    raise BirthdayLocked(next_change.astimezone(zone).date().isoformat())
            await customers_repo.set_birthday(
                tx, customer.id, birthday.stored(), by_customer_at=iso(now)
            )
        self._planner.rescan_birthdays()  # plan it at the next run, even if it is today
        return birthday

    async def set_birthday_for(self, actor_id: int, reference: str, text: str) -> StaffBirthday:
        """Staff set a customer's birthday (the correction the once-a-year limit points to)."""
        async with self._staff.act(actor_id, "birthday", f"{reference} {text}", Role.STAFF) as act:
            customer = await find_customer(act.tx, reference, act.region)
            zone = zone_of(customer.timezone, self._locale.zone)
            birthday = parse_birthday(text, self._clock.now().astimezone(zone).date())
            await customers_repo.set_birthday(act.tx, customer.id, birthday.stored())
            act.result = f"set {customer.id} {birthday.stored()}"
        self._planner.rescan_birthdays()
        return StaffBirthday(customer.name or customer.member_code, birthday)

    async def birthday_of(self, telegram_id: int) -> Birthday | None:
        """The customer's stored birthday."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
        if customer is None:
            raise NotRegistered(telegram_id)
        return stored_birthday(customer.birthday)

    # ------------------------------------------------------------------ staff

    async def stats_for(self, actor_id: int, days: int = 30) -> dict[str, Counter[str]]:
        """Staff /outreach stats: authorised and audited in the transaction that reads them."""
        async with self._staff.act(actor_id, "outreach", "stats", Role.STAFF) as act:
            result = await self._stats(act.tx, days)
            act.result = "stats"
        return result

    async def stats(self, days: int = 30) -> dict[str, Counter[str]]:
        """Per kind: sent, skipped/failed/missed by reason, replies, won back; last `days`."""
        async with self._db.read() as tx:
            return await self._stats(tx, days)

    async def _stats(self, tx: aiosqlite.Connection, days: int) -> dict[str, Counter[str]]:
        if days < 1:
            raise InvalidArgument("days", usage="usage.outreach")
        now = self._clock.now()
        rows = await repo.stats(tx, iso(now - timedelta(days=days)), iso(now))
        result: dict[str, Counter[str]] = {}
        for kind, measure, count in rows:
            result.setdefault(kind, Counter())[measure] += count
        return result
