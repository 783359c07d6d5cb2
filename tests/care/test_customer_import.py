"""Customer CSV import and export on a real database: formula cells, member codes, bad names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from care.customer_import import CustomerTransfer, ImportReport
from care.customers import CustomerService
from care.settings import LocaleSettings
from storage import customers as customers_repo
from storage.db import Database
from storage.migrate import migrate
from tests.fakes import FakeClock

LOCALE = LocaleSettings(default_language="en", timezone="UTC")
PAYLOAD = "=cmd|' /C calc'!A0"  # OWASP's example of a formula that runs a program


async def _import(
    db: Database,
    clock: FakeClock,
    rows: list[dict[str, str]],
    *,
    new_code: Callable[[], str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    transfer = (
        CustomerTransfer(db, clock, LOCALE)
        if new_code is None
        else CustomerTransfer(db, clock, LOCALE, new_code=new_code)
    )
    return await transfer.import_rows(list(enumerate(rows, start=2)), dry_run=dry_run)


async def _stored(db: Database) -> dict[str, tuple[str | None, str]]:
    """Phone -> (name, member code) of every customer with a phone."""
    async with db.read() as tx:
        rows = await tx.execute_fetchall("SELECT phone, name, member_code FROM customers")
    return {row[0]: (row[1], row[2]) for row in rows if row[0] is not None}


def _codes(*codes: str) -> Callable[[], str]:
    drawn: Iterator[str] = iter(codes)
    return lambda: next(drawn)


async def test_an_exported_formula_opens_as_text_and_import_never_stores_one(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    customers = CustomerService(db, clock, LOCALE)
    await customers.register(42, "mallory", PAYLOAD, "en")  # a Telegram first name
    await _import(
        db, clock, [{"phone": "+44 7700 900123", "name": "@anna", "birthday": "--02-29"}]
    )
    exported = await CustomerTransfer(db, clock, LOCALE).export_rows()
    by_name = {row["name"]: row for row in exported}
    assert set(by_name) == {"'" + PAYLOAD, "'@anna"}  # every name starts with the '
    anna = by_name["'@anna"]
    assert anna["phone"] == "'+447700900123" and anna["birthday"] == "'--02-29"
    assert anna["language"] == "en" and anna["points"] == "0"  # ordinary cells as they are

    again = await _import(db, clock, exported)  # the same database: nothing changes
    assert (again.unchanged, again.rejected) == (2, [])
    async with db.read() as tx:
        mallory = await customers_repo.find_by_telegram_id(tx, 42)
    assert mallory is not None and mallory.name == PAYLOAD

    fresh = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        await migrate(fresh)
        assert (await _import(fresh, clock, exported)).created == 2
        async with fresh.read() as tx:
            names = {row[0] for row in await tx.execute_fetchall("SELECT name FROM customers")}
        assert names == {"'" + PAYLOAD, "'@anna"}  # stored as text, never as a formula
        assert "+447700900123" in await _stored(fresh)  # the phone is a phone again
        assert await CustomerTransfer(fresh, clock, LOCALE).export_rows() == exported
    finally:
        await fresh.close()


async def test_a_formula_typed_into_a_file_is_stored_with_its_quote(
    db: Database, clock: FakeClock
) -> None:
    rows = [
        {"phone": "+4915100000001", "name": "=1+2"},
        {"phone": "'+4915100000002", "name": "-Anna-"},  # a phone from a spreadsheet
        {"phone": "+4915100000003", "name": "O'Neil"},
        {"phone": "+4915100000004", "name": "'Tis Anna"},
        {"phone": "+4915100000005", "name": "'=already safe"},
        {"phone": "=1+4915100000006", "name": "Bad phone"},
    ]
    report = await _import(db, clock, rows)
    assert report.created == 5 and [r.row for r in report.rejected] == [7]
    names = {phone: name for phone, (name, _) in (await _stored(db)).items()}
    assert names == {
        "+4915100000001": "'=1+2",
        "+4915100000002": "'-Anna-",
        "+4915100000003": "O'Neil",
        "+4915100000004": "'Tis Anna",
        "+4915100000005": "'=already safe",
    }


async def test_a_member_code_collision_is_drawn_again_not_rejected(
    db: Database, clock: FakeClock
) -> None:
    await _import(db, clock, [{"phone": "+4915100000000", "member_code": "AAAAAA"}])
    rows = [
        {"phone": "+4915100000001", "name": "A"},
        {"phone": "+4915100000002", "name": "B"},
        {"phone": "+4915100000003", "name": "C", "member_code": "CCCCCC"},
    ]
    # Held in the database, wanted by row 4, drawn twice in one import: each is drawn again.
    new_code = _codes("AAAAAA", "CCCCCC", "BBBBBB", "BBBBBB", "DDDDDD")
    report = await _import(db, clock, rows, new_code=new_code)
    assert (report.created, report.rejected) == (3, [])
    codes = {phone: code for phone, (_, code) in (await _stored(db)).items()}
    assert codes == {
        "+4915100000000": "AAAAAA",
        "+4915100000001": "BBBBBB",
        "+4915100000002": "DDDDDD",
        "+4915100000003": "CCCCCC",
    }


async def test_a_code_generator_that_only_collides_writes_nothing(
    db: Database, clock: FakeClock
) -> None:
    await _import(db, clock, [{"phone": "+4915100000000", "member_code": "AAAAAA"}])
    with pytest.raises(RuntimeError, match="member codes"):
        await _import(db, clock, [{"phone": "+4915100000001"}], new_code=lambda: "AAAAAA")
    async with db.read() as tx:
        assert await customers_repo.count(tx) == 1


async def test_a_given_member_code_held_by_another_customer_is_still_refused(
    db: Database, clock: FakeClock
) -> None:
    await _import(db, clock, [{"phone": "+4915100000000", "member_code": "AAAAAA"}])
    report = await _import(db, clock, [{"phone": "+4915100000001", "member_code": "aaaaaa"}])
    assert [(r.row, r.reason) for r in report.rejected] == [
        (2, "member_code AAAAAA belongs to another customer")
    ]


@pytest.mark.parametrize("dry_run", [True, False])
async def test_names_with_nul_or_line_breaks_are_refused_and_nothing_is_written(
    db: Database, clock: FakeClock, dry_run: bool
) -> None:
    rows = [
        {"phone": "+4915100000001", "name": "Ann\x00a", "points": "10"},
        {"phone": "+4915100000002", "name": "Ann\na"},
        {"phone": "+4915100000003", "name": "Ann\r"},
        {"phone": "+4915100000004", "name": "Ann\ta"},
        {"phone": "+4915100000005", "name": "Ann\u2028a"},
        {"phone": "+4915100000006", "name": "Ann\x85a"},
        {"phone": "+4915100000007", "name": "  Anna Lee  ", "points": "10"},
        {"phone": "+4915100000008", "timezone": "Europe/London\x00"},
    ]
    report = await _import(db, clock, rows, dry_run=dry_run)
    assert report.created == 1
    assert [(r.row, r.reason) for r in report.rejected] == [
        (2, "name: contains a NUL byte; a name is one line of printable text"),
        (3, "name: contains a line break; a name is one line of printable text"),
        (4, "name: contains a carriage return; a name is one line of printable text"),
        (5, "name: contains the control character U+0009; a name is one line of printable text"),
        (6, "name: contains the control character U+2028; a name is one line of printable text"),
        (7, "name: contains the control character U+0085; a name is one line of printable text"),
        (9, "timezone: unknown IANA time zone ('Europe/London\\x00')"),
    ]
    stored = await _stored(db)
    assert list(stored) == ([] if dry_run else ["+4915100000007"])
    assert dry_run or stored["+4915100000007"][0] == "Anna Lee"


async def test_rows_see_the_changes_of_earlier_rows(db: Database, clock: FakeClock) -> None:
    await _import(
        db,
        clock,
        [
            {"telegram_id": "1", "phone": "+4915100000001", "member_code": "AAAAAA"},
            {"telegram_id": "2", "phone": "+4915100000002", "member_code": "BBBBBB"},
        ],
    )
    report = await _import(
        db,
        clock,
        [
            {"telegram_id": "1", "phone": "+4915100000009", "member_code": "CCCCCC"},
            {"telegram_id": "2", "member_code": "AAAAAA"},  # freed by the row before
            {"phone": "+4915100000001", "name": "New"},  # freed too: a new customer
            {"phone": "+4915100000009", "name": "Again"},  # now the first customer's
            {"phone": "+4915100000003", "member_code": "BBBBBB"},  # freed by row 3
        ],
    )
    assert (report.created, report.updated) == (2, 2)
    assert [(r.row, r.reason) for r in report.rejected] == [(5, "same customer as row 2")]
    stored = await _stored(db)
    assert stored["+4915100000009"][1] == "CCCCCC" and stored["+4915100000002"][1] == "AAAAAA"
    assert stored["+4915100000001"][0] == "New" and stored["+4915100000003"][1] == "BBBBBB"
