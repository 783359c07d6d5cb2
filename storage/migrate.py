"""Applies `migrations/NNNN_name.sql` in order, tracked by `PRAGMA user_version`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

from storage.db import Database
from storage.errors import MigrationFailed, SchemaTooNew

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every migration shipped with the code, in version order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    """The schema version this code expects."""
    migrations = available_migrations()
    return migrations[-1].version if migrations else 0


async def current_version(db: Database) -> int:
    """The database's schema version."""
    return int(await db.scalar("PRAGMA user_version"))


async def migrate(db: Database) -> list[str]:
    """Bring the database up to date; return the names of the files applied."""
    version = await current_version(db)
    latest = latest_version()
    if version > latest:
        raise SchemaTooNew(
            f"database {db.path} is at schema version {version}, this carebot knows {latest}"
        )
    applied = []
    for migration in available_migrations():
        if migration.version <= version:
            continue
        await db.executescript(migration.sql)
        version = await current_version(db)
        if version != migration.version:
            raise MigrationFailed(f"{migration.name} left user_version at {version}")
        log.info("migration applied name=%s", migration.name)
        applied.append(migration.name)
    return applied
