"""The outbox: queued with the change that caused it, sent once after commit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from care.customers import CustomerService
from care.outbox import MAX_ATTEMPTS, Hooks, Outbox
from care.ports import Label, OutboundMessage, SendStatus
from care.settings import LocaleSettings
from storage import customers as customers_repo
from storage import outbox as repo
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger


async def _customer(db: Database, clock: FakeClock, telegram_id: int = 42) -> int:
    registration = await CustomerService(db, clock, LocaleSettings()).register(
        telegram_id, "ann", "Ann", "en"
    )
    return registration.customer.id


def _message(chat_id: int = 42) -> OutboundMessage:
    return OutboundMessage(
        chat_id, "loyalty.promoted", "zh", {"tier": Label("loyalty.tier.gold", "gold"), "n": 3},
        buttons=(("tickets.button_take", "tickets:take:7"),), photo="file-1",
    )  # fmt: skip


async def test_a_message_exists_only_if_its_transaction_committed(
    db: Database, clock: FakeClock
) -> None:
    messenger = RecordingMessenger()
    outbox = Outbox(db, clock, messenger)
    async with db.transaction() as tx:
        await outbox.add(tx, _message(1), kind="test")
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await outbox.add(tx, _message(2), kind="test")
            raise RuntimeError("the use case failed")
    assert await outbox.drain() == 1
    assert [m.chat_id for m in messenger.sent] == [1]
    assert messenger.sent[0] == _message(1)  # labels, buttons and photo survive the JSON
    assert await outbox.drain() == 0  # never twice


async def test_dedupe_key_queues_once(db: Database, clock: FakeClock) -> None:
    outbox = Outbox(db, clock, RecordingMessenger())
    async with db.transaction() as tx:
        assert await outbox.add(tx, _message(), kind="test", dedupe_key="k")
        assert not await outbox.add(tx, _message(), kind="test", dedupe_key="k")


async def test_blocked_marks_customer_unreachable_and_promotions_then_skip(
    db: Database, clock: FakeClock
) -> None:
    customer_id = await _customer(db, clock)
    messenger = RecordingMessenger()
    messenger.statuses[42] = SendStatus.BLOCKED
    outbox = Outbox(db, clock, messenger)
    async with db.transaction() as tx:
        await outbox.add(tx, _message(), kind="test", customer_id=customer_id)
    await outbox.drain()
    async with db.transaction() as tx:
        assert not (await customers_repo.get(tx, customer_id)).reachable
        await outbox.add(tx, _message(), kind="test", customer_id=customer_id, promotional=True)
    del messenger.statuses[42]
    await outbox.drain()
    assert messenger.sent == []
    async with db.read() as tx:
        assert await repo.counts(tx) == {"failed": 1, "skipped": 1}


async def test_failures_retry_with_backoff_then_give_up(db: Database, clock: FakeClock) -> None:
    messenger = RecordingMessenger()
    messenger.statuses[42] = SendStatus.FAILED
    given_up: list[SendStatus] = []

    async def undelivered(tx: object, row: object, status: SendStatus) -> None:
        given_up.append(status)

    outbox = Outbox(db, clock, messenger)
    outbox.on("test", Hooks(undelivered=undelivered))
    async with db.transaction() as tx:
        await outbox.add(tx, _message(), kind="test")
    for _ in range(MAX_ATTEMPTS):
        await outbox.drain()
        assert await outbox.drain() == 0  # the retry waits
        clock.advance(timedelta(hours=1))
    assert given_up == [SendStatus.FAILED]
    async with db.read() as tx:
        assert await repo.counts(tx) == {"failed": 1}


async def test_sent_hook_runs_with_the_message_id(db: Database, clock: FakeClock) -> None:
    seen: list[tuple[str | None, int]] = []

    async def sent(tx: object, row: repo.OutboxRow, message_id: int) -> None:
        seen.append((row.ref, message_id))

    outbox = Outbox(db, clock, RecordingMessenger())
    outbox.on("ticket.post", Hooks(sent=sent))
    async with db.transaction() as tx:
        await outbox.add(tx, _message(), kind="ticket.post", ref=9)
    await outbox.drain()
    assert seen == [("9", 1)]


async def test_a_send_interrupted_by_a_crash_is_not_repeated(
    db: Database, clock: FakeClock
) -> None:
    messenger = RecordingMessenger()
    outbox = Outbox(db, clock, messenger)
    async with db.transaction() as tx:
        await outbox.add(tx, _message(), kind="test")
        (row,) = await repo.due(tx, "9999", 10)
        await repo.mark_sending(tx, row.id)  # the process died during the send
    async with db.transaction() as tx:
        assert await repo.abandon_interrupted(tx) == 1
    assert await outbox.drain() == 0
    assert messenger.sent == []
