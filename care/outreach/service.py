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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from care.clock import Clock, iso, parse_iso
from care.errors import InvalidArgument, NotAnswerable, NotRegistered
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
from care.settings import LocaleSettings, OutreachSettings
from storage import customers as customers_repo
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


@dataclass(frozen=True, slots=True)
class CheckinAnswer:
    """A recorded check-in answer (or the earlier one, if already answered)."""

    score: int
    ticket_number: int | None
    already: bool


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
        business_name: str = "",
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
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

    async def preview(self, day: date) -> list[PlanItem]:
        """Dry run: everyone considered on `day`, per kind, due or skipped and why. No writes."""
        pending = await self._birthdays(day, None, planning=False)
        # The last moment that is still `day` somewhere on Earth (UTC-12) is day+1 12:00 UTC.
        bound = iso(datetime.combine(day + timedelta(days=1), time(12), tzinfo=UTC))
        now = self._clock.now()
        for kind in ("checkin", "winback"):
            after = ("", 0)
            while batch := await self._due_batch(kind, bound, after):
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
        self, day: date, now: datetime | None, *, planning: bool
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
                    async with self._db.read() as tx:
                        batch = await repo.birthday_candidates(
                            tx,
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

    async def _due_batch(self, kind: str, until: str, after: tuple[str, int]) -> list[Candidate]:
        async with self._db.read() as tx:
            return await repo.due_candidates(
                tx,
                kind,
                until,
                promotional=self._promotional,
                after=after,
                limit=self._s.batch_size,
            )

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

    async def mute(self, telegram_id: int, outreach_id: int) -> str:
        """Stop the kind of message this outbox row was (per-kind opt-out); return the kind."""
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            row = await repo.load(tx, outreach_id, self._promotional)
            if customer is None or row is None or row.customer.customer_id != customer.id:
                raise NotAnswerable()
            await repo.set_optout(tx, customer.id, row.kind, iso(self._clock.now()))
        return row.kind

    async def set_birthday(self, telegram_id: int, text: str) -> Birthday:
        """Store the customer's birthday (day and month; year optional)."""
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            zone = zone_of(customer.timezone, self._locale.zone)
            birthday = parse_birthday(text, self._clock.now().astimezone(zone).date())
            await customers_repo.set_birthday(tx, customer.id, birthday.stored())
        self._birthdays_scanned = None  # plan it at the next run, even if it is today
        return birthday

    async def birthday_of(self, telegram_id: int) -> Birthday | None:
        """The customer's stored birthday."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
        if customer is None:
            raise NotRegistered(telegram_id)
        return stored_birthday(customer.birthday)

    # ------------------------------------------------------------------ staff

    async def stats(self, days: int = 30) -> dict[str, Counter[str]]:
        """Per kind: sent, skipped/failed/missed by reason, replies, won back; last `days`."""
        if days < 1:
            raise InvalidArgument("days", usage="usage.outreach")
        now = self._clock.now()
        async with self._db.read() as tx:
            rows = await repo.stats(tx, iso(now - timedelta(days=days)), iso(now))
        result: dict[str, Counter[str]] = {}
        for kind, measure, count in rows:
            result.setdefault(kind, Counter())[measure] += count
        return result
