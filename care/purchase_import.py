"""Purchase history in: CSV rows `customer,at,amount,receipt`, idempotent by receipt.

An import checks every row in memory (a bad row is reported with its number and reason and
changes nothing), resolves each customer named in the file once (`care.customers.find_customer`,
the resolver staff commands use: member code, Telegram id or phone), skips receipts recorded
before and writes the rest in one transaction: purchases only (history for the stage engine), or
with `earn` the points a live earn at the purchase's moment would have given
(`LoyaltyService.earn_past_in`, the same tier, cap and rounding). The stage, recency and outreach
moments of every customer it touched are evaluated again in the same transaction. A dry run
does all of it and rolls back, so its figures are the import's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from care.clock import Clock, iso
from care.customer_import import Progress, Rejected, RowRejected
from care.customers import find_customer
from care.errors import InvalidAmount, UnknownCustomer
from care.loyalty.service import EarnRequest, LoyaltyService, normal_receipt
from care.loyalty.units import parse_amount
from care.phones import region_for
from care.settings import LocaleSettings
from care.stages.service import StageService
from storage import points as points_repo
from storage.customers import CustomerRow
from storage.db import Database
from storage.errors import DuplicateKey

COLUMNS = ("customer", "at", "amount", "receipt")
MAX_RECEIPT = 64
BATCH = 5000  # purchases written per executemany


@dataclass
class PurchaseReport:
    """What an import did (or would do, with dry_run)."""

    dry_run: bool
    earn: bool
    recorded: int = 0
    already: int = 0  # receipts recorded before (this file imported again): nothing done
    points: int = 0
    customers: int = 0
    stages_changed: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    customer: str
    at: datetime
    cents: int
    receipt: str


class _RollBack(Exception):
    """Ends a dry run's transaction without committing it."""


def missing_columns(header: Sequence[str]) -> list[str]:
    """The required columns the header lacks."""
    return [name for name in COLUMNS if name not in header]


def parse_row(number: int, raw: dict[str, str], zone: ZoneInfo, now: datetime) -> _Row:
    """One row checked and converted; RowRejected names the first bad column."""
    cells = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    if not cells["customer"]:
        raise RowRejected("customer: empty (a member code, phone or Telegram id)")
    try:
        at = datetime.fromisoformat(cells["at"])
    except ValueError:
        raise RowRejected(f"at: not an ISO-8601 date or time ({cells['at']!r})") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)  # local time in the shop's zone
    if at > now:
        raise RowRejected(f"at: in the future ({cells['at']})")
    try:
        cents = parse_amount(cells["amount"])
    except InvalidAmount as exc:
        problem = _AMOUNT_PROBLEMS.get(exc.key.rpartition("amount_")[2], "not an amount")
        raise RowRejected(f"amount: {problem} ({cells['amount']!r})") from None
    receipt = normal_receipt(cells["receipt"])
    if not receipt:
        raise RowRejected("receipt: empty (it makes a second import harmless)")
    if len(receipt) > MAX_RECEIPT or not receipt.isprintable():
        raise RowRejected(f"receipt: not a receipt number ({cells['receipt'][:80]!r})")
    return _Row(number, cells["customer"], at, cents, receipt)


# InvalidAmount's problems, as a row's reason reads them
_AMOUNT_PROBLEMS = {
    "not_a_number": "not a number (write it like 12.50)",
    "negative": "negative",
    "zero": "zero",
    "too_many_decimals": "more than two decimals",
    "too_large": "too large",
}


class PurchaseImport:
    """Imports purchase history; the CLI reads the CSV file."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        locale: LocaleSettings,
        stages: StageService,
        loyalty: LoyaltyService,
    ) -> None:
        self._db, self._clock, self._locale = db, clock, locale
        self._stages, self._loyalty = stages, loyalty

    async def import_rows(
        self,
        rows: Sequence[tuple[int, dict[str, str]]],
        *,
        dry_run: bool = False,
        earn: bool = False,
        progress: Progress | None = None,
    ) -> PurchaseReport:
        """Import (row number, cells) pairs; valid rows commit together, bad ones are reported."""
        report = PurchaseReport(dry_run=dry_run, earn=earn)
        now = self._clock.now()
        zone = ZoneInfo(self._locale.timezone)
        good: list[_Row] = []
        seen: dict[str, int] = {}
        for number, raw in rows:
            try:
                row = parse_row(number, raw, zone, now)
                if row.receipt in seen:
                    raise RowRejected(f"receipt: {row.receipt} is also on row {seen[row.receipt]}")
            except RowRejected as exc:
                report.rejected.append(Rejected(number, str(exc)))
                continue
            seen[row.receipt] = number
            good.append(row)
        try:
            async with self._db.transaction() as tx:
                await self._import(tx, good, report, len(rows), progress)
                if dry_run:
                    raise _RollBack
        except _RollBack:
            pass
        report.rejected.sort(key=lambda r: r.row)
        return report

    async def _import(
        self,
        tx: aiosqlite.Connection,
        rows: list[_Row],
        report: PurchaseReport,
        total: int,
        progress: Progress | None,
    ) -> None:
        region = region_for(self._locale)
        held = await points_repo.purchase_receipts(tx, [row.receipt for row in rows])
        customers: dict[str, CustomerRow | None] = {}
        todo: list[tuple[_Row, CustomerRow]] = []
        done = total - len(rows)  # the rows rejected already
        for row in rows:
            key = row.customer.upper()
            if key not in customers:
                try:
                    customers[key] = await find_customer(tx, row.customer, region)
                except UnknownCustomer:
                    customers[key] = None
            customer = customers[key]
            done += 1
            if progress is not None and not report.earn:  # with earn, the earns show it
                progress(done, total)
            if customer is None:
                report.rejected.append(
                    Rejected(row.number, f"customer: no customer {row.customer!r}")
                )
                continue
            holder = held.get(row.receipt)
            if holder is not None and holder != customer.id:
                report.rejected.append(
                    Rejected(row.number, f"receipt: {row.receipt} is another customer's purchase")
                )
                continue
            if holder is not None:
                report.already += 1
                continue
            todo.append((row, customer))
        todo.sort(key=lambda pair: (pair[0].at, pair[0].number))  # tiers grow in time order
        recorded: list[int] = []
        if report.earn:
            for i, (row, customer) in enumerate(todo, start=1):
                request = EarnRequest(
                    customer.id, row.cents, row.receipt, None, "import", row.receipt
                )
                try:
                    report.points += await self._loyalty.earn_past_in(
                        tx, customer, request, row.at
                    )
                except DuplicateKey:  # a receipt whose earn was voided: it stays voided
                    report.rejected.append(
                        Rejected(row.number, f"receipt: {row.receipt} was counted before")
                    )
                else:
                    recorded.append(customer.id)
                if progress is not None:
                    progress(total - len(todo) + i, total)
        else:
            purchases = [(c.id, row.cents, row.receipt, iso(row.at)) for row, c in todo]
            for start in range(0, len(purchases), BATCH):
                await points_repo.add_purchases(tx, purchases[start : start + BATCH])
            recorded = [customer.id for _, customer in todo]
        report.recorded = len(recorded)
        touched = sorted(set(recorded))
        report.customers = len(touched)
        report.stages_changed = await self._stages.refresh_many_in(tx, touched)
