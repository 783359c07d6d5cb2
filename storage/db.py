"""One aiosqlite connection per process, tuned for a small always-on bot, and its transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import NotADatabase

BUSY_TIMEOUT_MS = 5000


class Database:
    """The process's single connection; every use case runs inside `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the SQLite file with WAL, foreign keys and a busy timeout."""
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.DatabaseError as exc:
            await conn.close()  # else aiosqlite's thread keeps the process alive
            raise NotADatabase(f"{path} is not a usable SQLite database ({exc})") from exc
        return cls(conn, path)

    async def close(self) -> None:
        """Close the connection, waiting for a running transaction to finish."""
        async with self._lock:
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """Everything inside commits together or not at all."""
        # Handlers and jobs share one connection: without the lock their statements would
        # interleave inside each other's transactions.
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    def read(self) -> Any:
        """A read-only transaction: a consistent snapshot, no write lock on the file."""
        return self.transaction(write=False)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for exactly one read statement, which SQLite runs as its own snapshot.

        Cheaper than `read()` on hot paths (no BEGIN/COMMIT round trips to the database thread);
        the lock still keeps it out of another coroutine's open transaction.
        """
        async with self._lock:
            yield self._conn

    async def executescript(self, script: str) -> None:
        """Run a script that carries its own transaction (migrations)."""
        async with self._lock:
            try:
                await self._conn.executescript(script)
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Run one query outside a use case and return its first column (e.g. a PRAGMA)."""
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            row = await cursor.fetchone()
            await cursor.close()
        return None if row is None else row[0]
