"""Helpers for segment and campaign tests: customers with chosen facts, services over a db."""

from __future__ import annotations

from typing import Any

from care.services import CareServices
from care.settings import CareSettings, StaffSettings
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger

OWNER = 1
STAFF_CHAT = -1000


def services(db: Database, clock: FakeClock, **sections: Any) -> CareServices:
    """Every care service over `db`, an owner (id 1), a staff chat, a recording messenger."""
    settings = CareSettings(staff=StaffSettings(owners=[OWNER], chat_id=STAFF_CHAT), **sections)
    care = CareServices.build(db, clock, settings, RecordingMessenger())
    care.outbox.pacer.sleep = _instant  # the pacer is measured in bench/, not in unit tests
    return care


async def _instant(seconds: float) -> None:
    return None


async def add_customer(care: CareServices, telegram_id: int, name: str, **facts: Any) -> int:
    """A registered customer, then `facts` (columns, `tags`, `no_chat`) set directly."""
    registration = await care.customers.register(telegram_id, name.lower(), name, "en")
    cid = registration.customer.id
    tags = facts.pop("tags", ())
    if facts.pop("no_chat", False):
        facts["telegram_id"] = None
    async with care.db.transaction() as tx:
        for column, value in facts.items():
            await tx.execute(f"UPDATE customers SET {column} = ? WHERE id = ?", (value, cid))
        for tag in tags:
            await tx.execute(
                "INSERT INTO customer_tags (customer_id, tag, created_at) VALUES (?, ?, '')",
                (cid, tag),
            )
    return cid


async def rows(db: Database, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Query results as dicts."""
    async with db.read() as tx:
        cursor = await tx.execute(sql, params)
        return [dict(row) for row in await cursor.fetchall()]
