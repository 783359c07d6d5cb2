"""End to end: purchases, complaints and ratings move the relationship stage as they happen."""

from __future__ import annotations

import re

from sandbox import SandboxUser
from storage import customers as customers_repo
from tests.conftest import Harness
from tests.outreach_support import add_purchase

# What a Chinese reply must not show: stage names, recency statuses and English reason words.
ENGLISH = re.compile(
    r"aware|engaged|understanding|trust|alliance|active|at.risk|lapsed|purchase|rule|days|staff",
    re.IGNORECASE,
)


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
    complaint = await harness.care.tickets.open_complaint(alice.id, "service", "Rude staff", None)
    assert complaint.ticket.number == 1001
    harness.clock.advance(days=3)
    await owner.send("/earn @alice 6.00 R-2")
    await owner.next_message()
    assert await _stage(harness, alice.id) == "engaged"  # blocked by the open complaint
    await owner.send("/resolve 1001 Sorry, coffee on us next time")
    await owner.next_message()
    assert await _stage(harness, alice.id) == "understanding"  # resolving unblocked it


async def _chinese_staff(harness: Harness) -> SandboxUser:
    wei = harness.customer("Wei", language_code="zh")
    await wei.send("/start")
    await wei.next_message()
    await harness.owner.send("/staff add @wei staff")
    assert "staff" in ((await harness.owner.next_message()).text or "")
    return wei


async def test_a_chinese_staff_member_reads_a_rule_driven_stage_in_chinese(
    harness: Harness,
) -> None:
    wei = await _chinese_staff(harness)
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    cid = (await harness.care.customers.require(alice.id)).id
    await harness.owner.send("/earn @alice 4.50 R-1")
    await harness.owner.next_message()
    harness.clock.advance(days=2)
    await add_purchase(harness.care.db, cid, harness.clock.now())
    await harness.care.stages.evaluate(cid)  # engaged, then understanding: two rule reasons
    await wei.send("/stage @alice")
    card = (await wei.next_message()).text or ""
    assert "阶段 了解，状态 活跃" in card
    assert "规则判定：了解（90 天内购买 2 次）" in card
    assert "认知 → 互动 · 规则：共购买 1 次，最近一次在 2026-11-22" in card
    assert "互动 → 了解 · 规则：90 天内购买 2 次" in card
    assert ENGLISH.findall(card) == [], card
    # The same card for an English-speaking owner keeps today's wording.
    await harness.owner.send("/stage @alice")
    english = (await harness.owner.next_message()).text or ""
    assert "stage understanding, status active" in english
    assert "Rules say: understanding (2 purchases in 90 days)" in english
    assert "engaged → understanding · rule: 2 purchases in 90 days" in english


async def test_staff_notes_and_old_free_text_reasons_show_as_written(harness: Harness) -> None:
    wei = await _chinese_staff(harness)
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    cid = (await harness.care.customers.require(alice.id)).id
    async with harness.care.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, created_at)"
            " VALUES (?, 'aware', 'engaged', 'demo data', '2026-01-02T10:00:00+00:00'),"
            " (?, 'engaged', 'aware', 'rule: no purchase yet', '2026-01-03T10:00:00+00:00')",
            (cid, cid),
        )
    await wei.send("/stage @alice trust 老顾客 (pays cash)")
    assert "现在的阶段是 信任（由你设定）" in ((await wei.next_message()).text or "")
    await wei.send("/stage @alice")
    card = (await wei.next_message()).text or ""
    assert "认知 → 信任 · 由员工 @wei 设定：老顾客 (pays cash)" in card
    assert "互动 → 认知 · rule: no purchase yet" in card  # an old row, as it was stored
    assert "认知 → 互动 · demo data" in card
    assert "阶段 信任（员工设定），状态 活跃" in card


async def test_setting_the_stage_a_customer_already_has_adds_no_history(
    harness: Harness,
) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    owner = harness.owner
    await owner.send("/stage @alice alliance our landlord")
    assert "now alliance" in ((await owner.next_message()).text or "")
    await owner.send("/stage @alice alliance again")
    assert "already alliance" in ((await owner.next_message()).text or "")
    await owner.send("/stage @alice")
    card = (await owner.next_message()).text or ""
    assert "alliance → alliance" not in card
    assert card.count("→") == 1 and "set by staff @olivia: our landlord" in card
