"""Loyalty points: earn, redeem and adjust on the append-only ledger; tiers; the views."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.errors import (
    DuplicateReference,
    InsufficientPoints,
    InvalidAmount,
    InvalidArgument,
    NotRegistered,
    UnknownCustomer,
)
from care.loyalty.expiry import ExpiryRun, PointsExpiry, expire_customer
from care.ports import (
    CustomerChanged,
    Label,
    Messenger,
    OutboundMessage,
    SendStatus,
    ignore_change,
)
from care.settings import LocaleSettings, LoyaltySettings, TierSettings
from care.loyalty.units import (
    MAX_AMOUNT_CENTS,
    add_months,
    customer_zone,
    day_start,
    format_money,
    local_date,
)
from storage import customers as customers_repo
from storage import points as points_repo
from storage.customer_admin import open_ticket_count
from storage.customers import CustomerRow
from storage.db import Database
from storage.errors import DuplicateKey
from storage.points import LedgerEntry

log = logging.getLogger(__name__)

TIER_WINDOW_MONTHS = 12
HISTORY_PAGE_SIZE = 8
RECENT_MOVEMENTS = 5
EXPIRING_SOON = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Standing:
    """Balance and tier: what a customer and the counter want to know first."""

    balance: int
    earned_12m: int
    tier: str
    next_tier: str | None
    missing: int  # points to earn for the next tier (0 at the top)


@dataclass(frozen=True, slots=True)
class Movement:
    """A ledger entry ready to show: the local date instead of a timestamp."""

    delta: int
    kind: str
    reason: str | None
    reference: str
    local_date: str


@dataclass(frozen=True, slots=True)
class PointsSummary:
    """What /points shows."""

    customer: CustomerRow
    standing: Standing
    expiring: int
    expiring_on: str | None
    recent: list[Movement]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of /history, newest first."""

    movements: list[Movement]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class EarnResult:
    """The outcome of an earn."""

    customer: CustomerRow
    points: int
    amount_cents: int
    balance: int
    tier: str
    promoted: bool
    capped: bool
    reference: str
    announced: bool = False  # the customer was told about the promotion


@dataclass(frozen=True, slots=True)
class PointsChange:
    """The outcome of a redemption or adjustment."""

    customer: CustomerRow
    delta: int
    balance: int
    already_applied: bool


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """What staff see with /customer."""

    customer: CustomerRow
    standing: Standing
    open_tickets: int


@dataclass(frozen=True, slots=True)
class EarnRequest:
    """One earn of a batch."""

    customer_id: int
    amount_cents: int
    reference: str
    staff_id: int | None = None
    reason: str | None = None


