"""The transaction helper: all or nothing, and no interleaving between coroutines."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage.db import Database


async def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, result, created_at)"
                " VALUES (1, 'x', 'ok', 't')"
            )
            raise RuntimeError("boom")
    assert await db.scalar("SELECT COUNT(*) FROM audit_log") == 0


async def test_concurrent_transactions_do_not_interleave(db: Database) -> None:
    async def add_pair(n: int) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, result, created_at)"
                " VALUES (?, 'first', 'ok', 't')",
                (n,),
            )
            await asyncio.sleep(0)
            if n % 2:
                raise ValueError(n)
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, result, created_at)"
                " VALUES (?, 'second', 'ok', 't')",
                (n,),
            )

    results = await asyncio.gather(*(add_pair(n) for n in range(20)), return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 10
    assert await db.scalar("SELECT COUNT(*) FROM audit_log") == 20
    assert await db.scalar("SELECT COUNT(*) FROM audit_log WHERE actor_id % 2 = 1") == 0


async def test_a_statement_sees_what_committed_and_not_an_open_transaction(db: Database) -> None:
    count = "SELECT COUNT(*) FROM audit_log"
    inside = asyncio.Event()
    release = asyncio.Event()

    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, result, created_at)"
                " VALUES (1, 'x', 'ok', 't')"
            )
            inside.set()
            await release.wait()

    async def read() -> int:
        async with db.statement() as reads:
            [[n]] = await reads.execute_fetchall(count)
            return int(n)

    writer = asyncio.create_task(write())
    await inside.wait()
    during = await asyncio.wait_for(read(), 5)  # it does not wait for the open transaction
    release.set()
    await writer
    assert (during, await read()) == (0, 1)


async def test_a_statement_cannot_write(db: Database) -> None:
    async with db.statement() as reads:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reads.execute_fetchall(
                "INSERT INTO audit_log (actor_id, action, result, created_at)"
                " VALUES (1, 'x', 'ok', 't')"
            )


async def _audit_count(db: Database) -> int:
    return int(await db.scalar("SELECT COUNT(*) FROM audit_log"))


async def test_a_plain_write_commits_or_leaves_nothing(db: Database) -> None:
    insert = (
        "INSERT INTO audit_log (actor_id, action, result, created_at) VALUES (1, 'x', 'ok', 't')"
    )
    async with db.plain_write() as tx:
        await tx.execute(insert)
    with pytest.raises(RuntimeError):
        async with db.plain_write() as tx:
            await tx.execute(insert)
            raise RuntimeError("boom")
    assert await _audit_count(db) == 1


async def test_a_plain_write_waits_for_another_process_without_stopping_the_loop(
    db: Database,
) -> None:
    other = sqlite3.connect(db.path, isolation_level=None)  # as another process would
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with db.plain_write() as tx:
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, result, created_at)"
                " VALUES (2, 'x', 'ok', 't')"
            )

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.05)  # the loop runs on (a blocking wait here would never end)
    assert not writer.done()
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, 10)
    assert await _audit_count(db) == 1
