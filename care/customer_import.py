"""Customer import and export (CSV rows): match by telegram_id then phone, all or nothing per row.

Rows are validated and written one by one inside a single transaction; a bad row is rolled back to
its savepoint and reported with its number and reason, the valid rows commit together (or, with
`dry_run`, nothing is written at all).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.customers import MEMBER_CODE_ALPHABET, find_by_phone, new_member_code
from care.errors import InvalidArgument
from care.phones import normalise_phone, region_for
from care.settings import LANGUAGES, STAGES, LocaleSettings
from storage import customer_admin as admin_repo
from storage import customers as customers_repo
from storage import points as points_repo
from storage.customers import CustomerRow
from storage.db import Database
from storage.errors import DuplicateKey

COLUMNS = (
    "telegram_id",
    "phone",
    "name",
    "birthday",
    "language",
    "timezone",
    "points",
    "last_purchase_at",
    "stage",
    "member_code",
)
_CODE = re.compile(f"^[{MEMBER_CODE_ALPHABET}]{{4,12}}$")
MAX_NAME = 200

Progress = Callable[[int, int], None]


class RowRejected(Exception):
    """A row that cannot be imported, with the reason shown to the operator."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected row: its number in the file (the header is row 1) and why."""

    row: int
    reason: str


@dataclass
class ImportReport:
    """What an import did (or would do, with dry_run)."""

    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)


class _DryRunDone(Exception):
    """Raised to roll the dry run's transaction back."""


def unknown_columns(header: Sequence[str]) -> list[str]:
    """Header names that are not import columns."""
    return [name for name in header if name not in COLUMNS]


def _birthday(text: str, today: date) -> str:
    try:
        if text.startswith("--"):
            date.fromisoformat("2000" + text[1:])  # a leap year accepts --02-29
            if len(text) != 7:
                raise ValueError(text)
        else:
            if len(text) != 10 or date.fromisoformat(text).year < 1900:
                raise ValueError(text)
            if date.fromisoformat(text) > today:
                raise RowRejected(f"birthday: in the future ({text!r})")
    except ValueError:
        raise RowRejected(f"birthday: not YYYY-MM-DD or --MM-DD ({text!r})") from None
    return text


