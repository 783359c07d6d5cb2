"""`carebot campaign send|status`: the file's validation and the JSON contracts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from care.campaigns.results import EXCLUSIONS
from care.customers import CustomerService
from care.settings import LocaleSettings
from handlers.texts import catalogue
from storage.db import Database
from storage.migrate import migrate
from tests.fakes import FakeClock


async def _customers(path: Path) -> None:
    db = await Database.open(path)
    await migrate(db)
    customers = CustomerService(db, FakeClock(), LocaleSettings())
    for telegram_id, name, lang in ((1, "Ann", "en"), (2, "Ben", "en"), (3, "Wei", "zh")):
        await customers.register(telegram_id, name.lower(), name, lang)
    async with db.transaction() as tx:
        await tx.execute("UPDATE customers SET opted_out = 1 WHERE name = 'Wei'")
    await db.close()


def test_send_and_status_print_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "care.sqlite3"
    asyncio.run(_customers(database))
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{database}"\n')
    spec = tmp_path / "autumn.toml"
    spec.write_text(
        'name = "autumn-menu"\nsegment = "recency=active"\nat = "2027-09-14T10:00"\n'
        '[text]\nen = "Autumn!"\nzh = "秋天！"\n'
    )
    send = ["campaign", "send", str(spec), "--json", "--config", str(config)]
    assert main([*send, "--dry-run"]) == 0
    expected = {"recipients": 2, "excluded": {"opted_out": 1}}
    assert json.loads(capsys.readouterr().out) == {"campaign": None, **expected}
    assert main(send) == 0
    assert json.loads(capsys.readouterr().out) == {"campaign": 1, **expected}
    assert main(["campaign", "status", "1", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "queued": 2, "sent": 0, "failed": 0, "skipped": 0
    }  # fmt: skip
    assert main(send) == 0  # a second file send is a second campaign, never a repeat of one
    assert json.loads(capsys.readouterr().out)["campaign"] == 2


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('name = "x"\nsegment = "colour=red"\n[text]\nen = "x"\n', "Unknown key “colour”"),
        ('name = "x"\nsegment = "stage=aware"\n[text]\nfr = "x"\n', "Campaign text.fr"),
        ('name = "x"\nsegment = "stage=aware"\nat = "tomorrow"\n[text]\nen = "x"\n', "at:"),
        ("name = ", "error"),
    ],
)
def test_a_bad_file_names_the_problem_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, named: str
) -> None:
    database = tmp_path / "care.sqlite3"
    asyncio.run(_customers(database))
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{database}"\n')
    spec = tmp_path / "bad.toml"
    spec.write_text(body)
    assert main(["campaign", "send", str(spec), "--config", str(config)]) == 2
    assert named in capsys.readouterr().err
    assert main(["campaign", "status", "1", "--config", str(config)]) == 1


def test_every_exclusion_and_filter_problem_has_a_text() -> None:
    problems = ("not_a_term", "unknown_key", "unknown_value", "comma_needs_equals",
                "not_ordered", "unknown_tag")  # fmt: skip
    keys = [f"campaigns.reason.{reason}" for reason in EXCLUSIONS]
    keys += [f"segments.error.{problem}" for problem in problems]
    assert [key for key in keys if key not in catalogue()] == []
