"""End to end: the CSV files the commands write open safely, and bad rows name their line."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from tests.conftest import Harness

PAYLOAD = "=cmd|' /C calc'!A0"  # OWASP's example of a formula that runs a program


async def _cli(tmp_path: Path, db_path: str | Path, *args: str) -> int:
    config = tmp_path / f"cli-{Path(db_path).stem}.toml"
    config.write_text(f'[storage]\npath = "{db_path}"\n', "utf-8")
    return await asyncio.to_thread(main, [*args, "--config", str(config)])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


async def test_an_export_of_a_formula_name_opens_as_text_and_imports_as_text(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mallory = harness.sandbox.create_user(PAYLOAD, username="mallory")
    await mallory.send("/start")
    await mallory.next_message()
    db_path = harness.settings.storage.path
    exported = tmp_path / "export.csv"
    assert await _cli(tmp_path, db_path, "customers", "export", str(exported)) == 0
    [row] = _rows(exported)
    assert row["name"] == "'" + PAYLOAD and row["telegram_id"] == str(mallory.id)
    assert await _cli(tmp_path, db_path, "customers", "import", str(exported), "--dry-run") == 0
    assert "unchanged 1, rejected 0 (dry run" in capsys.readouterr().out

    fresh, again = tmp_path / "fresh.sqlite3", tmp_path / "again.csv"
    assert await _cli(tmp_path, fresh, "customers", "import", str(exported)) == 0
    assert await _cli(tmp_path, fresh, "customers", "export", str(again)) == 0
    assert again.read_bytes() == exported.read_bytes()
    db = await Database.open(fresh)
    try:
        assert await db.scalar("SELECT name FROM customers") == "'" + PAYLOAD
    finally:
        await db.close()


async def test_names_with_nul_or_line_breaks_are_reported_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "phone,name\n"
        "+4915100000001,Good\n"
        '+4915100000002,"Two\nlines"\n'
        "+4915100000003,Nul\x00byte\n"
        "\n"
        "+4915100000004,After\n",
        "utf-8",
    )
    db_path = tmp_path / "care.sqlite3"
    for dry_run in (("--dry-run",), ()):
        assert await _cli(tmp_path, db_path, "customers", "import", str(path), *dry_run) == 1
        out, err = capsys.readouterr()
        assert "created 2, updated 0, unchanged 0, rejected 2" in out
        assert f"{path}:3: row 3: name: contains a line break" in err
        assert f"{path}:5: row 4: name: contains a NUL byte" in err
    exported = tmp_path / "export.csv"
    assert await _cli(tmp_path, db_path, "customers", "export", str(exported)) == 0
    assert [row["name"] for row in _rows(exported)] == ["Good", "After"]


async def test_the_faq_export_opens_as_text(harness: Harness, tmp_path: Path) -> None:
    answer = '=HYPERLINK("http://example.com","Click for the menu")'
    await harness.care.faq.add(
        harness.owner.id, "en", "-What is on the menu?", ("@menu", "food"), answer
    )
    await harness.care.faq.add(
        harness.owner.id, "en", "Are you open?", ("open today",), "Yes, 8-18."
    )
    exported = tmp_path / "faq.csv"
    db_path = harness.settings.storage.path
    assert await _cli(tmp_path, db_path, "faq", "export", str(exported), "--lang", "en") == 0
    first, second = _rows(exported)
    assert first["question"] == "'-What is on the menu?" and first["answer"] == "'" + answer
    assert first["alternates"] == "'@menu|food"
    assert (second["question"], second["answer"]) == ("Are you open?", "Yes, 8-18.")