def _moment(text: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RowRejected(f"last_purchase_at: not an ISO date or time ({text!r})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return iso(moment)


def parse_row(raw: dict[str, Any], locale: LocaleSettings, today: date) -> dict[str, Any]:
    """The row's non-empty values, converted; RowRejected names the first bad column."""
    cells = {k: (v or "").strip() for k, v in raw.items() if k in COLUMNS}
    values: dict[str, Any] = {}
    if tid := cells.get("telegram_id"):
        if not tid.isdecimal() or not 0 < int(tid) < 2**53:
            raise RowRejected(f"telegram_id: not a Telegram user id ({tid!r})")
        values["telegram_id"] = int(tid)
    if phone := cells.get("phone"):
        try:
            values["phone"] = normalise_phone(phone, region_for(locale))
        except InvalidArgument:
            raise RowRejected(f"phone: not a phone number ({phone!r})") from None
    if "telegram_id" not in values and "phone" not in values:
        raise RowRejected("needs a telegram_id or a phone to match the customer")
    if name := cells.get("name"):
        if len(name) > MAX_NAME:
            raise RowRejected(f"name: longer than {MAX_NAME} characters")
        values["name"] = name
    if birthday := cells.get("birthday"):
        values["birthday"] = _birthday(birthday, today)
    if language := cells.get("language"):
        if language.lower() not in LANGUAGES:
            raise RowRejected(f"language: must be one of {', '.join(LANGUAGES)} ({language!r})")
        values["language"] = language.lower()
    if timezone := cells.get("timezone"):
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise RowRejected(f"timezone: unknown IANA time zone ({timezone!r})") from None
        values["timezone"] = timezone
    if points := cells.get("points"):
        if not points.isdecimal() or len(points) > 9:
            raise RowRejected(f"points: not a whole number of points, 0 or more ({points!r})")
        values["points"] = int(points)
    if last := cells.get("last_purchase_at"):
        values["last_purchase_at"] = _moment(last, locale.zone)
    if stage := cells.get("stage"):
        if stage.strip().lower() not in STAGES:
            raise RowRejected(f"stage: must be one of {', '.join(STAGES)} ({stage!r})")
        values["stage"] = stage.strip().lower()
    if code := cells.get("member_code"):
        if not _CODE.match(code.upper()):
            raise RowRejected(f"member_code: not a member code ({code!r})")
        values["member_code"] = code.upper()
    return values


class CustomerTransfer:
    """Imports and exports customers; the CLI reads and writes the CSV file."""

    def __init__(self, db: Database, clock: Clock, locale: LocaleSettings) -> None:
        self._db, self._clock, self._locale = db, clock, locale
        self._region = region_for(locale)

    async def import_rows(
        self,
        rows: Sequence[tuple[int, dict[str, Any]]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import (row number, cells) pairs; valid rows commit together, bad ones are reported."""
        report = ImportReport(dry_run=dry_run)
        now = self._clock.now()
        seen: dict[int, int] = {}  # customer id -> first row that touched it
        try:
            async with self._db.transaction() as tx:
                for done, (number, raw) in enumerate(rows, start=1):
                    await tx.execute("SAVEPOINT import_row")
                    try:
                        outcome = await self._import_row(tx, number, raw, seen, iso(now))
                    except (RowRejected, DuplicateKey) as exc:
                        await tx.execute("ROLLBACK TO import_row")
                        report.rejected.append(Rejected(number, str(exc)))
                    else:
                        setattr(report, outcome, getattr(report, outcome) + 1)
                    await tx.execute("RELEASE import_row")
                    if progress is not None:
                        progress(done, len(rows))
                if dry_run:
                    raise _DryRunDone
        except _DryRunDone:
            pass
        return report

    async def _import_row(
        self,
        tx: aiosqlite.Connection,
        number: int,
        raw: dict[str, Any],
        seen: dict[int, int],
        now: str,
    ) -> str:
        values = parse_row(raw, self._locale, parse_iso(now).date())
        customer = await self._match(tx, values)
        if customer is not None and customer.id in seen:
            raise RowRejected(f"same customer as row {seen[customer.id]}")
        if customer is None:
            customer = await self._create(tx, values, now)
            outcome = "created"
        else:
            outcome = "updated" if await self._update(tx, customer, values) else "unchanged"
        seen[customer.id] = number
        changed = await self._apply_events(tx, customer, values, number, now)
        return "updated" if outcome == "unchanged" and changed else outcome

    async def _match(self, tx: aiosqlite.Connection, values: dict[str, Any]) -> CustomerRow | None:
        by_id = by_phone = None
        if "telegram_id" in values:
            by_id = await customers_repo.find_by_telegram_id(tx, values["telegram_id"])
        if "phone" in values:
            by_phone = await find_by_phone(tx, values["phone"], self._region)
        if by_id is not None and by_phone is not None and by_id.id != by_phone.id:
            raise RowRejected(f"phone {values['phone']} belongs to another customer")
        if (
            by_id is None
            and by_phone is not None
            and by_phone.telegram_id is not None
            and ("telegram_id" in values)
        ):
            raise RowRejected(
                f"phone {values['phone']} belongs to a customer with another telegram_id"
            )
        found = by_id or by_phone
        if found is not None and found.forgotten_at is not None:
            raise RowRejected("that customer asked to be forgotten")
        return found

    async def _create(
        self, tx: aiosqlite.Connection, values: dict[str, Any], now: str
    ) -> CustomerRow:
        code = values.get("member_code") or new_member_code()
        try:
            row = await customers_repo.add(
                tx,
                telegram_id=values.get("telegram_id"),
                username=None,
                name=values.get("name"),
                language=values.get("language", self._locale.default_language),
                member_code=code,
                at=now,
                phone=values.get("phone"),
            )
        except DuplicateKey:
            raise RowRejected(f"member_code {code} belongs to another customer") from None
        extra: dict[str, Any] = {k: values[k] for k in ("birthday", "timezone") if k in values}
        await admin_repo.update_profile(tx, row.id, extra)
        return row

    @staticmethod
    async def _update(
        tx: aiosqlite.Connection, customer: CustomerRow, values: dict[str, Any]
    ) -> bool:
        changes = {
            column: values[column]
            for column in (*admin_repo.PROFILE_COLUMNS, "member_code")
            if column in values and getattr(customer, column) != values[column]
        }
        code = changes.pop("member_code", None)
        try:
            await admin_repo.update_profile(tx, customer.id, changes)
            if code is not None:
                await tx.execute(
                    "UPDATE customers SET member_code = ? WHERE id = ?", (code, customer.id)
                )
        except (DuplicateKey, sqlite3.IntegrityError):
            raise RowRejected("member_code or phone belongs to another customer") from None
        return bool(changes) or code is not None

    @staticmethod
    async def _apply_events(
        tx: aiosqlite.Connection,
        customer: CustomerRow,
        values: dict[str, Any],
        number: int,
        now: str,
    ) -> bool:
        changed = False
        if "stage" in values:
            # Like a stage set by staff, it holds until the rules have a new fact to act on.
            changed |= await admin_repo.set_stage(
                tx, customer.id, values["stage"], "import", now, manual=True
            )
        if "points" in values:
            delta = values["points"] - await points_repo.balance(tx, customer.id)
            if delta:
                await points_repo.append(
                    tx, customer.id, delta, "adjust", f"import:{now}:{number}", now,
                    reason="import",
                )  # fmt: skip
                changed = True
        if "last_purchase_at" in values:
            last = await points_repo.last_purchase_at(tx, customer.id)
            wanted = values["last_purchase_at"]
            if last is None or parse_iso(last) < parse_iso(wanted):
                await points_repo.add_purchase(tx, customer.id, 0, "import:last_purchase", wanted)
                changed = True
        return changed

    async def export_rows(self) -> list[dict[str, str]]:
        """Every customer not forgotten, as CSV cells in COLUMNS order."""
        async with self._db.read() as tx:
            rows = await admin_repo.export_rows(tx)
        return [
            {column: "" if getattr(row, column) is None else str(getattr(row, column))
             for column in COLUMNS}
            for row in rows
        ]  # fmt: skip
