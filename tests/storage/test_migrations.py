"""Migrations: numbering, fresh vs upgraded databases, re-runs, and refusing what is unsafe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage import migrate as migrate_module
from storage.db import Database
from storage.errors import MigrationFailed, SchemaTooNew
from storage.migrate import (
    Migration,
    available_migrations,
    current_version,
    latest_version,
    migrate,
)


async def _schema(db: Database) -> list[tuple[str, str]]:
    async with db.read() as tx:
        cursor = await tx.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        )
        return [(row[0], re.sub(r"\s+", " ", row[1])) for row in await cursor.fetchall()]


def test_migration_numbers_are_unique_and_contiguous() -> None:
    versions = [m.version for m in available_migrations()]
    assert versions == list(range(1, len(versions) + 1))
    for migration in available_migrations():
        assert f"PRAGMA user_version = {migration.version};" in migration.sql, migration.name


async def test_fresh_database_gets_every_table(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "fresh.sqlite3")
    applied = await migrate(db)
    assert len(applied) == latest_version()
    tables = {name for name, _ in await _schema(db)}
    expected = {
        "customers", "stage_history", "points_ledger", "purchases", "tickets", "ticket_messages",
        "faq", "unanswered", "outreach", "audit_log", "staff_roles", "inbox", "outbox",
    }  # fmt: skip
    assert expected <= tables
    assert await db.scalar("PRAGMA journal_mode") == "wal"
    assert await db.scalar("PRAGMA foreign_keys") == 1
    await db.close()


async def test_rerun_is_a_no_op_and_upgrade_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "upgrade.sqlite3"
    db = await Database.open(path)
    await db.executescript(available_migrations()[0].sql)  # an old install at version 1
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO customers (telegram_id, name, member_code, stage_since, created_at)"
            " VALUES (42, 'Old Timer', 'ABC234', '2025-01-01', '2025-01-01')"
        )
    await migrate(db)
    assert await migrate(db) == []
    assert await current_version(db) == latest_version()
    assert await db.scalar("SELECT name FROM customers WHERE telegram_id = 42") == "Old Timer"
    upgraded = await _schema(db)
    await db.close()

    fresh = await Database.open(tmp_path / "fresh.sqlite3")
    await migrate(fresh)
    assert await _schema(fresh) == upgraded
    await fresh.close()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "newer.sqlite3")
    await db.executescript(f"PRAGMA user_version = {latest_version() + 1};")
    with pytest.raises(SchemaTooNew):
        await migrate(db)
    await db.close()


async def test_a_failing_migration_keeps_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await Database.open(tmp_path / "broken.sqlite3")
    await migrate(db)
    version = await current_version(db)
    broken = Migration(
        version + 1,
        "9999_broken.sql",
        "BEGIN; CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);"
        f" PRAGMA user_version = {version + 1}; COMMIT;",
    )
    shipped = available_migrations()
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: [*shipped, broken])
    monkeypatch.setattr(migrate_module, "latest_version", lambda: version + 1)
    with pytest.raises(Exception, match="no_such_table"):
        await migrate(db)
    assert await current_version(db) == version
    assert await db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'") == 0
    await db.close()


async def test_version_check_catches_a_file_that_forgets_its_pragma(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await Database.open(tmp_path / "forgetful.sqlite3")
    await migrate(db)
    version = await current_version(db)
    forgetful = Migration(version + 1, "9998_forgetful.sql", "BEGIN; CREATE TABLE t (x); COMMIT;")
    shipped = available_migrations()
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: [*shipped, forgetful])
    monkeypatch.setattr(migrate_module, "latest_version", lambda: version + 1)
    with pytest.raises(MigrationFailed):
        await migrate(db)
    await db.close()
