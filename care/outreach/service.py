"""Scheduled outreach: plan occasions into the outbox, then send them once, politely, paced.

Planning inserts one outbox row per (customer, kind, occasion): `birthday:<year>`,
`checkin:<local date>`, `winback:<date of the purchase the lapse followed>`. The UNIQUE key makes
a second plan, a restart or a concurrent run harmless. Birthdays are planned up to two days ahead
(due at `birthday_time` on the customer's local birthday); check-ins and win-backs when the
customer's `next_checkin_at` / `winback_due_at` (kept by `care.stages`) has come.

A win-back is owed once per lapse episode however long ago the lapse began: one that was never
planned is due at max(`winback_due_at`, now), so it is never born 'missed' (outreach switched on
for old customers, or a downtime longer than the grace). A row already planned that the sender
could not send within its grace is still recorded as missed.

Sending (`care/outreach/send.py`) re-checks every rule when a row is due and records each row
at most once.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.customers import resolve_in
from care.errors import BirthdayLocked, InvalidArgument, NotAnswerable, NotRegistered
from care.outreach.rules import (
    Birthday,
    after_quiet_hours,
    local_moment,
    month_days_on,
    parse_birthday,
    refusal,
    stored_birthday,
    zone_of,
)
from care.outreach.send import OutreachSender, Pacer
from care.ports import Messenger
from care.roles import Role
from care.settings import LocaleSettings, OutreachSettings
from care.staff import StaffService
from storage import customers as customers_repo
from storage import outreach as repo
from storage.db import Database
from storage.outreach import Candidate

log = logging.getLogger(__name__)
PLAN_AHEAD_DAYS = 2
BIRTHDAY_RESCAN = timedelta(hours=1)
BIRTHDAY_CHANGE_EVERY = timedelta(days=365)  # customers change their birthday once a year


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One customer considered for one kind on a day: due, or skipped and why."""

    telegram_id: int | None
    customer_id: int
    kind: str
    occasion: str
    status: str  # due | skipped
    reason: str | None
    stage: str
    due_at: str
    name: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The CLI's JSON line."""
        return {
            "telegram_id": self.telegram_id,
            "customer_id": self.customer_id,
            "kind": self.kind,
            "occasion": self.occasion,
            "status": self.status,
            "reason": self.reason,
            "stage": self.stage,
            "due_at": self.due_at,
        }


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


@dataclass
class _Pending:
    customer: Candidate
    kind: str
    occasion: str
    due: datetime
    expires: datetime
    late: bool = False


