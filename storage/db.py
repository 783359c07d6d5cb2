"""The process's database: one aiosqlite connection for the use cases' transactions, and two
inline connections for the update pipeline's hot path (single reads, plain writes)."""

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
CONNECTION_PRAGMAS = ("synchronous = NORMAL", "foreign_keys = ON")  # each writing connection's

Work = Callable[["Writes"], Awaitable[None]]


class Reads(Protocol):
    """What a single read statement needs: an aiosqlite connection, or an inline one."""

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> Iterable[sqlite3.Row]:
        """Run one statement and return all its rows."""
        ...


class Writes(Protocol):
    """What the pipeline's plain writes need: an aiosqlite connection, or an inline one."""

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Awaitable[Any]:
        """Run one statement (its cursor has `rowcount`)."""
        ...

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Awaitable[Any]:
        """Run one statement for each set of parameters."""
        ...


class InlineConnection:
    """Statements run on the caller's thread by a connection of its own, with aiosqlite's
    interface: no round trip to aiosqlite's thread (tens of microseconds of CPU each, more
    under load). Only for what cannot wait on another process: a read (in WAL a reader never
    waits for a writer) or the statements of a write transaction that already holds the lock."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> list[sqlite3.Row]:
        """Run one statement now and return all its rows."""
        return self.conn.execute(sql, tuple(parameters or ())).fetchall()

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> sqlite3.Cursor:
        """Run one statement now."""
        return self.conn.execute(sql, tuple(parameters or ()))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> sqlite3.Cursor:
        """Run one statement now for each set of parameters."""
        return self.conn.executemany(sql, (tuple(row) for row in parameters))


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
    """The process's connections; every use case runs inside `transaction()`."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: str,
        inline: tuple[InlineConnection, InlineConnection] | None = None,
    ) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._reads: InlineConnection | None = inline[0] if inline else None
        self._writes: InlineConnection | None = inline[1] if inline else None
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
            for pragma in CONNECTION_PRAGMAS:
                await conn.execute(f"PRAGMA {pragma}")
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.DatabaseError as exc:
            await conn.close()  # else aiosqlite's thread keeps the process alive
            raise NotADatabase(f"{path} is not a usable SQLite database ({exc})") from exc
        return cls(conn, path, None if path == ":memory:" else _inline(path))

    async def close(self) -> None:
        """Close the connection, waiting for a running transaction to finish."""
        async with self._lock:
            await self._conn.close()
            for inline in (self._reads, self._writes):
                if inline is not None:
                    inline.conn.close()

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
        async with self.plain_write() as tx:
            for rider in waiting:
                for work in rider.works:
                    await work(tx)
        for rider in waiting:
            rider.committed = True

    @asynccontextmanager
    async def plain_write(self) -> AsyncIterator[Writes]:
        """A write transaction of plain statements on the update pipeline's hot path (the
        inbox, done marks): run inline once it holds the write lock, and in aiosqlite's thread
        only when another process holds it (the wait must not stop the event loop)."""
        async with self._lock:
            tx: Writes = self._conn
            if self._writes is not None and _begin_now(self._writes.conn):
                tx = self._writes
            else:
                await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield tx
            except BaseException:
                await tx.execute("ROLLBACK")
                raise
            await tx.execute("COMMIT")

    def read(self) -> Any:
        """A read-only transaction: a consistent snapshot, no write lock on the file."""
        return self.transaction(write=False)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[Reads]:
        """Somewhere to run exactly one read statement, which SQLite runs as its own snapshot.

        Cheaper than `read()` on hot paths: no BEGIN/COMMIT, and on a file no round trip to the
        database thread at all (`InlineConnection`). It sees what is committed, never the open
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


def _inline(path: str) -> tuple[InlineConnection, InlineConnection]:
    """The inline reader (read-only) and writer (never waits for a lock) of the file; opened
    after WAL is on."""
    reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    reader.row_factory = sqlite3.Row
    reader.execute("PRAGMA query_only = ON")
    reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    writer.row_factory = sqlite3.Row
    for pragma in CONNECTION_PRAGMAS:
        writer.execute(f"PRAGMA {pragma}")
    writer.execute("PRAGMA busy_timeout = 0")
    return InlineConnection(reader), InlineConnection(writer)


def _begin_now(conn: sqlite3.Connection) -> bool:
    """Take the write lock if it is free this instant; False if another process holds it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return False
        raise
    return True
