"""Opening the database, the one way every carebot command does it: migrated forward first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.db import Database
from storage.migrate import migrate


async def open_database(path: str) -> tuple[Database, list[str]]:
    """Open the SQLite file and apply the migrations it lacks; return it and the files applied.

    A database newer than this code is refused (storage's SchemaTooNew) and left closed.
    """
    db = await Database.open(path)
    try:
        applied = await migrate(db)
    except BaseException:
        await db.close()  # else aiosqlite's thread keeps the process alive
        raise
    return db, applied


@asynccontextmanager
async def migrated_database(path: str) -> AsyncIterator[Database]:
    """`open_database` for the length of a block; the database is closed after it."""
    db, _ = await open_database(path)
    try:
        yield db
    finally:
        await db.close()
