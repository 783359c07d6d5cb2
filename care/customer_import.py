"""Customer import and export (CSV rows): match by telegram_id then phone, all or nothing per row.

An import reads the customers the file names in a few queries, walks the rows in memory (a bad
row is reported with its number and reason and changes nothing) and writes the valid rows
together in batches, in one transaction. A dry run walks the same rows and writes nothing.
Text cells follow care/csv_cells.py, so neither direction hands a spreadsheet a formula.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.csv_cells import imported_text, neutralise, plain_length, unescaped
from care.customers import MEMBER_CODE_ALPHABET, new_member_code
from care.errors import InvalidArgument
from care.phones import normalise_phone, region_for, stored_forms
from care.segments.filter import BadFilter, normal_tag
from care.settings import LANGUAGES, STAGES, LocaleSettings
from storage import customer_admin as admin_repo
from storage import points as points_repo
from storage import segments as segments_repo
from storage.customer_admin import ImportTarget, Profile, StageChange
from storage.db import Database
from storage.points import NewEntry

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
TAGS_COLUMN = "tags"  # import only: tags separated by commas or spaces, added (never removed)
_CODE = re.compile(f"^[{MEMBER_CODE_ALPHABET}]{{4,12}}$")
MAX_NAME = 200
# Unicode's control characters (Cc: C0, DEL, C1) and its line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_NAMES = {"\x00": "a NUL byte", "\n": "a line break", "\r": "a carriage return"}
_INDEX = {"telegram_id": "by_telegram_id", "phone": "by_phone", "member_code": "by_code"}
_MAX_CODE_DRAWS = 100  # per new customer: a generator that keeps colliding is broken

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


def unknown_columns(header: Sequence[str]) -> list[str]:
    """Header names that are not import columns."""
    return [name for name in header if name not in COLUMNS and name != TAGS_COLUMN]


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


def _name(raw: str) -> str:
    if found := _CONTROL.search(raw):
        char = found.group()
        what = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
        raise RowRejected(f"name: contains {what}; a name is one line of printable text")
    name = raw.strip()
    if plain_length(name) > MAX_NAME:
        raise RowRejected(f"name: longer than {MAX_NAME} characters")
    return name


def parse_row(raw: dict[str, Any], locale: LocaleSettings, today: date) -> dict[str, Any]:
    """The row's non-empty values, converted; RowRejected names the first bad column.

    A name keeps a leading `'` (it is stored made safe, see care/csv_cells.py); every other
    column is checked against its format after dropping one.
    """
    cells = {k: unescaped(v.strip()) for k, v in raw.items() if v and k in COLUMNS}
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
    if name := _name(raw.get("name") or ""):
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
        if not _CODE.fullmatch(code.upper()):
            raise RowRejected(f"member_code: not a member code ({code!r})")
        values["member_code"] = code.upper()
    if tags := unescaped((raw.get(TAGS_COLUMN) or "").strip()):
        try:
            values[TAGS_COLUMN] = sorted(
                {normal_tag(tag) for tag in re.split(r"[,\s]+", tags) if tag}
            )
        except BadFilter:
            raise RowRejected(f"tags: one word each, separated by commas ({tags!r})") from None
    return values


@dataclass(eq=False, slots=True)
class _Customer:
    """A customer as the import sees them while it walks the file."""

    id: int  # 0 for a new customer until the write gives it one
    telegram_id: int | None
    phone: str | None
    name: str | None
    birthday: str | None
    language: str
    timezone: str | None
    member_code: str | None  # None for a new customer whose code is drawn at the write
    stage: str = "aware"
    points: int = 0
    last_purchase_at: str | None = None
    forgotten: bool = False
    row: int | None = None  # the row that matched or created them

    @classmethod
    def known(cls, target: ImportTarget) -> _Customer:
        """A customer read from the database."""
        return cls(
            target.id, target.telegram_id, target.phone, target.name, target.birthday,
            target.language, target.timezone, target.member_code, target.stage, target.points,
            target.last_purchase_at, forgotten=target.forgotten_at is not None,
        )  # fmt: skip

    def profile(self) -> Profile:
        """The profile to write."""
        assert self.member_code is not None
        return Profile(
            self.id, self.telegram_id, self.phone, self.name, self.birthday, self.language,
            self.timezone, self.member_code,
        )  # fmt: skip


class _Plan:
    """The whole import decided in memory, row by row, over the customers the file names.

    Each row is checked completely before it changes anything, so a rejected row leaves no
    trace; the indexes follow every accepted change, so later rows see earlier ones.
    """

    def __init__(
        self, targets: Sequence[ImportTarget], default_language: str, region: str
    ) -> None:
        self._default_language = default_language
        self.by_telegram_id: dict[int, _Customer] = {}
        self.by_phone: dict[str, _Customer] = {}
        self.by_code: dict[str, _Customer] = {}
        for target in targets:
            customer = _Customer.known(target)
            if customer.phone is not None:  # stored before numbers were E.164: match as E.164
                with contextlib.suppress(InvalidArgument):
                    customer.phone = normalise_phone(customer.phone, region)
            self._index(customer)
        self.created: list[_Customer] = []
        self.updated: list[_Customer] = []  # whose profile changed, in row order
        self.stages: list[tuple[_Customer, str, str]] = []
        self.entries: list[tuple[_Customer, int, int]] = []  # (customer, delta, row)
        self.purchases: list[tuple[_Customer, str]] = []
        self.tags: list[tuple[_Customer, str]] = []

    def _index(self, customer: _Customer) -> None:
        if customer.telegram_id is not None:
            self.by_telegram_id[customer.telegram_id] = customer
        if customer.phone is not None:
            self.by_phone[customer.phone] = customer
        if customer.member_code is not None:
            self.by_code[customer.member_code] = customer

    def apply(self, number: int, values: dict[str, Any]) -> str:
        """Take one parsed row: 'created', 'updated' or 'unchanged'; RowRejected says why not."""
        customer = self._match(values)
        if customer is None:
            self._create(number, values)
            return "created"
        if customer.row is not None:
            raise RowRejected(f"same customer as row {customer.row}")
        changes = self._changes(customer, values)
        customer.row = number
        if changes:
            for column in ("telegram_id", "phone", "member_code"):
                old = getattr(customer, column)
                if column in changes and old is not None:
                    del getattr(self, _INDEX[column])[old]
            for column, value in changes.items():
                setattr(customer, column, value)
            self._index(customer)
            self.updated.append(customer)
        changed = self._events(customer, values, number)
        return "updated" if changes or changed else "unchanged"

    def _match(self, values: dict[str, Any]) -> _Customer | None:
        by_id = by_phone = None
        if "telegram_id" in values:
            by_id = self.by_telegram_id.get(values["telegram_id"])
        if "phone" in values:
            by_phone = self.by_phone.get(values["phone"])
        if by_id is not None and by_phone is not None and by_id is not by_phone:
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
        if found is not None and found.forgotten:
            raise RowRejected("that customer asked to be forgotten")
        return found

    def _create(self, number: int, values: dict[str, Any]) -> None:
        code = values.get("member_code")
        if code is not None and code in self.by_code:
            raise RowRejected(f"member_code {code} belongs to another customer")
        customer = _Customer(
            0, values.get("telegram_id"), values.get("phone"),
            imported_text(values["name"], None) if "name" in values else None,
            values.get("birthday"), values.get("language", self._default_language),
            values.get("timezone"), code, row=number,
        )  # fmt: skip
        self._index(customer)
        self.created.append(customer)
        self._events(customer, values, number)

    def _changes(self, customer: _Customer, values: dict[str, Any]) -> dict[str, Any]:
        columns = (*admin_repo.PROFILE_COLUMNS, "member_code")
        wanted = {c: values[c] for c in columns if c in values}
        if "name" in wanted:
            wanted["name"] = imported_text(wanted["name"], customer.name)
        changes = {c: v for c, v in wanted.items() if getattr(customer, c) != v}
        code = changes.get("member_code")
        if code is not None and self.by_code.get(code, customer) is not customer:
            raise RowRejected(f"member_code {code} belongs to another customer")
        return changes

    def _events(self, customer: _Customer, values: dict[str, Any], number: int) -> bool:
        changed = False
        self.tags += [(customer, tag) for tag in values.get(TAGS_COLUMN, ())]
        if "stage" in values and values["stage"] != customer.stage:
            # Like a stage set by staff, it holds until the rules have a new fact to act on.
            self.stages.append((customer, customer.stage, values["stage"]))
            customer.stage, changed = values["stage"], True
        if "points" in values and values["points"] != customer.points:
            self.entries.append((customer, values["points"] - customer.points, number))
            customer.points, changed = values["points"], True
        if "last_purchase_at" in values:
            last, wanted = customer.last_purchase_at, values["last_purchase_at"]
            if last is None or parse_iso(last) < parse_iso(wanted):
                self.purchases.append((customer, wanted))
                customer.last_purchase_at, changed = wanted, True
        return changed


class CustomerTransfer:
    """Imports and exports customers; the CLI reads and writes the CSV file."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        locale: LocaleSettings,
        *,
        new_code: Callable[[], str] = new_member_code,
    ) -> None:
        self._db, self._clock, self._locale = db, clock, locale
        self._new_code = new_code

    async def import_rows(
        self,
        rows: Sequence[tuple[int, dict[str, Any]]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import (row number, cells) pairs; valid rows commit together, bad ones are reported."""
        report = ImportReport(dry_run=dry_run)
        now = iso(self._clock.now())
        today = parse_iso(now).date()
        parsed: list[tuple[int, dict[str, Any] | RowRejected]] = []
        for number, raw in rows:
            try:
                parsed.append((number, parse_row(raw, self._locale, today)))
            except RowRejected as exc:
                parsed.append((number, exc))
        accepted = [values for _, values in parsed if isinstance(values, dict)]
        async with self._db.transaction(write=not dry_run) as tx:
            targets = await admin_repo.find_import_targets(
                tx,
                telegram_ids=(v["telegram_id"] for v in accepted if "telegram_id" in v),
                phones=(
                    form
                    for v in accepted
                    if "phone" in v
                    for form in stored_forms(v["phone"], region_for(self._locale))
                ),
                member_codes=(v["member_code"] for v in accepted if "member_code" in v),
            )
            plan = _Plan(targets, self._locale.default_language, region_for(self._locale))
            for done, (number, values) in enumerate(parsed, start=1):
                try:
                    if isinstance(values, RowRejected):
                        raise values
                    outcome = plan.apply(number, values)
                except RowRejected as exc:
                    report.rejected.append(Rejected(number, str(exc)))
                else:
                    setattr(report, outcome, getattr(report, outcome) + 1)
                if progress is not None:
                    progress(done, len(parsed))
            if not dry_run:
                taken = {v["member_code"] for v in accepted if "member_code" in v}
                await self._draw_codes(tx, plan, taken | set(plan.by_code))
                await self._write(tx, plan, now)
        return report

    async def _draw_codes(self, tx: aiosqlite.Connection, plan: _Plan, taken: set[str]) -> None:
        """Give every new customer without a code one nobody holds, drawing again on a clash."""
        waiting = [c for c in plan.created if c.member_code is None]
        draws_left = _MAX_CODE_DRAWS * len(waiting)
        while waiting:
            drawn: list[tuple[_Customer, str]] = []
            for customer in waiting:
                code = self._new_code()
                draws_left -= 1
                if draws_left < 0:
                    raise RuntimeError("could not draw unique member codes")
                if code not in taken:
                    taken.add(code)
                    drawn.append((customer, code))
            held = await admin_repo.taken_member_codes(tx, [code for _, code in drawn])
            for customer, code in drawn:
                if code not in held:
                    customer.member_code = code
            waiting = [c for c in waiting if c.member_code is None]

    @staticmethod
    async def _write(tx: aiosqlite.Connection, plan: _Plan, now: str) -> None:
        """Write the plan in batches; updates first, since they may free a phone or code."""
        await admin_repo.update_profiles(tx, [c.profile() for c in plan.updated])
        first_id = await admin_repo.next_customer_id(tx)
        for offset, customer in enumerate(plan.created):
            customer.id = first_id + offset
        await admin_repo.add_customers(tx, [c.profile() for c in plan.created], now)
        await admin_repo.set_stages(
            tx, [StageChange(c.id, old, new) for c, old, new in plan.stages], "import", now
        )
        await points_repo.append_many(
            tx,
            [
                NewEntry(c.id, delta, "adjust", f"import:{now}:{number}", now, reason="import")
                for c, delta, number in plan.entries
            ],
        )
        await admin_repo.add_purchase_marks(
            tx, [(c.id, at) for c, at in plan.purchases], "import:last_purchase"
        )
        await segments_repo.add_tags(tx, [(c.id, tag) for c, tag in plan.tags], now)

    async def export_rows(self) -> list[dict[str, str]]:
        """Every customer not forgotten, as CSV cells in COLUMNS order, safe to open."""
        async with self._db.read() as tx:
            rows = await admin_repo.export_rows(tx)
        return [
            {column: "" if getattr(row, column) is None else neutralise(str(getattr(row, column)))
             for column in COLUMNS}
            for row in rows
        ]  # fmt: skip
