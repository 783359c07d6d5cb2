"""The commands: `purchases import` reports bad rows by line, `customers status --json` reads
back exactly what went in, as of --at, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.status_cli import parse_at


def _config(tmp_path: Path) -> str:
    config = tmp_path / "carebot.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n[locale]\ntimezone = "Europe/Paris"\n',
        "utf-8",
    )
    return str(config)


def test_import_then_status_round_trips_and_names_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    people = tmp_path / "customers.csv"
    people.write_text("member_code,phone,name\nANNA22,+33612345678,Ann\n", "utf-8")
    assert main(["customers", "import", str(people), "--config", config]) == 0
    history = tmp_path / "purchases.csv"
    history.write_text(
        "customer,at,amount,receipt\n"
        "ANNA22,2026-09-01T08:30:00,4.50,T-1\n"  # Paris summer time: 06:30 UTC
        '"ANNA22",2026-09-08T08:30:00+02:00,"5,20",T-2\n'
        "0612345678,2026-09-15 08:30,3,T-3\n"
        "ANNA22,2026-09-22T08:30:00,four,T-4\n"
        "ZZZZ99,2026-09-22T08:30:00,4,T-5\n",
        "utf-8",
    )
    capsys.readouterr()
    assert main(["purchases", "import", str(history), "--config", config]) == 1
    out, err = capsys.readouterr()
    assert f"{history}:5: row 5: amount: not a number (write it like 12.50) ('four')" in err
    assert f"{history}:6: row 6: customer: no customer 'ZZZZ99'" in err
    assert "recorded 3 purchases for 1 customers" in out and "rejected 2" in out
    assert main(["purchases", "import", str(history), "--config", config]) == 1
    assert "recorded 0 purchases" in capsys.readouterr().out

    at = "2026-09-20T00:00:00+00:00"
    assert main(["customers", "status", "--at", at, "--json", "--config", config]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["at"] == at
    [ann] = document["customers"]
    assert ann["member_code"] == "ANNA22" and ann["purchases"] == 3
    assert ann["last_purchase_at"] == "2026-09-15T06:30:00+00:00"
    assert ann["value_cents"] == 450 + 520 + 300 and ann["recency"] == "active"
    assert ann["reason"]["key"] == "stage.reason.active_alive"
    assert 0 < ann["probability"] <= 1 and ann["winback_due_at"] > at
    assert main(["customers", "status", "--at", "2026-09-05T00:00:00+00:00", "--json",
                 "--config", config]) == 0  # fmt: skip
    [before] = json.loads(capsys.readouterr().out)["customers"]
    assert before["purchases"] == 1 and before["last_purchase_at"] == "2026-09-01T06:30:00+00:00"
    assert main(["customers", "status", "--at", "2026-09-05", "--config", config]) == 2


def test_a_bad_status_moment_is_named_with_an_example() -> None:
    with pytest.raises(ValueError, match="not an ISO-8601 moment: 'nonsense'"):
        parse_at("nonsense")
    with pytest.raises(ValueError, match="needs a UTC offset"):
        parse_at("2026-11-22T10:00")
