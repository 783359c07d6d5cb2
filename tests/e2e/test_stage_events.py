"""End to end: purchases, complaints and ratings move the relationship stage as they happen."""

from __future__ import annotations

from storage import customers as customers_repo
from tests.conftest import Harness


async def _stage(harness: Harness, telegram_id: int) -> str:
    async with harness.care.db.read() as tx:
        row = await customers_repo.find_by_telegram_id(tx, telegram_id)
    assert row is not None
    return row.stage


async def test_an_earn_promotes_at_once_with_its_reason(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    assert await _stage(harness, alice.id) == "aware"
    owner = harness.owner
    await owner.send("/earn @alice 4.50 R-1")
    assert "New balance" in ((await owner.next_message()).text or "")
    assert await _stage(harness, alice.id) == "engaged"
    await owner.send("/stage @alice")
    card = (await owner.next_message()).text or ""
    assert "engaged" in card and "1 purchase(s)" in card


async def test_a_second_purchase_with_an_open_complaint_does_not_promote(
    harness: Harness,
) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    owner = harness.owner
    await owner.send("/earn @alice 4.50 R-1")
    await owner.next_message()
    complaint = await harness.care.tickets.open_complaint(
        (await harness.care.customers.require(alice.id)).id, "service", "Rude staff", None
    )
    assert complaint.ticket.number == 1001
    harness.clock.advance(days=3)
    await owner.send("/earn @alice 6.00 R-2")
    await owner.next_message()
    assert await _stage(harness, alice.id) == "engaged"  # blocked by the open complaint
    await owner.send("/resolve 1001 Sorry, coffee on us next time")
    await owner.next_message()
    assert await _stage(harness, alice.id) == "understanding"  # resolving unblocked it
