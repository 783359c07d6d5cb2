"""Loyalty use cases: earn, redeem, adjust and void on the append-only ledger; the views.

Every use case is one method and one transaction: the staff member's role is checked and their
audit row written (`StaffService.act`), the customer resolved, the ledger written, the stage
refreshed (`StageService.refresh_in`) and any message for the customer queued in the outbox,
all committed together or not at all. The handler renders the result it returns.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.customers import find_customer
from care.errors import (
    DuplicateReference,
    ExpiredButton,
    InsufficientPoints,
    InvalidAmount,
    InvalidArgument,
    NotRegistered,
    UnknownCustomer,
)
from care.loyalty.errors import CannotVoid, ReceiptTaken, UnknownEntry, VoidOverdraw
from care.loyalty.expiry import (
    ExpiryRun,
    expire_all,
    expire_customer,
    queue_warnings,
    warning_hooks,
)
from care.loyalty.tiers import (
    MIN_USUAL,
    TIER_WINDOW_MONTHS,
    Standing,
    confirmation_threshold,
    median,
    points_for,
    standing,
    tier_for,
)
from care.loyalty.units import (
    MAX_AMOUNT_CENTS,
    add_months,
    customer_zone,
    day_start,
    format_money,
    local_date,
    parse_amount,
    parse_points,
)
from care.outbox import Outbox
from care.phones import region_for
from care.ports import Label, OutboundMessage
from care.roles import Role
from care.settings import LocaleSettings, LoyaltySettings
from care.staff import StaffService
from care.stages.service import StageService
from care.stages.status import CustomerStatus, StatusService
from storage import customers as customers_repo
from storage import points as points_repo
from storage.customer_admin import open_ticket_count
from storage.customers import CustomerRow
from storage.db import Database, Reads
from storage.errors import DuplicateKey
from storage.points import LedgerEntry

__all__ = [
    "CustomerCard",
    "EarnConfirmation",
    "EarnRequest",
    "EarnResult",
    "HistoryPage",
    "LoyaltyService",
    "Movement",
    "PointsChange",
    "PointsSummary",
    "VoidResult",
]

log = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 8
RECENT_MOVEMENTS = 5
EXPIRING_SOON = timedelta(days=30)
USUAL_WINDOW = 20  # the customer's last purchases that say what is usual for them
SHOP_WINDOW = 200  # the shop's last purchases, for a customer with too few of their own
CONFIRM_WITHIN = timedelta(minutes=15)  # a confirmation button expires after this
PROMOTED = "loyalty.promoted"
REPLY = "loyalty.reply"
MAX_ENTRY_ID = 2**53


@dataclass(frozen=True, slots=True)
class Movement:
    """A ledger entry ready to show: its number, the local date instead of a timestamp."""

    delta: int
    kind: str
    reason: str | None
    reference: str
    local_date: str
    entry_id: int = 0
    voided: bool = False  # a later entry cancelled this one
    voids: int | None = None  # this entry cancels that one


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
    entry_id: int = 0
    announced: bool = False  # a promotion notice is queued for a customer who can get it
    already_applied: bool = False  # the same message was handled before: nothing changed


@dataclass(frozen=True, slots=True)
class EarnConfirmation:
    """An earn far above the customer's usual, waiting for the staff member to confirm it."""

    customer: CustomerRow
    amount_cents: int
    usual_cents: int
    confirmation_id: int
    cancelled: bool = False  # asked before and cancelled: nothing happens


EarnOutcome = EarnResult | EarnConfirmation


@dataclass(frozen=True, slots=True)
class PointsChange:
    """The outcome of a redemption or adjustment."""

    customer: CustomerRow
    delta: int
    balance: int
    already_applied: bool
    entry_id: int = 0


@dataclass(frozen=True, slots=True)
class VoidResult:
    """The outcome of voiding one ledger entry."""

    customer: CustomerRow
    entry: LedgerEntry
    reversal_id: int
    balance: int
    tier: str
    stage: str


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """What staff see with /customer."""

    customer: CustomerRow
    standing: Standing
    open_tickets: int
    recent: list[Movement]
    recency: CustomerStatus | None = None


@dataclass(frozen=True, slots=True)
class EarnRequest:
    """One earn of a batch."""

    customer_id: int
    amount_cents: int
    reference: str
    staff_id: int | None = None
    reason: str | None = None
    receipt: str | None = None