class LoyaltyService:
    """Earn, redeem and adjust points; tiers; expiry and its warnings."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: LoyaltySettings,
        locale: LocaleSettings,
        messenger: Messenger,
        on_change: CustomerChanged = ignore_change,
    ) -> None:
        self._db, self._clock, self._settings = db, clock, settings
        self._locale, self._messenger, self._on_change = locale, messenger, on_change
        self._expiry = PointsExpiry(db, clock, settings, locale, messenger)

    # ---------------------------------------------------------------- tiers and points

    def tier_for(self, earned_12m: int) -> TierSettings:
        """The highest tier whose threshold the points earned in 12 months reach."""
        reached = [tier for tier in self._settings.tiers if tier.threshold <= earned_12m]
        return reached[-1]

    def points_for(self, amount_cents: int, tier: TierSettings) -> int:
        """Points for a purchase: amount × points_per_unit × tier multiplier, rounded down."""
        rate = Decimal(str(self._settings.points_per_unit)) * Decimal(str(tier.multiplier))
        points = (Decimal(amount_cents) * rate / 100).to_integral_value(rounding=ROUND_FLOOR)
        return int(points)

    def _standing(self, balance: int, earned: int) -> Standing:
        tier = self.tier_for(earned)
        above = [t for t in self._settings.tiers if t.threshold > earned]
        nxt = above[0] if above else None
        return Standing(
            balance=balance,
            earned_12m=earned,
            tier=tier.name,
            next_tier=nxt.name if nxt else None,
            missing=nxt.threshold - earned if nxt else 0,
        )

    async def _read_standing(self, tx: aiosqlite.Connection, customer_id: int) -> Standing:
        since = iso(add_months(self._clock.now(), -TIER_WINDOW_MONTHS))
        balance, earned = await points_repo.balance_and_earned(tx, customer_id, since)
        return self._standing(balance, earned)

    async def tier_name(self, customer_id: int) -> str:
        """The customer's current tier name."""
        return (await self.standing(customer_id)).tier

    async def standing(self, customer_id: int) -> Standing:
        """Balance and tier of one customer (one indexed read, one statement)."""
        async with self._db.statement() as conn:
            return await self._read_standing(conn, customer_id)

    # ---------------------------------------------------------------- writes

    async def earn(
        self,
        customer_id: int,
        amount_cents: int,
        reference: str,
        *,
        staff_id: int | None = None,
        reason: str | None = None,
    ) -> EarnResult:
        """Record a purchase and its points once per reference; announce a promotion."""
        request = EarnRequest(customer_id, amount_cents, reference, staff_id, reason)
        async with self._db.transaction() as tx:
            result = await self._earn(tx, request)
        if result.promoted:
            announced = await self._announce_tier(result.customer, result.tier)
            result = dataclasses.replace(result, announced=announced)
        await self._on_change(result.customer.id)
        return result

    async def earn_many(self, requests: list[EarnRequest]) -> list[EarnResult]:
        """Several earns in one transaction: all are recorded, or none (e.g. a duplicate)."""
        async with self._db.transaction() as tx:
            results = [await self._earn(tx, request) for request in requests]
        for result in results:
            if result.promoted:
                await self._announce_tier(result.customer, result.tier)
        for customer_id in sorted({result.customer.id for result in results}):
            await self._on_change(customer_id)
        return results

    async def _earn(self, tx: aiosqlite.Connection, request: EarnRequest) -> EarnResult:
        if not 0 < request.amount_cents <= MAX_AMOUNT_CENTS:
            raise InvalidAmount(format_money(request.amount_cents), "too_large")
        now = self._clock.now()
        customer = await self._customer(tx, request.customer_id)
        # No look-up first: UNIQUE (customer_id, reference) refuses a repeat at the insert.
        await expire_customer(tx, customer.id, now, self._settings.expiry_months)
        since = iso(add_months(now, -TIER_WINDOW_MONTHS))
        balance, earned = await points_repo.balance_and_earned(tx, customer.id, since)
        before = self.tier_for(earned)
        points = self.points_for(request.amount_cents, before)
        capped = False
        if self._settings.daily_cap is not None:
            today = await points_repo.earned_since(
                tx,
                customer.id,
                day_start(self._clock.now(), customer_zone(customer, self._locale)),
            )
            room = max(0, self._settings.daily_cap - today)
            capped, points = points > room, min(points, room)
        try:
            await points_repo.append(
                tx,
                customer.id,
                points,
                "earn",
                request.reference,
                iso(now),
                reason=request.reason,
                staff_id=request.staff_id,
            )
        except DuplicateKey:
            raise DuplicateReference(request.reference, balance) from None
        await points_repo.add_purchase(
            tx, customer.id, request.amount_cents, request.reference, iso(now)
        )
        after = self.tier_for(earned + points)
        return EarnResult(
            customer=customer,
            points=points,
            amount_cents=request.amount_cents,
            balance=balance + points,
            tier=after.name,
            promoted=after.threshold > before.threshold,
            capped=capped,
            reference=request.reference,
        )

    async def redeem(
        self,
        customer_id: int,
        points: int,
        reference: str,
        *,
        staff_id: int | None = None,
        reason: str | None = None,
    ) -> PointsChange:
        """Spend points once per reference; nothing is written if the balance would go negative."""
        if points <= 0:
            raise InvalidAmount(str(points), "zero" if points == 0 else "negative")
        return await self._take_or_give(
            customer_id, -points, "redeem", reference, staff_id, reason
        )

    async def adjust(
        self, customer_id: int, delta: int, reason: str, reference: str, *, staff_id: int
    ) -> PointsChange:
        """Correct a balance by hand (owners): a reason is required; never below zero."""
        if not reason.strip():
            raise InvalidArgument("adjust needs a reason", usage="usage.adjust")
        if delta == 0:
            raise InvalidAmount("0", "zero")
        return await self._take_or_give(customer_id, delta, "adjust", reference, staff_id, reason)

    async def _take_or_give(
        self,
        customer_id: int,
        delta: int,
        kind: str,
        reference: str,
        staff_id: int | None,
        reason: str | None,
    ) -> PointsChange:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            customer = await self._customer(tx, customer_id)
            if await points_repo.find_by_reference(tx, customer.id, reference):
                balance = await points_repo.balance(tx, customer.id)
                return PointsChange(customer, delta, balance, already_applied=True)
            await expire_customer(tx, customer.id, now, self._settings.expiry_months)
            balance = await points_repo.balance(tx, customer.id)
            if balance + delta < 0:
                raise InsufficientPoints(balance=balance, requested=-delta)
            await points_repo.append(
                tx, customer.id, delta, kind, reference, iso(now), reason=reason, staff_id=staff_id
            )
        return PointsChange(customer, delta, balance + delta, already_applied=False)

    async def expire_due(self) -> ExpiryRun:
        """Expire old points and warn customers ahead (the expiry job calls this)."""
        return await self._expiry.expire_due()

    # ---------------------------------------------------------------- reads

    async def summary_for(self, telegram_id: int) -> PointsSummary:
        """Balance, tier, what expires soon and the last movements of a Telegram customer."""
        now = self._clock.now()
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            standing = await self._read_standing(tx, customer.id)
            entries = await points_repo.list_entries(tx, customer.id, limit=RECENT_MOVEMENTS)
            expiring, expiring_on = 0, None
            months = self._settings.expiry_months
            if months is not None:
                until = iso(add_months(now + EXPIRING_SOON, -months))
                added, spent = await points_repo.positive_and_spent(tx, customer.id, until)
                expiring = max(0, added - spent)
                if expiring:
                    oldest = await points_repo.oldest_unspent_lot(tx, customer.id, spent)
                    if oldest is not None:
                        expires = add_months(parse_iso(oldest), months)
                        expiring_on = self._local_date(customer, expires)
        recent = [self._movement(customer, entry) for entry in entries]
        return PointsSummary(customer, standing, expiring, expiring_on, recent)

    async def history_for(self, telegram_id: int, page: int) -> HistoryPage:
        """One page of a Telegram customer's movements (page 0 is the newest)."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            total = await points_repo.count_entries(tx, customer.id)
            pages = max(1, math.ceil(total / HISTORY_PAGE_SIZE))
            page = min(max(page, 0), pages - 1)
            entries = await points_repo.list_entries(
                tx, customer.id, limit=HISTORY_PAGE_SIZE, offset=page * HISTORY_PAGE_SIZE
            )
        movements = [self._movement(customer, entry) for entry in entries]
        return HistoryPage(movements, page, pages, total)

    async def card(self, customer_id: int) -> CustomerCard:
        """The staff view of a customer."""
        async with self._db.read() as tx:
            customer = await self._customer(tx, customer_id)
            standing = await self._read_standing(tx, customer.id)
            tickets = await open_ticket_count(tx, customer.id)
        return CustomerCard(customer, standing, tickets)

    # ---------------------------------------------------------------- expiry

    # ---------------------------------------------------------------- helpers

    async def _announce_tier(self, customer: CustomerRow, tier: str) -> bool:
        """Tell the customer about a promotion; False if they can't or don't want to hear."""
        if customer.telegram_id is None or not customer.reachable or customer.opted_out:
            return False
        sent = await self._messenger.send(
            OutboundMessage(customer.telegram_id, "loyalty.promoted", customer.language,
                            {"tier": Label(f"loyalty.tier.{tier}", tier)})
        )  # fmt: skip
        log.info("tier promotion customer=%s tier=%s status=%s", customer.id, tier, sent.status)
        if sent.status in (SendStatus.BLOCKED, SendStatus.NOT_FOUND):
            async with self._db.transaction() as tx:
                await customers_repo.set_reachable(tx, customer.id, False)
        return sent.status is SendStatus.SENT

    @staticmethod
    async def _customer(tx: aiosqlite.Connection, customer_id: int) -> CustomerRow:
        customer = await customers_repo.find_by_id(tx, customer_id)
        if customer is None or customer.forgotten_at is not None:
            raise UnknownCustomer(str(customer_id))
        return customer

    def _local_date(self, customer: CustomerRow, moment: datetime) -> str:
        return local_date(moment, customer_zone(customer, self._locale))

    def _movement(self, customer: CustomerRow, entry: LedgerEntry) -> Movement:
        at = parse_iso(entry.created_at)
        return Movement(
            entry.delta, entry.kind, entry.reason, entry.reference, self._local_date(customer, at)
        )
