"""Planning outreach: which occasions have come, written into the outbox once each.

Planning inserts one outbox row per (customer, kind, occasion): `birthday:<year>`,
`checkin:<local date>`, `winback:<date of the purchase the lapse followed>`,
`holiday:<name>:<year>`. The UNIQUE key makes
a second plan, a restart or a concurrent run harmless. Birthdays are planned up to two days ahead
(due at `birthday_time` on the customer's local birthday), holidays likewise for every customer
with a chat (at `holiday_time` on the day, or `holiday_eve_time` the evening before); check-ins
and win-backs when the customer's `next_checkin_at` / `winback_due_at` (kept by `care.stages`)
has come.

A win-back is owed once per lapse episode however long ago the lapse began: one that was never
planned is due at max(`winback_due_at`, now), so it is never born 'missed' (outreach switched on
for old customers, or a downtime longer than the grace). A row already planned that the sender
could not send within its grace is still recorded as missed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.outreach.rules import (
    after_quiet_hours,
    local_moment,
    month_days_on,
    refusal,
    zone_of,
)
from care.settings import LocaleSettings, OutreachSettings
from storage import outreach as repo
from storage.db import Database
from storage.outreach import Candidate

log = logging.getLogger(__name__)
PLAN_AHEAD_DAYS = 2
BIRTHDAY_RESCAN = timedelta(hours=1)


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


@dataclass
class _Pending:
    customer: Candidate
    kind: str
    occasion: str
    due: datetime
    expires: datetime
    late: bool = False


class OutreachPlanner:
    """Finds the occasions that have come and writes them into the outbox; previews a day."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: OutreachSettings,
        locale: LocaleSettings,
        promotional: str,
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
        self._locale, self._promotional = locale, promotional
        self._birthdays_scanned: tuple[date, datetime] | None = None
        self._calendar = settings.holiday_calendar()

    def rescan_birthdays(self) -> None:
        """A birthday changed: scan birthdays at the next plan, even if it is the same day."""
        self._birthdays_scanned = None

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
        async for holidays in self._holidays(now.date(), now, planning=True):
            counts.update(await self._insert(holidays, now))
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

    async def preview(self, day: date, tx: aiosqlite.Connection) -> list[PlanItem]:
        """Dry run in the caller's transaction: everyone considered on `day`, per kind, due or
        skipped and why. No writes."""
        pending = await self._birthdays(day, None, planning=False, tx=tx)
        async for holidays in self._holidays(day, None, planning=False, tx=tx):
            pending += holidays
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

    async def _holidays(
        self,
        day: date,
        now: datetime | None,
        *,
        planning: bool,
        tx: aiosqlite.Connection | None = None,
    ) -> AsyncIterator[list[_Pending]]:
        """Every customer's greetings for the holidays greeted on local dates around `day`
        (planning: not yet planned, and not already over) or on `day` itself (preview), one
        batch of customers at a time (a holiday concerns everyone: never all in memory)."""
        days = range(-PLAN_AHEAD_DAYS, PLAN_AHEAD_DAYS + 1) if planning else (0,)
        for offset in days:
            local = day + timedelta(days=offset)
            for holiday in self._calendar.greeted_on(local):
                at = self._s.holiday_eve_at if holiday.eve else self._s.holiday_at
                after = 0
                while True:
                    async with self._reading(tx) as read:
                        batch = await repo.holiday_candidates(
                            read,
                            holiday.occasion,
                            promotional=self._promotional,
                            after_id=after,
                            limit=self._s.batch_size,
                            unplanned_only=planning,
                        )
                    if not batch:
                        break
                    found = []
                    for c in batch:
                        zone = zone_of(c.timezone, self._locale.zone)
                        due = after_quiet_hours(local_moment(local, at, zone), zone, self._s)
                        expires = local_moment(holiday.day + timedelta(days=1), (0, 0), zone)
                        if now is not None and now >= expires:
                            continue  # joined after it, or planned for the first time too late
                        found.append(_Pending(c, "holiday", holiday.occasion, due, expires))
                    after = batch[-1].customer_id
                    yield found

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
