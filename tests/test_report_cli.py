"""`carebot report`: one self-contained HTML file with every chart, or the measures as JSON."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path

import pytest

from bot import cli
from bot.cli import main
from handlers.report_charts import CHARTS
from storage.db import Database
from storage.migrate import migrate
from tests.reports_support import seed_shop

DAYS = ["--from", "2026-11-16", "--to", "2026-11-22"]


async def _seeded(path: Path) -> None:
    db = await Database.open(path)
    try:
        await migrate(db)
        await seed_shop(db)
    finally:
        await db.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config over a database holding the hand-worked shop."""
    path = tmp_path / "config.toml"
    path.write_text('[storage]\npath = "care.sqlite3"\n', "utf-8")
    asyncio.run(_seeded(tmp_path / "care.sqlite3"))
    return path


def test_out_writes_one_html_file_with_every_chart_embedded(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--config", str(config), *DAYS, "--out", str(out), "--lang", "zh"]) == 0
    assert f"({len(CHARTS)} charts)" in capsys.readouterr().out
    page = out.read_text("utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(CHARTS)
    assert all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data in images)
    assert "<table>" in page and page.count("<section>") >= len(CHARTS)
    assert "客户关系报告" in page and "各阶段顾客" in page and "Do you have wifi?" in page
    assert 'src="http' not in page and "<link" not in page  # nothing fetched when opened


def test_json_prints_one_object_with_the_contracted_measures(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--config", str(config), *DAYS, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # one object, nothing else on stdout
    # --from 11-16 --to 11-22 in UTC: [11-16 00:00, 11-23 00:00).
    assert data["customers_by_stage"] == {
        "aware": 1, "engaged": 2, "understanding": 0, "trust": 1, "alliance": 0
    }  # fmt: skip
    assert data["recency"] == {"active": 1, "at_risk": 1, "lapsed": 1}
    assert (data["csat"]["average"], data["csat"]["count"]) == (3.5, 2)
    assert data["tickets"]["opened"] == 3 and data["tickets"]["resolved"] == 2
    assert "overdue" in data["tickets"]
    faq = data["faq"]
    assert (faq["questions"], faq["answered"], faq["suggested"], faq["fallback"]) == (6, 3, 2, 1)
    points = data["points"]
    assert (points["issued"], points["redeemed"], points["expired"]) == (550, 100, 30)
    assert points["outstanding"] == 1330
    assert data["members_by_tier"] == {"member": 3, "silver": 1, "gold": 0}


def test_bad_dates_and_no_output_are_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--config", str(config), *DAYS]) == 2
    assert main(["report", "--config", str(config), "--from", "soon", "--json"]) == 2
    assert main(["report", "--config", str(config), "--from", "2026-11-22", "--to",
                 "2026-11-01", "--json"]) == 2  # fmt: skip
    assert capsys.readouterr().out == ""


def test_a_reader_that_goes_away_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def closed_pipe(args: object) -> int:
        raise BrokenPipeError  # what print() raises once `| head` has exited

    monkeypatch.setattr(cli, "_dispatch", closed_pipe)
    assert cli.main(["status"]) == 141  # 128 + SIGPIPE, like a Unix tool
    assert "Traceback" not in capsys.readouterr().err
