"""End to end: /report sends managers and owners an album of charts; nobody else gets one."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import SandboxUser
from storage import audit as audit_repo
from tests.conftest import Harness
from tests.reports_support import seed_shop


async def _joined(harness: Harness, name: str) -> SandboxUser:
    user = harness.customer(name)
    await user.send("/start")
    await user.next_message()
    return user


async def _grant(harness: Harness, user: SandboxUser, role: str) -> None:
    await harness.owner.send(f"/staff add @{user.username} {role}")
    assert f"is now {role}" in ((await harness.owner.next_message()).text or "")


async def test_report_is_refused_to_customers_and_staff_below_manager(harness: Harness) -> None:
    await seed_shop(harness.care.db)
    alice, bob = await _joined(harness, "Alice"), await _joined(harness, "Bob")
    await _grant(harness, bob, "staff")
    await alice.send("/report")
    assert (await alice.next_message()).text == "Sorry, that command is for staff only."
    await bob.send("/report week")
    assert (await bob.next_message()).text == "Sorry, that command needs the manager role."
    await alice.expect_no_message(0.3)
    await bob.expect_no_message(0.1)
    async with harness.care.db.read() as tx:
        rows = [r for r in await audit_repo.list_recent(tx, 50) if r.action == "report"]
    assert sorted(r.result for r in rows) == ["refused: needs manager"] * 2


async def test_a_manager_gets_an_album_of_six_charts_with_a_summary(harness: Harness) -> None:
    await seed_shop(harness.care.db)
    carol = await _joined(harness, "Carol")
    await _grant(harness, carol, "manager")
    await carol.send("/report month")
    album = [await carol.next_message(timeout=30) for _ in range(6)]
    assert {m.method for m in album} == {"sendmediagroup"}
    assert len({m.media_group_id for m in album}) == 1
    assert all(m.photo for m in album)
    caption = album[0].caption or ""
    assert caption.startswith("📊 ") and "customers 4, purchases 2" in caption
    assert "• Points redeemed rose from 0 to 100" in caption
    await carol.expect_no_message(0.3)


async def test_the_owner_of_an_empty_shop_is_told_there_is_no_data_yet(
    harness: Harness,
) -> None:
    harness.owner.language_code = "zh"
    await harness.owner.send("/report")
    reply = await harness.owner.next_message(timeout=30)
    assert reply.text == "📊 暂无数据：有顾客之后报告就会有内容。"


async def test_report_with_a_bad_period_shows_usage(harness: Harness) -> None:
    await harness.owner.send("/report year")
    reply = (await harness.owner.next_message()).text or ""
    assert reply.startswith("That doesn't look right. Usage:") and "/report [week|month]" in reply


async def test_only_an_owner_turns_their_digest_off_and_on(harness: Harness) -> None:
    carol = await _joined(harness, "Carol")
    await _grant(harness, carol, "manager")
    await carol.send("/report digest off")
    assert (await carol.next_message()).text == "Sorry, that command needs the owner role."
    await harness.owner.send("/report digest off")
    assert "No more weekly digests" in ((await harness.owner.next_message()).text or "")
    await harness.owner.send("/report digest on")
    assert (await harness.owner.next_message()).text == "The weekly digest is on for you."


async def test_the_owner_gets_the_weekly_digest_once_on_monday(harness: Harness) -> None:
    await seed_shop(harness.care.db)
    await harness.owner.send("/start")  # a bot may not write first
    await harness.owner.next_message()
    harness.clock.set(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))  # a Monday, after 08:00
    assert await harness.care.reports.queue_digest() == 1
    digest = await harness.owner.next_message(timeout=10)
    assert (digest.text or "").startswith("📊 Week of 2026-11-16:\n• ")
    assert "Send /report week for the charts." in (digest.text or "")
    assert (digest.text or "").count(" rose from ") + (digest.text or "").count(" fell from ") == 3
    harness.clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    assert await harness.care.reports.queue_digest() == 0
    await harness.owner.expect_no_message(0.5)
