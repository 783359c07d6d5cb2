"""Helpers for stage and outreach tests: purchases, tickets and customers as the other features
(loyalty, tickets) will write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from care.clock import iso
from care.customers import CustomerService
from care.loyalty.service import LoyaltyService
from care.outbox import Outbox
from care.outreach.service import OutreachService
from care.ports import OutboundMessage, SendResult, SendStatus
from care.settings import (
    LocaleSettings,
    LoyaltySettings,
    OutreachSettings,
    StaffSettings,
    StageSettings,
)
from care.staff import StaffService
from care.stages.service import StageService
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger

OWNER = 900_000_001  # the owner in StaffSettings of the services `build` wires


class ScriptedMessenger(RecordingMessenger):
    """A RecordingMessenger whose next sends to a chat fail as scripted (status and error text,
    as the Telegram messenger reports them), then succeed; `attempts` counts every send."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[OutboundMessage] = []
        self._script: dict[int, list[SendResult]] = {}

    def fail_next(self, chat_id: int, error: str, status: SendStatus = SendStatus.FAILED) -> None:
        """Make the next unscripted send to this chat fail with `error`."""
        self._script.setdefault(chat_id, []).append(SendResult(status, error=error))

    async def send(self, message: OutboundMessage) -> SendResult:
        """Report the next scripted failure for the chat, else behave as RecordingMessenger."""
        self.attempts.append(message)
        script = self._script.get(message.chat_id)
        if script:
            return script.pop(0)
        return await super().send(message)


async def add_customer(
    db: Database, clock: FakeClock, telegram_id: int, name: str = "Alice", **columns: Any
) -> int:
    """Register a customer (as /start does) and set extra columns (timezone, birthday, …)."""
    service = CustomerService(db, clock, LocaleSettings())
    registration = await service.register(telegram_id, name.lower(), name, "en")
    if columns:
        await set_columns(db, registration.customer.id, **columns)
    return registration.customer.id


async def set_columns(db: Database, customer_id: int, **columns: Any) -> None:
    """Update customer columns directly."""
    sets = ", ".join(f"{name} = ?" for name in columns)
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE customers SET {sets} WHERE id = ?", (*columns.values(), customer_id)
        )


async def add_purchase(db: Database, customer_id: int, at: datetime, cents: int = 450) -> None:
    """A purchase row, as the loyalty feature records with every earn."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO purchases (customer_id, amount_cents, created_at) VALUES (?, ?, ?)",
            (customer_id, cents, iso(at)),
        )


async def add_ticket(
    db: Database,
    customer_id: int,
    at: datetime,
    *,
    kind: str = "complaint",
    status: str = "open",
    rating: int | None = None,
) -> int:
    """A ticket row, as the tickets feature writes it; returns its id."""
    async with db.transaction() as tx:
        cursor = await tx.execute("SELECT COALESCE(MAX(number), 1000) + 1 FROM tickets")
        number = (await cursor.fetchone())[0]
        cursor = await tx.execute(
            "INSERT INTO tickets (number, customer_id, kind, status, rating, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (number, customer_id, kind, status, rating, iso(at), iso(at)),
        )
        return int(cursor.lastrowid or 0)


async def rows(db: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Query rows as dicts."""
    async with db.read() as tx:
        cursor = await tx.execute(sql, params)
        return [dict(row) for row in await cursor.fetchall()]


def build(
    db: Database,
    clock: FakeClock,
    messenger: Any | None = None,
    *,
    stages: StageSettings | None = None,
    locale: LocaleSettings | None = None,
    **outreach: Any,
) -> tuple[StageService, OutreachService, RecordingMessenger]:
    """A StageService and an OutreachService as CareServices.build wires them."""
    recorder = messenger or RecordingMessenger()
    settings = OutreachSettings(**outreach)
    stage_service = StageService(db, clock, stages or StageSettings(), settings)
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER]))
    service = OutreachService(
        db,
        clock,
        settings,
        locale or LocaleSettings(),
        recorder,
        staff,
        "Bean There Café",
        loyalty=LoyaltyService(
            db,
            clock,
            LoyaltySettings(),
            locale or LocaleSettings(),
            staff=staff,
            stages=stage_service,
            outbox=Outbox(db, clock, recorder),
        ),
    )

    async def instant(_: float) -> None:
        return None

    service.pacer.sleep = instant  # the pacer is measured in bench/, not in unit tests
    return stage_service, service, recorder
