"""`carebot inbox` shows owners the updates set aside after failing, and puts one back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from care.inbox import Inbox
from storage.db import Database
from storage.migrate import migrate
from tests.fakes import FakeClock


async def _park(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        await migrate(db)
        inbox = Inbox(db, FakeClock())
        update = {"update_id": 41, "message": {"chat": {"id": 9}, "text": "hello there"}}
        await inbox.store(7, [update, {**update, "update_id": 42}])
        await inbox.park(7, 41, "unparsable: TypeError('chat')")
    finally:
        await db.close()


def test_parked_updates_are_listed_and_can_be_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "care.sqlite3"\n', "utf-8")
    asyncio.run(_park(tmp_path / "care.sqlite3"))
    assert main(["inbox", "--config", str(config)]) == 1  # something needs an owner's look
    listing = capsys.readouterr().out
    assert "1 pending, 0 done, 1 parked" in listing
    assert "41" in listing and "message: hello there" in listing and "TypeError" in listing
    assert main(["inbox", "--retry", "41", "--config", str(config)]) == 0
    assert main(["inbox", "--retry", "41", "--config", str(config)]) == 2  # no longer parked
    capsys.readouterr()
    assert main(["inbox", "--config", str(config)]) == 0
    assert "2 pending, 0 done, 0 parked" in capsys.readouterr().out
