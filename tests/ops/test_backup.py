"""Online backups: consistent while writes go on, verified, recorded, pruned; restore's rules."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import threading
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot import backup
from care.services import CareServices
from care.settings import BackupSettings, CareSettings, StaffSettings
from storage.db import Database
from storage.migrate import latest_version
from tests.fakes import FakeClock, RecordingMessenger

OWNER = 700_000_001


def _care(db: Database, clock: FakeClock, tmp_path: Path, **keep: int) -> CareServices:
    settings = CareSettings(
        staff=StaffSettings(owners=[OWNER]),
        backup=BackupSettings(dir=str(tmp_path / "backups"), **keep),
    )
    return CareServices.build(db, clock, settings, RecordingMessenger())


async def _writer(
    db: Database, going: asyncio.Event, stop: asyncio.Event, batches: list[int]
) -> None:
    """Commit pairs of rows that belong together until told to stop."""
    batch = 0
    while not stop.is_set():
        batch += 1
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO pairs (batch, half) VALUES (?, 1)", (batch,))
            await asyncio.sleep(0)  # let the backup thread see the transaction half done
            await tx.execute("INSERT INTO pairs (batch, half) VALUES (?, 2)", (batch,))
        batches.append(batch)
        if len(batches) == 5:
            going.set()
        await asyncio.sleep(0)


async def _padded(db: Database) -> None:
    """A few megabytes of rows, so that a backup takes a while."""
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE pairs (batch INTEGER NOT NULL, half INTEGER NOT NULL)")
        await tx.execute("CREATE TABLE padding (blob TEXT)")
        await tx.executemany(
            "INSERT INTO padding (blob) VALUES (?)", [(f"{i:08d}" * 64,) for i in range(40_000)]
        )


async def test_a_backup_taken_while_writes_happen_is_consistent_and_the_loop_keeps_running(
    db: Database, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.backup")
    care = _care(db, clock, tmp_path)
    await _padded(db)
    going, stop, batches = asyncio.Event(), asyncio.Event(), []
    writer = asyncio.create_task(_writer(db, going, stop, batches))
    await going.wait()
    before = len(batches)
    target = tmp_path / "live.sqlite3"
    outcome = await backup.take(care, target)
    during = len(batches) - before
    stop.set()
    await writer

    assert outcome.ok, outcome.error
    assert during > 0, "the writer was blocked while the backup ran"
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        halves = copy.execute("SELECT batch, count(*) FROM pairs GROUP BY batch").fetchall()
        assert len(halves) >= before
        assert {count for _, count in halves} == {2}, "a transaction was torn"
        assert copy.execute("SELECT count(*) FROM padding").fetchone() == (40_000,)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert outcome.counts["padding"] == 40_000
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("backup ok")]
    assert "rows.padding=40000" in line and f"rows.pairs={outcome.counts['pairs']}" in line
    health = await care.ops.health()
    assert health.last_backup is not None and health.last_backup.ok
    assert health.last_backup.counts["padding"] == 40_000


async def test_a_failed_backup_is_recorded_and_alerts_every_owner(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    (tmp_path / "backups").write_text("a file where the folder should be", "utf-8")
    care = _care(db, clock, tmp_path)

    outcome = await backup.scheduled(care)
    await care.outbox.drain()

    assert not outcome.ok
    health = await care.ops.health()
    assert health.last_backup is not None and not health.last_backup.ok
    assert health.last_good_backup is None
    messenger = care.messenger
    assert isinstance(messenger, RecordingMessenger)
    assert [(m.chat_id, m.key) for m in messenger.sent] == [(OWNER, "ops.backup_failed")]
    assert messenger.sent[0].fields["error"]


async def test_retention_keeps_the_newest_of_recent_days_and_weeks(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    care = _care(db, clock, tmp_path, keep_daily=3, keep_weekly=2)
    for _ in range(20):  # one a day from Sunday 2026-11-22 to Friday 2026-12-11
        assert (await backup.scheduled(care)).ok
        clock.advance(days=1)

    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    days = [date(2026, 12, 6), date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 11)]
    assert kept == [f"carebot-{d:%Y%m%d}T100000Z.sqlite3" for d in days]


def test_retention_ignores_files_that_are_not_backups(tmp_path: Path) -> None:
    names = ["carebot-20261122T100000Z.sqlite3", "notes.txt", "carebot-garbage.sqlite3"]
    paths = [tmp_path / name for name in names]
    assert backup.to_prune(paths, keep_daily=1, keep_weekly=0) == []


async def _backup_file(db: Database, clock: FakeClock, tmp_path: Path) -> Path:
    care = _care(db, clock, tmp_path)
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE marks (what TEXT)")
        await tx.execute("INSERT INTO marks VALUES ('from the backup')")
    target = tmp_path / "good.sqlite3"
    assert (await backup.take(care, target)).ok
    return target


async def test_restore_replaces_the_database_and_keeps_the_old_one_aside(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    source = await _backup_file(db, clock, tmp_path)
    live = tmp_path / "live" / "care.sqlite3"
    live.parent.mkdir()
    with sqlite3.connect(live) as old:
        old.execute("CREATE TABLE marks (what TEXT)")
        old.execute("INSERT INTO marks VALUES ('the replaced one')")

    done = backup.restore(source, str(live), clock.now())

    assert done.schema_version == latest_version()
    with sqlite3.connect(live) as conn:
        assert conn.execute("SELECT what FROM marks").fetchall() == [("from the backup",)]
    assert done.aside is not None and done.aside.parent == live.parent
    with sqlite3.connect(done.aside) as conn:
        assert conn.execute("SELECT what FROM marks").fetchall() == [("the replaced one",)]


async def test_restore_refuses_a_backup_newer_than_the_code(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    source = await _backup_file(db, clock, tmp_path)
    with sqlite3.connect(source) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    live = tmp_path / "restored.sqlite3"

    with pytest.raises(backup.BackupError, match="schema version"):
        backup.restore(source, str(live), clock.now())
    assert not live.exists()


async def test_restore_refuses_while_a_bot_holds_the_database(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    source = await _backup_file(db, clock, tmp_path)
    live = tmp_path / "restored.sqlite3"
    live.write_bytes(b"")

    with backup.run_lock(str(live), exclusive=False), pytest.raises(backup.BotRunning):
        backup.restore(source, str(live), clock.now())
    assert live.read_bytes() == b""
    backup.restore(source, str(live), clock.now())  # the lock is gone with the bot
    assert live.stat().st_size > 0


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(backup.BackupError, match="not a usable SQLite database"):
        backup.restore(junk, str(tmp_path / "restored.sqlite3"), FakeClock().now())


def test_backup_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="keep_daily"):
        BackupSettings(keep_daily=0)
    assert replace(BackupSettings(), interval_hours=0).interval_hours == 0
    assert timedelta(hours=BackupSettings().interval_hours) == timedelta(days=1)


async def test_a_restore_that_fails_while_copying_leaves_the_database_as_it_was(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    source = await _backup_file(db, clock, tmp_path)
    live = tmp_path / "restored.sqlite3"
    with sqlite3.connect(live) as old:
        old.execute("CREATE TABLE marks (what TEXT)")
        old.execute("INSERT INTO marks VALUES ('still here')")
    (tmp_path / "restored.sqlite3.restoring.partial").mkdir()  # the copy cannot be written

    with pytest.raises(backup.BackupError, match="left as it was"):
        backup.restore(source, str(live), clock.now())
    with sqlite3.connect(live) as conn:
        assert conn.execute("SELECT what FROM marks").fetchall() == [("still here",)]


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")
async def test_the_backup_runs_at_the_lowest_priority_and_leaves_the_bot_s_threads_alone(
    db: Database, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before, pool_before = priority(), await asyncio.to_thread(priority)
    seen: list[int] = []
    real = backup.verify

    def verify_noting_priority(conn: sqlite3.Connection) -> tuple[int, dict[str, int]]:
        seen.append(priority())  # the copy's own thread, while it checks the copy
        return real(conn)

    monkeypatch.setattr(backup, "verify", verify_noting_priority)
    outcome = await backup.take(_care(db, clock, tmp_path), tmp_path / "copy.sqlite3")
    assert outcome.ok and seen == [backup.BACKUP_NICE]
    assert priority() == before and await asyncio.to_thread(priority) == pool_before