class OutreachService:
    """Plans and sends birthday greetings, check-ins and win-backs; answers staff questions."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: OutreachSettings,
        locale: LocaleSettings,
        messenger: Messenger,
        staff: StaffService,
        business_name: str = "",
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
        self._staff = staff
        self._locale, self._messenger, self._business = locale, messenger, business_name
        self._promotional = json.dumps(list(settings.promotional))
        self._sender = OutreachSender(
            db, clock, settings, locale, messenger, business_name, self._promotional
        )
        self._birthdays_scanned: tuple[date, datetime] | None = None

    # ------------------------------------------------------------------ planning

    async def plan(self) -> Counter[str]:
        """Insert every occasion that has come (or comes within two days, for birthdays)."""
        now = self._clock.now()
        counts: Counter[str] = Counter()
        async with self._db.transaction() as tx:
            since = iso(now - timedelta(days=self._s.winback_offer_valid_days + 1))
            counts["won_back"] = await repo.record_won_back(tx, since, iso(now))
        birthdays: list[_Pending] = []
        if self._birthday_scan_due(now):
            birthdays = await self._birthdays(now.date(), now, planning=True)
            self._birthdays_scanned = (now.date(), now)
        for start in range(0, len(birthdays), self._s.batch_size):
            counts.update(await self._insert(birthdays[start : start + self._s.batch_size], now))
        for kind in ("checkin", "winback"):
            after = ("", 0)
            while batch := await self._due_batch(kind, iso(now), after):
                pending = [self._due_pending(c, kind, now) for c in batch]
                counts.update(await self._insert(pending, now))
                after = (batch[-1].due or "", batch[-1].customer_id)
        log.info("outreach planned %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return counts

    def _birthday_scan_due(self, now: datetime) -> bool:
        """Birthdays are planned two days ahead, so once the window for a UTC day is planned
        only a changed birthday can add one: scan on a new day, after /birthday, and hourly
        (for birthdays written by another process, e.g. an import)."""
        scanned = self._birthdays_scanned
        return scanned is None or scanned[0] != now.date() or now - scanned[1] >= BIRTHDAY_RESCAN

    async def preview_for(self, actor_id: int, day: date | None) -> Preview:
        """Staff /outreach preview [day] (default: today): authorised, audited, no other writes."""
        shown = day or self._clock.now().date()
        arguments = f"preview {day.isoformat()}" if day else "preview"
        async with self._staff.act(actor_id, "outreach", arguments, Role.STAFF) as act:
            items = await self._preview(shown, act.tx)
            due = sum(1 for item in items if item.status == "due")
            act.result = f"preview {shown} due={due} total={len(items)}"
        return Preview(shown, items, due)

    async def preview(self, day: date) -> list[PlanItem]:
        """Dry run: everyone considered on `day`, per kind, due or skipped and why. No writes."""
        async with self._db.read() as tx:
            return await self._preview(day, tx)

    async def _preview(self, day: date, tx: aiosqlite.Connection) -> list[PlanItem]:
        pending = await self._birthdays(day, None, planning=False, tx=tx)
        # The last moment that is still `day` somewhere on Earth (UTC-12) is day+1 12:00 UTC.
        bound = iso(datetime.combine(day + timedelta(days=1), time(12), tzinfo=UTC))
        now = self._clock.now()
        for kind in ("checkin", "winback"):
            after = ("", 0)
            while batch := await self._due_batch(kind, bound, after, tx):
                for c in batch:
                    zone = zone_of(c.timezone, self._locale.zone)
                    if parse_iso(c.due or "").astimezone(zone).date() > day:
                        continue
                    start = local_moment(day, (0, 0), zone)
                    # An unplanned win-back is due when the planner next runs on `day`.
                    floor = now if start <= now < start + timedelta(days=1) else start
                    item = self._due_pending(c, kind, floor)
                    if item.due < start:
                        item.late, item.due = True, after_quiet_hours(start, zone, self._s)
                    pending.append(item)
                after = (batch[-1].due or "", batch[-1].customer_id)
        pending.sort(key=lambda p: (p.due, p.customer.customer_id, p.kind))
        simulated: dict[int, str] = {}
        items = []
        for p in pending:
            c = p.customer
            reason = None
            if c.existing_status not in (None, "queued"):
                reason = f"already_{c.existing_status}"
            elif p.due >= p.expires:
                reason = "missed" if p.late else "quiet_hours"
            else:
                last = simulated.get(c.customer_id)
                reason = refusal(c, p.kind, p.due, self._s, last_promo=last)
            if reason is None and p.kind in self._s.promotional:
                simulated[c.customer_id] = iso(p.due)
            items.append(
                PlanItem(
                    telegram_id=c.telegram_id,
                    customer_id=c.customer_id,
                    kind=p.kind,
                    occasion=p.occasion,
                    status="skipped" if reason else "due",
                    reason=reason,
                    stage=c.stage,
                    due_at=iso(p.due),
                    name=c.name,
                )
            )
        return items

    async def _birthdays(
        self,
        day: date,
        now: datetime | None,
        *,
        planning: bool,
        tx: aiosqlite.Connection | None = None,
    ) -> list[_Pending]:
        """Birthdays on local dates around `day` (planning) or on `day` itself (preview)."""
        days = range(-PLAN_AHEAD_DAYS, PLAN_AHEAD_DAYS + 1) if planning else (0,)
        found: list[_Pending] = []
        for offset in days:
            local = day + timedelta(days=offset)
            occasion = f"birthday:{local.year}"
            for month_day in month_days_on(local, self._s.feb29):
                after = 0
                while True:
                    async with self._reading(tx) as read:
                        batch = await repo.birthday_candidates(
                            read,
                            month_day,
                            occasion,
                            promotional=self._promotional,
                            after_id=after,
                            limit=self._s.batch_size,
                            unplanned_only=planning,
                        )
                    if not batch:
                        break
                    for c in batch:
                        zone = zone_of(c.timezone, self._locale.zone)
                        due = after_quiet_hours(
                            local_moment(local, self._s.birthday_at, zone), zone, self._s
                        )
                        expires = local_moment(local + timedelta(days=1), (0, 0), zone)
                        late = now is not None and now.astimezone(zone).date() > local
                        found.append(_Pending(c, "birthday", occasion, due, expires, late))
                    after = batch[-1].customer_id
        return found

    async def _due_batch(
        self,
        kind: str,
        until: str,
        after: tuple[str, int],
        tx: aiosqlite.Connection | None = None,
    ) -> list[Candidate]:
        async with self._reading(tx) as read:
            return await repo.due_candidates(
                read,
                kind,
                until,
                promotional=self._promotional,
                after=after,
                limit=self._s.batch_size,
            )

    @asynccontextmanager
    async def _reading(
        self, tx: aiosqlite.Connection | None
    ) -> AsyncIterator[aiosqlite.Connection]:
        """The caller's transaction, or a read of its own."""
        if tx is not None:
            yield tx
            return
        async with self._db.read() as read:
            yield read

    def _due_pending(self, c: Candidate, kind: str, floor: datetime) -> _Pending:
        """The occasion of a due check-in or win-back; an unplanned win-back is due no earlier
        than `floor` (the planning moment): a lapse that began long ago still gets one."""
        zone = zone_of(c.timezone, self._locale.zone)
        due = parse_iso(c.due or "")
        if kind == "checkin":
            occasion = f"checkin:{due.astimezone(zone).date().isoformat()}"
        else:
            occasion = f"winback:{(c.last_purchase_at or iso(due))[:10]}"
            due = max(due, floor)
        expires = due + timedelta(hours=self._s.grace(kind))
        return _Pending(c, kind, occasion, after_quiet_hours(due, zone, self._s), expires)

    async def _insert(self, batch: list[_Pending], now: datetime) -> Counter[str]:
        """Write a batch of occasions (queued, or missed when their window has passed) and
        clear the customers' check-in / win-back due moments, in one transaction."""
        counts: Counter[str] = Counter()
        new = []
        for p in batch:
            status, reason = "queued", None
            if p.late or now >= p.expires:
                status, reason = "missed", "downtime"
            elif p.due >= p.expires:
                status, reason = "missed", "quiet_hours"
            counts[f"{p.kind}_{status}"] += 1
            new.append(
                repo.NewOccasion(
                    p.customer.customer_id,
                    p.kind,
                    p.occasion,
                    status,
                    reason,
                    iso(p.due),
                    iso(p.expires),
                    p.customer.stage,
                )
            )
        async with self._db.transaction() as tx:
            added = await repo.insert_many(tx, new, iso(now))
            for kind in ("checkin", "winback"):
                ids = [p.customer.customer_id for p in batch if p.kind == kind]
                if ids:
                    await repo.clear_due(tx, kind, ids)
        if added < len(batch):
            counts["existing"] += len(batch) - added
        return counts

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
        self._birthdays_scanned = None  # plan it at the next run, even if it is today
        return birthday

    async def set_birthday_for(self, actor_id: int, reference: str, text: str) -> StaffBirthday:
        """Staff set a customer's birthday (the correction the once-a-year limit points to)."""
        async with self._staff.act(actor_id, "birthday", f"{reference} {text}", Role.STAFF) as act:
            customer = await resolve_in(act.tx, reference)
            zone = zone_of(customer.timezone, self._locale.zone)
            birthday = parse_birthday(text, self._clock.now().astimezone(zone).date())
            await customers_repo.set_birthday(act.tx, customer.id, birthday.stored())
            act.result = f"set {customer.id} {birthday.stored()}"
        self._birthdays_scanned = None
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
