"""FAQ CSV on a real database: the export opens as text, and the import never stores a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from care.faq.csv import export_faq, import_faq
from care.faq.service import FaqService
from care.outbox import Outbox
from care.settings import FaqSettings, StaffSettings
from care.staff import StaffService
from storage import faq as faq_repo
from storage.db import Database
from storage.faq import FaqRow
from storage.migrate import migrate
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

ANSWER = '=HYPERLINK("http://example.com","Click for the menu")'


OWNER = 1


def _service(db: Database, clock: FakeClock) -> FaqService:
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER], chat_id=-77))
    outbox = Outbox(db, clock, RecordingMessenger())
    return faq_service(db, clock, FaqSettings(), staff, outbox)


async def _entries(db: Database) -> list[tuple[str, tuple[str, ...], str]]:
    async with db.read() as tx:
        rows: list[FaqRow] = await faq_repo.list_page(tx, 0, 100, language="en")
    return [(row.question, row.alternates, row.answer) for row in rows]


async def test_the_export_neutralises_formulas_and_a_round_trip_keeps_the_texts(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    faq = _service(db, clock)
    await faq.add(OWNER, "en", "-What is on the menu?", ("@menu", "food"), ANSWER)
    await faq.add(OWNER, "en", "Are you open?", ("open today", "-hours"), "Yes, 8-18.")
    before = await _entries(db)
    exported = await export_faq(db, "en")
    first, second = list(csv.DictReader(io.StringIO(exported)))
    assert first["question"] == "'-What is on the menu?" and first["answer"] == "'" + ANSWER
    assert first["alternates"] == "'@menu|food"  # a spreadsheet sees the cell's first character
    assert dict(second) == {
        "id": "2",
        "question": "Are you open?",
        "alternates": "open today|-hours",
        "answer": "Yes, 8-18.",
    }

    report = await import_faq(db, clock, faq, exported, "en")
    assert report.imported == 2 and await _entries(db) == before  # its own export: unchanged

    fresh = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        await migrate(fresh)
        await import_faq(fresh, clock, None, exported, "en")
        assert await _entries(fresh) == [
            ("'-What is on the menu?", ("'@menu", "food"), "'" + ANSWER),
            ("Are you open?", ("open today", "-hours"), "Yes, 8-18."),
        ]
        assert await export_faq(fresh, "en") == exported
    finally:
        await fresh.close()


async def test_a_formula_typed_into_a_file_is_stored_as_text(
    db: Database, clock: FakeClock
) -> None:
    text = "id,question,alternates,answer\n1,+Delivery?,,=1+2\n2,Wifi?,,'@beans is the password\n"
    report = await import_faq(db, clock, None, text, "en")
    assert report.imported == 2
    assert await _entries(db) == [
        ("'+Delivery?", (), "'=1+2"),
        ("Wifi?", (), "'@beans is the password"),
    ]


async def test_rows_without_ids_and_with_text_ids_upsert_on_reimport(
    db: Database, clock: FakeClock
) -> None:
    faq = _service(db, clock)
    text = (
        "id,question,alternates,answer\n"
        "opening-hours,When are you open?,opening times,7:30 to 19:00.\n"
        ',Do you sell cake?,cake,"Yes, every day."\n'
        "7,Is there parking?,,Round the back.\n"
    )
    first = await import_faq(db, clock, faq, text, "en")
    assert (first.imported, first.rejected) == (3, [])
    entries = await _entries(db)
    again = await import_faq(db, clock, faq, text.replace("19:00", "20:00"), "en")
    assert (again.imported, again.rejected) == (3, [])
    assert len(await _entries(db)) == len(entries) == 3  # the same entries, updated
    async with db.read() as tx:
        rows = await faq_repo.list_page(tx, 0, 100, language="en")
    hours = next(r for r in rows if r.question == "When are you open?")
    assert hours.answer == "7:30 to 20:00."
    zh = "id,question,alternates,answer\nopening-hours,几点开门？,,7:30 到 20:00。\n"
    await import_faq(db, clock, faq, zh, "zh")
    assert [r.language for r in await faq.show(OWNER, hours.entry_id)] == ["en", "zh"]
    exported = await export_faq(db, "en")
    assert "opening-hours,When are you open?" in exported  # the key goes out as the id
    assert (await import_faq(db, clock, faq, exported, "en")).rejected == []
    assert len(await _entries(db)) == 3


async def test_bad_text_ids_are_rejected_with_their_line(db: Database, clock: FakeClock) -> None:
    text = (
        "id,question,alternates,answer\n"
        "hours,When are you open?,,7:30.\n"
        "Hours,Open late?,,No.\n"
        "two words,Parking?,,Yes.\n"
        "0,Cake?,,Yes.\n"
    )
    report = await import_faq(db, clock, None, text, "en")
    assert report.imported == 1
    assert [(r.line, r.reason.split(" ")[0]) for r in report.rejected] == [
        (3, "id"),
        (4, "a"),
        (5, "id"),
    ]
