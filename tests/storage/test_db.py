"""The transaction helper: all or nothing, and no interleaving between coroutines."""

from __future__ import annotations

import asyncio

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