def normal_receipt(text: str) -> str:
    """A receipt reference as stored: R-77 and r-77 are one receipt."""
    return text.strip().upper()


class LoyaltyService:
    """Earn, redeem, adjust and void points; tiers; expiry and its warnings."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: LoyaltySettings,
        locale: LocaleSettings,
        *,
        staff: StaffService,
        stages: StageService,
        outbox: Outbox,
        status: StatusService | None = None,
    ) -> None:
        self._db, self._clock, self._settings, self._locale = db, clock, settings, locale
        self._staff, self._stages, self._outbox = staff, stages, outbox
        self._status = status
        self._region = region_for(locale)
        warning_hooks(outbox, clock.now)

    # ---------------------------------------------------------------- reads

    async def tier_name_in(self, tx: aiosqlite.Connection, customer_id: int) -> str:
        """The customer's current tier name, read in the caller's transaction."""
        return (await self._read_standing(tx, customer_id)).tier

    async def standing(self, customer_id: int) -> Standing:
        """Balance and tier of one customer (one indexed read, one statement)."""
        async with self._db.statement() as conn:
            return await self._read_standing(conn, customer_id)

    async def summary_for(self, telegram_id: int) -> PointsSummary:
        """Balance, tier, what expires soon and the last movements of a Telegram customer."""
        now = self._clock.now()
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            standing_ = await self._read_standing(tx, customer.id)
            recent = await self._movements(tx, customer, limit=RECENT_MOVEMENTS)
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
        return PointsSummary(customer, standing_, expiring, expiring_on, recent)

    async def history_for(self, telegram_id: int, page: int) -> HistoryPage:
        """One page of a Telegram customer's movements (page 0 is the newest); a page that
        does not exist (a forged button) is an ExpiredButton."""
        async with self._db.read() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            total = await points_repo.count_entries(tx, customer.id)
            pages = max(1, math.ceil(total / HISTORY_PAGE_SIZE))
            if not 0 <= page < pages:
                raise ExpiredButton()
            movements = await self._movements(
                tx, customer, limit=HISTORY_PAGE_SIZE, offset=page * HISTORY_PAGE_SIZE
            )
        return HistoryPage(movements, page, pages, total)

    # ---------------------------------------------------------------- staff use cases

    async def earn_by_staff(
        self,
        actor_id: int,
        customer_ref: str,
        amount: str,
        receipt: str | None,
        reason: str | None,
        message_ref: str,
    ) -> EarnOutcome:
        """/earn: points for a purchase, once per receipt in the shop (without a receipt, once
        per Telegram message); an amount far above the customer's usual asks first."""
        arguments = " ".join(part for part in (customer_ref, amount, receipt, reason) if part)
        async with self._staff.act(actor_id, "earn", arguments, Role.STAFF) as act:
            if not customer_ref or not amount:
                raise InvalidArgument("earn arguments", usage="usage.earn")
            cents = parse_amount(amount)
            customer = await find_customer(act.tx, customer_ref, self._region)
            request = EarnRequest(
                customer.id, cents, normal_receipt(receipt) if receipt else message_ref,
                actor_id, reason, normal_receipt(receipt) if receipt else None,
            )  # fmt: skip
            repeat = await self._repeat(act.tx, customer, request)
            if repeat is not None:
                act.result = f"already applied ref {request.reference}"
                return repeat
            ask = await self._ask_first(act.tx, customer, request, message_ref)
            if ask is not None:
                act.result = f"confirmation #{ask.confirmation_id} asked customer {customer.id}"
                return ask
            result = await self._record_earn(act.tx, customer, request)
            act.result = self._earn_audit(result)
            return result

    async def confirm_earn(self, actor_id: int, confirmation_id: int) -> EarnResult | None:
        """The 'yes' button of a big earn: only the one who asked, still staff, within 15
        minutes; None if it was answered before (a second tap)."""
        async with self._staff.act(
            actor_id, "earn", f"confirm #{confirmation_id}", Role.STAFF
        ) as act:
            pending = await self._pending(act.tx, actor_id, confirmation_id)
            if pending is None:
                act.result = "confirmation already answered"
                return None
            customer = await self._customer(act.tx, pending.customer_id)
            await points_repo.settle_confirmation(act.tx, pending.id, "confirmed")
            request = EarnRequest(
                customer.id, pending.amount_cents, pending.receipt or pending.reference,
                actor_id, pending.reason, pending.receipt,
            )  # fmt: skip
            repeat = await self._repeat(act.tx, customer, request)
            if repeat is not None:
                act.result = f"already applied ref {request.reference}"
                return repeat
            result = await self._record_earn(act.tx, customer, request)
            act.result = f"confirmed #{pending.id}: " + self._earn_audit(result)
            return result

    async def cancel_earn(self, actor_id: int, confirmation_id: int) -> bool:
        """The 'cancel' button of a big earn; False if it was answered before."""
        async with self._staff.act(
            actor_id, "earn", f"cancel #{confirmation_id}", Role.STAFF
        ) as act:
            pending = await self._pending(act.tx, actor_id, confirmation_id)
            if pending is None:
                act.result = "confirmation already answered"
                return False
            await points_repo.settle_confirmation(act.tx, pending.id, "cancelled")
            act.result = f"cancelled #{pending.id}"
            return True

    async def redeem_by_staff(
        self, actor_id: int, customer_ref: str, points: str, reason: str | None, message_ref: str
    ) -> PointsChange:
        """/redeem: spend points once per message; never below zero."""
        arguments = " ".join(part for part in (customer_ref, points, reason) if part)
        async with self._staff.act(actor_id, "redeem", arguments, Role.STAFF) as act:
            if not customer_ref or not points:
                raise InvalidArgument("redeem arguments", usage="usage.redeem")
            amount = parse_points(points)
            customer = await find_customer(act.tx, customer_ref, self._region)
            change = await self._change(
                act.tx, customer, -amount, "redeem", message_ref, actor_id, reason
            )
            act.result = f"customer {customer.id} -{amount} balance {change.balance}"
            return change

    async def adjust_by_staff(
        self, actor_id: int, customer_ref: str, delta: str, reason: str, message_ref: str
    ) -> PointsChange:
        """/adjust (owners): correct a balance, with a reason; never below zero."""
        arguments = " ".join(part for part in (customer_ref, delta, reason) if part)
        async with self._staff.act(actor_id, "adjust", arguments, Role.OWNER) as act:
            if not customer_ref or not delta or not reason.strip():
                raise InvalidArgument("adjust arguments", usage="usage.adjust")
            points = parse_points(delta, signed=True)
            customer = await find_customer(act.tx, customer_ref, self._region)
            change = await self._change(
                act.tx, customer, points, "adjust", message_ref, actor_id, reason
            )
            act.result = f"customer {customer.id} {points:+d} balance {change.balance}"
            return change

    async def void_by_staff(self, actor_id: int, entry: str, reason: str | None) -> VoidResult:
        """/void (managers and owners): cancel one ledger entry and what it moved (balance,
        tier, lifetime points, purchases, stage)."""
        arguments = " ".join(part for part in (entry, reason) if part)
        async with self._staff.act(actor_id, "void", arguments, Role.MANAGER) as act:
            number = entry.strip().lstrip("#")
            if not (number.isascii() and number.isdecimal() and 0 < int(number) <= MAX_ENTRY_ID):
                raise InvalidArgument(f"not an entry number: {entry}", usage="usage.void")
            result = await self._void(act.tx, int(number), actor_id, reason)
            act.result = (
                f"voided #{result.entry.id} ({result.entry.delta:+d}) customer"
                f" {result.customer.id} balance {result.balance} entry #{result.reversal_id}"
            )
            return result

    async def card_by_staff(self, actor_id: int, customer_ref: str) -> CustomerCard:
        """/customer: the staff view of a customer, with entry numbers for /void."""
        async with self._staff.act(actor_id, "customer", customer_ref, Role.STAFF) as act:
            if not customer_ref.strip():
                raise InvalidArgument("customer argument", usage="usage.customer")
            customer = await find_customer(act.tx, customer_ref, self._region)
            act.result = f"shown customer {customer.id}"
            return await self._card(act.tx, customer)

    async def queue_reply(
        self, chat_id: int, reply_to: int | None, lang: str, text: str, key: str
    ) -> None:
        """Queue a staff reply that could not be sent (the change it confirms is committed)."""
        message = OutboundMessage(
            chat_id, REPLY, lang, {"text": text}, reply_to_message_id=reply_to
        )
        async with self._db.transaction() as tx:
            await self._outbox.add(tx, message, kind=REPLY, dedupe_key=f"{REPLY}:{key}")

    # ---------------------------------------------------------------- other writes

    async def earn(
        self,
        customer_id: int,
        amount_cents: int,
        reference: str,
        *,
        staff_id: int | None = None,
        reason: str | None = None,
        receipt: str | None = None,
    ) -> EarnResult:
        """Record a purchase and its points once per reference (a receipt once per shop)."""
        request = EarnRequest(customer_id, amount_cents, reference, staff_id, reason, receipt)
        async with self._db.transaction() as tx:
            customer = await self._customer(tx, customer_id)
            repeat = await self._repeat(tx, customer, request)
            if repeat is not None:
                raise DuplicateReference(reference, repeat.balance)
            return await self._record_earn(tx, customer, request)

    async def earn_many(self, requests: list[EarnRequest]) -> list[EarnResult]:
        """Several earns in one transaction: all are recorded, or none (e.g. a duplicate)."""
        async with self._db.transaction() as tx:
            results = []
            for request in requests:
                customer = await self._customer(tx, request.customer_id)
                try:
                    results.append(await self._record_earn(tx, customer, request))
                except DuplicateKey:
                    balance = await points_repo.balance(tx, customer.id)
                    raise DuplicateReference(request.reference, balance) from None
            return results

    async def expire_due(self) -> ExpiryRun:
        """Expire old points and queue the warnings, in one transaction (the hourly job)."""
        months = self._settings.expiry_months
        if months is None:
            return ExpiryRun(0, 0, 0)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            customers, points = await expire_all(tx, now, months)
            warned = await queue_warnings(tx, self._outbox, now, self._settings, self._locale)
        log.info("points expired customers=%s points=%s warned=%s", customers, points, warned)
        return ExpiryRun(customers, points, warned)

    # ---------------------------------------------------------------- inside a transaction

    async def grant_bonus_in(
        self, tx: aiosqlite.Connection, customer_id: int, points: int, reference: str, reason: str
    ) -> int:
        """A bonus inside the caller's transaction (a holiday greeting's), once per reference:
        the points granted now, or those an earlier grant with this reference gave."""
        earlier = await points_repo.find_by_reference(tx, customer_id, reference)
        if earlier is not None:
            return earlier.delta
        if points <= 0:
            return 0
        customer = await customers_repo.get(tx, customer_id)
        await self._change(tx, customer, points, "bonus", reference, None, reason)
        return points

    async def _repeat(
        self, tx: aiosqlite.Connection, customer: CustomerRow, request: EarnRequest
    ) -> EarnResult | None:
        """The earn this request repeats (a redelivered message), else None; a receipt counted
        before is refused (DuplicateReference for this customer, ReceiptTaken for another)."""
        if request.receipt is not None:
            holder = await points_repo.find_by_receipt(tx, request.receipt)
            if holder is not None and holder.customer_id != customer.id:
                other = await customers_repo.find_by_id(tx, holder.customer_id)
                raise ReceiptTaken(request.receipt, other.member_code if other else "–")
            if holder is not None:
                raise DuplicateReference(
                    request.receipt, await points_repo.balance(tx, customer.id)
                )
        earlier = await points_repo.find_by_reference(tx, customer.id, request.reference)
        if earlier is None:
            return None
        standing_ = await self._read_standing(tx, customer.id)
        if request.receipt is not None or earlier.kind != "earn":
            raise DuplicateReference(request.reference, standing_.balance)
        return EarnResult(
            customer=customer,
            points=earlier.delta,
            amount_cents=request.amount_cents,
            balance=standing_.balance,
            tier=standing_.tier,
            promoted=False,
            capped=False,
            reference=request.reference,
            entry_id=earlier.id,
            already_applied=True,
        )

    async def _ask_first(
        self,
        tx: aiosqlite.Connection,
        customer: CustomerRow,
        request: EarnRequest,
        message_ref: str,
    ) -> EarnConfirmation | None:
        usual = await points_repo.recent_earn_amounts(tx, customer.id, USUAL_WINDOW)
        if len(usual) < MIN_USUAL:
            usual = await points_repo.recent_earn_amounts(tx, None, SHOP_WINDOW)
        threshold = confirmation_threshold(self._settings, usual)
        if threshold is None or request.amount_cents <= threshold:
            return None
        assert request.staff_id is not None
        pending = await points_repo.add_confirmation(
            tx,
            actor_id=request.staff_id,
            customer_id=customer.id,
            amount_cents=request.amount_cents,
            receipt=request.receipt,
            reference=message_ref,
            reason=request.reason,
            at=iso(self._clock.now()),
        )
        cancelled = pending.status == "cancelled"
        usual_cents = median(usual)
        return EarnConfirmation(customer, request.amount_cents, usual_cents, pending.id, cancelled)

    async def _pending(
        self, tx: aiosqlite.Connection, actor_id: int, confirmation_id: int
    ) -> points_repo.ConfirmationRow | None:
        pending = await points_repo.find_confirmation(tx, confirmation_id)
        if pending is None or pending.actor_id != actor_id:
            raise ExpiredButton()
        if pending.status != "pending":
            return None
        if self._clock.now() - parse_iso(pending.created_at) > CONFIRM_WITHIN:
            raise ExpiredButton()
        return pending

    async def earn_past_in(
        self, tx: aiosqlite.Connection, customer: CustomerRow, request: EarnRequest, at: datetime
    ) -> int:
        """A purchase made at `at` (an import), with the points a live earn at that moment
        would have given (the same tier, cap and rounding), inside the caller's transaction;
        no promotion notice for the past and no stage refresh (the caller refreshes once)."""
        result = await self._record_earn(tx, customer, request, at=at, live=False)
        return result.points

    async def _record_earn(
        self,
        tx: aiosqlite.Connection,
        customer: CustomerRow,
        request: EarnRequest,
        *,
        at: datetime | None = None,
        live: bool = True,
    ) -> EarnResult:
        if not 0 < request.amount_cents <= MAX_AMOUNT_CENTS:
            raise InvalidAmount(format_money(request.amount_cents), "too_large")
        now = at or self._clock.now()
        await expire_customer(tx, customer.id, now, self._settings.expiry_months)
        since, until = iso(add_months(now, -TIER_WINDOW_MONTHS)), iso(now)
        balance, earned = await points_repo.balance_and_earned(tx, customer.id, since, until)
        before = tier_for(self._settings, earned)
        points = points_for(self._settings, request.amount_cents, before)
        capped = False
        if self._settings.daily_cap is not None:
            start = day_start(now, customer_zone(customer, self._locale))
            today = await points_repo.earned_since(tx, customer.id, start, until)
            room = max(0, self._settings.daily_cap - today)
            capped, points = points > room, min(points, room)
        entry_id = await points_repo.append(
            tx, customer.id, points, "earn", request.reference, iso(now),
            reason=request.reason, staff_id=request.staff_id, receipt=request.receipt,
        )  # fmt: skip
        await points_repo.add_purchase(
            tx, customer.id, request.amount_cents, request.reference, iso(now)
        )
        after = tier_for(self._settings, earned + points)
        promoted = after.threshold > before.threshold
        announced = False
        if live and promoted and customer.telegram_id is not None:
            notice = OutboundMessage(
                customer.telegram_id, PROMOTED, customer.language,
                {"tier": Label(f"loyalty.tier.{after.name}", after.name)},
            )  # fmt: skip
            await self._outbox.add(
                tx, notice, kind=PROMOTED, customer_id=customer.id, ref=entry_id,
                dedupe_key=f"{PROMOTED}:{entry_id}", promotional=True,
            )  # fmt: skip
            announced = customer.reachable and not customer.opted_out
        if live:
            await self._stages.refresh_in(tx, customer.id)
        return EarnResult(
            customer=customer,
            points=points,
            amount_cents=request.amount_cents,
            balance=balance + points,
            tier=after.name,
            promoted=promoted,
            capped=capped,
            reference=request.reference,
            entry_id=entry_id,
            announced=announced,
        )

    async def _change(
        self,
        tx: aiosqlite.Connection,
        customer: CustomerRow,
        delta: int,
        kind: str,
        reference: str,
        staff_id: int | None,
        reason: str | None,
    ) -> PointsChange:
        if delta == 0:
            raise InvalidAmount("0", "zero")
        if await points_repo.find_by_reference(tx, customer.id, reference):
            balance = await points_repo.balance(tx, customer.id)
            return PointsChange(customer, delta, balance, already_applied=True)
        now = self._clock.now()
        await expire_customer(tx, customer.id, now, self._settings.expiry_months)
        balance = await points_repo.balance(tx, customer.id)
        if balance + delta < 0:
            raise InsufficientPoints(balance=balance, requested=-delta)
        entry_id = await points_repo.append(
            tx, customer.id, delta, kind, reference, iso(now), reason=reason, staff_id=staff_id
        )
        return PointsChange(customer, delta, balance + delta, False, entry_id)

    async def _void(
        self, tx: aiosqlite.Connection, entry_id: int, actor_id: int, reason: str | None
    ) -> VoidResult:
        entry = await points_repo.find_entry(tx, entry_id)
        if entry is None:
            raise UnknownEntry(f"#{entry_id}")
        if entry.voids is not None:
            raise CannotVoid(entry_id, "reversal")
        if entry.kind == "expire":
            raise CannotVoid(entry_id, "expire")
        if await points_repo.reversal_of(tx, entry_id) is not None:
            raise CannotVoid(entry_id, "already_voided")
        customer = await customers_repo.get(tx, entry.customer_id)
        balance = await points_repo.balance(tx, customer.id)
        if balance - entry.delta < 0:
            raise VoidOverdraw(entry_id, balance, entry.delta)
        now = iso(self._clock.now())
        # Same kind, opposite sign: sums over all entries (balance, lifetime points) cancel;
        # windows (tier, daily cap, expiry) leave out both entries.
        reversal_id = await points_repo.append(
            tx, customer.id, -entry.delta, entry.kind, f"void:{entry.id}", now,
            reason=reason or f"void #{entry.id}", staff_id=actor_id, voids=entry.id,
        )  # fmt: skip
        if entry.kind == "earn":
            await points_repo.delete_purchase(tx, customer.id, entry.reference)
        evaluation = await self._stages.refresh_in(tx, customer.id)
        standing_ = await self._read_standing(tx, customer.id)
        customer = await customers_repo.get(tx, customer.id)
        return VoidResult(
            customer=customer,
            entry=entry,
            reversal_id=reversal_id,
            balance=standing_.balance,
            tier=standing_.tier,
            stage=evaluation.stage if evaluation else customer.stage,
        )

    async def _card(self, tx: aiosqlite.Connection, customer: CustomerRow) -> CustomerCard:
        standing_ = await self._read_standing(tx, customer.id)
        tickets = await open_ticket_count(tx, customer.id)
        recent = await self._movements(tx, customer, limit=RECENT_MOVEMENTS)
        recency = await self._status.status_in(tx, customer.id) if self._status else None
        return CustomerCard(customer, standing_, tickets, recent, recency)

    async def _read_standing(self, tx: Reads, customer_id: int) -> Standing:
        since = iso(add_months(self._clock.now(), -TIER_WINDOW_MONTHS))
        balance, earned = await points_repo.balance_and_earned(tx, customer_id, since)
        return standing(self._settings, balance, earned)

    async def _movements(
        self, tx: aiosqlite.Connection, customer: CustomerRow, *, limit: int, offset: int = 0
    ) -> list[Movement]:
        entries = await points_repo.list_entries(tx, customer.id, limit=limit, offset=offset)
        voided = await points_repo.voided_ids(tx, [entry.id for entry in entries])
        return [self._movement(customer, entry, entry.id in voided) for entry in entries]

    @staticmethod
    async def _customer(tx: aiosqlite.Connection, customer_id: int) -> CustomerRow:
        customer = await customers_repo.find_by_id(tx, customer_id)
        if customer is None or customer.forgotten_at is not None:
            raise UnknownCustomer(str(customer_id))
        return customer

    @staticmethod
    def _earn_audit(result: EarnResult) -> str:
        return (
            f"customer {result.customer.id} +{result.points} ref {result.reference}"
            f" balance {result.balance} entry #{result.entry_id}"
        )

    def _local_date(self, customer: CustomerRow, moment: datetime) -> str:
        return local_date(moment, customer_zone(customer, self._locale))

    def _movement(self, customer: CustomerRow, entry: LedgerEntry, voided: bool) -> Movement:
        at = parse_iso(entry.created_at)
        return Movement(
            entry.delta, entry.kind, entry.reason, entry.reference,
            self._local_date(customer, at), entry.id, voided, entry.voids,
        )  # fmt: skip
