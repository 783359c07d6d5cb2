"""One aiosqlite connection per process, tuned for a small always-on bot, and its transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from storage.errors import NotADatabase

BUSY_TIMEOUT_MS = 5000

Work = Callable[[aiosqlite.Connection], Awaitable[None]]


class Reads(Protocol):
    """What a single read statement needs: an aiosqlite connection, or the inline reader."""

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> Iterable[sqlite3.Row]:
        """Run one statement and return all its rows."""
        ...


class InlineReads:
    """Single read statements run on the caller's thread by a read-only connection of their
    own: in WAL a reader never waits for a writer, so the event loop is not held up, and the
    round trip to aiosqlite's thread (tens of microseconds of CPU each) is saved."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> list[sqlite3.Row]:
        """Run one statement now and return all its rows."""
        return self._conn.execute(sql, tuple(parameters or ())).fetchall()

    def close(self) -> None:
        """Close the reader's connection."""
        self._conn.close()


class Rider:
    """Writes that ride along with the next write transaction of the current task, once.

    The update pipeline marks an update handled (and refreshes the customer's last-seen) in the
    same transaction as the handler's change, without the handler knowing: a crash either keeps
    both or neither. With no write by the handler, `Database.settle` commits them alone.
    """

    __slots__ = ("committed", "works")

    def __init__(self) -> None:
        self.works: list[Work] = []
        self.committed = False


_rider: ContextVar[Rider | None] = ContextVar("carebot_rider", default=None)


@contextmanager
def riding() -> Iterator[Rider]:
    """Give the current task (an update being handled) a rider for its first write."""
    rider = Rider()
    token = _rider.set(rider)
    try:
        yield rider
    finally:
        _rider.reset(token)


def change_committed() -> bool:
    """Whether the current task's rider already committed (the update's change happened)."""
    rider = _rider.get()
    return rider is not None and rider.committed


def ride_along(work: Work) -> bool:
    """Add `work` to the current task's rider; False when there is none (run it yourself)."""
    rider = _rider.get()
    if rider is None or rider.committed:
        return False
    rider.works.append(work)
    return True


class Database:
    """The process's single connection; every use case runs inside `transaction()`."""

    def __init__(
        self, conn: aiosqlite.Connection, path: str, reads: InlineReads | None = None
    ) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._reads = reads
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
        return cls(conn, path, None if path == ":memory:" else _inline_reads(path))

    async def close(self) -> None:
        """Close the connection, waiting for a running transaction to finish."""
        async with self._lock:
            await self._conn.close()
            if self._reads is not None:
                self._reads.close()

    @asynccontextmanager
    async def transaction(
        self, *, write: bool = True, carry: bool = True
    ) -> AsyncIterator[aiosqlite.Connection]:
        """Everything inside commits together or not at all; with `carry=False` a write does
        not take the current update's rider (it records an attempt, not the update's change)."""
        # Handlers and jobs share one connection: without the lock their statements would
        # interleave inside each other's transactions.
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            rider = _rider.get() if write and carry else None
            try:
                yield self._conn
                if rider is not None and not rider.committed:
                    for work in rider.works:
                        await work(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
            if rider is not None:
                rider.committed = True

    async def settle(self, riders: list[Rider]) -> None:
        """Commit, together, the writes of riders that no write transaction carried."""
        waiting = [rider for rider in riders if not rider.committed and rider.works]
        if not waiting:
            return
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for rider in waiting:
                    for work in rider.works:
                        await work(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
        for rider in waiting:
            rider.committed = True

    def read(self) -> Any:
        """A read-only transaction: a consistent snapshot, no write lock on the file."""
        return self.transaction(write=False)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[Reads]:
        """Somewhere to run exactly one read statement, which SQLite runs as its own snapshot.

        Cheaper than `read()` on hot paths: no BEGIN/COMMIT, and on a file no round trip to the
        database thread at all (`InlineReads`). It sees what is committed, never the open
        transaction of another coroutine.
        """
        if self._reads is not None:
            yield self._reads
            return
        async with self._lock:  # in memory: the one connection, kept out of open transactions
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


def _inline_reads(path: str) -> InlineReads:
    """A read-only connection to the file for `InlineReads` (opened after WAL is on)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return InlineReads(conn)
