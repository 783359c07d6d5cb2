"""End to end through the sandbox: segments, a campaign previewed and sent, local times."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import SandboxUser
from tests.campaign_support import rows
from tests.conftest import Harness


async def _join(harness: Harness, user: SandboxUser) -> int:
    await user.send("/start")
    await user.next_message()
    return (await harness.care.customers.require(user.id)).id


async def test_staff_define_a_segment_preview_and_send(harness: Harness) -> None:
    owner = harness.owner
    alice, wei = harness.customer("Alice"), harness.customer("Wei", language_code="zh")
    sam, bob = harness.customer("Sam"), harness.customer("Bob")
    for user in (alice, wei, sam, bob):
        await _join(harness, user)
    await sam.send("/stop")
    await sam.next_message()
    harness.sandbox.block(bob)
    async with harness.care.db.transaction() as tx:  # as a 403 during an earlier send leaves it
        await tx.execute("UPDATE customers SET reachable = 0 WHERE name = 'Bob'")
    await owner.send("/segment new everyone stage>=aware")
    saved = (await owner.next_message()).text or ""
    assert "Segment “everyone” saved" in saved and "Customers now: 4." in saved
    await owner.send("/segment new bad colour=red")
    assert "Unknown key “colour”" in ((await owner.next_message()).text or "")
    await owner.send("/campaign new everyone | en Our autumn menu is here | zh 秋季菜单上新了")
    preview = await owner.next_message()
    text = preview.text or ""
    assert "Will receive it: 2 (en 1, zh 1)" in text
    assert "opted out (/stop) 1" in text and "unreachable (blocked the bot) 1" in text
    assert "— zh: 秋季菜单上新了" in text
    await alice.expect_no_message(0.3)  # nothing goes before the confirmation
    await owner.press(preview, "Send")
    assert "2 messages queued" in ((await owner.next_message()).text or "")
    got = await alice.next_message()
    assert got.text == "Our autumn menu is here"
    assert (await wei.next_message()).text == "秋季菜单上新了"
    finished = await owner.next_message(chat=harness.staff_chat)
    assert "finished: 2 sent, 0 failed, 0 skipped" in (finished.text or "")
    await sam.expect_no_message(0.2)
    await bob.expect_no_message(0.2)
    # "Stop these": the next campaign leaves Alice out and counts her.
    await alice.press(got, "Stop these")
    assert "no more of these messages" in ((await alice.next_message()).text or "")
    harness.clock.advance(minutes=5)
    await wei.send("好的，谢谢")  # a reply; Alice's button press is not one
    await wei.next_message()
    await owner.send("/campaign stats 1")
    stats = (await owner.next_message()).text or ""
    assert "sent 2" in stats and "done" in stats and "replies 1" in stats
    audit = await rows(
        harness.care.db, "SELECT action, result FROM audit_log WHERE action = 'campaign'"
    )
    assert [a["result"].split(" ")[0] for a in audit] == ["draft", "queued", "stats"]
    await owner.send("/campaign new everyone | en Again")
    assert "opted out of promotions 1" in ((await owner.next_message()).text or "")
    # /resume is the way back: promotions (and any per-kind mute) are on again.
    await alice.send("/resume")
    assert "you'll hear from us again" in ((await alice.next_message()).text or "")
    await owner.send("/campaign new everyone | en Once more")
    assert "opted out of promotions" not in ((await owner.next_message()).text or "")


async def test_a_customer_is_refused_campaign(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await _join(harness, alice)
    for command in ("/campaign", "/campaign new everyone | en hi", "/campaign stats 1"):
        await alice.send(command)
        assert (await alice.next_message()).text == "Sorry, that command is for staff only."
    assert await rows(harness.care.db, "SELECT id FROM campaigns") == []


async def test_a_campaign_at_10_local_arrives_at_10_in_each_zone(harness: Harness) -> None:
    london, shanghai = harness.customer("Lon"), harness.customer("Shan", language_code="zh")
    for user, zone in ((london, "London"), (shanghai, "上海")):
        await _join(harness, user)
        await user.send(f"/timezone {zone}")
        await user.next_message()
    harness.clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    await harness.owner.send(
        "/campaign new stage=aware at=2026-11-23T10:00 | en Good morning | zh 早上好"
    )
    preview = await harness.owner.next_message()
    assert "at 2026-11-23 10:00 in each customer's time zone" in (preview.text or "")
    await harness.owner.press(preview, "Send")
    await harness.owner.next_message()
    harness.clock.set(datetime(2026, 11, 23, 1, 59, tzinfo=UTC))
    await harness.care.outbox.drain()
    await shanghai.expect_no_message(0.3)
    harness.clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    await harness.care.outbox.drain()
    assert (await shanghai.next_message()).text == "早上好"
    await london.expect_no_message(0.3)
    harness.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # 10:00 in London (GMT)
    await harness.care.outbox.drain()
    assert (await london.next_message()).text == "Good morning"


async def test_a_429_pauses_and_a_403_marks_unreachable_during_a_campaign(
    harness: Harness,
) -> None:
    alice, bob = harness.customer("Alice"), harness.customer("Bob")
    for user in (alice, bob):
        await _join(harness, user)
    harness.sandbox.block(bob)
    harness.sandbox.fail("sendMessage", status=429, retry_after=1, chat_id=alice.id)
    await harness.owner.send("/campaign new stage=aware | en Hello all")
    preview = await harness.owner.next_message()
    assert "Will receive it: 2" in (preview.text or "")
    await harness.owner.press(preview, "Send")
    await harness.owner.next_message()
    assert (await alice.next_message(timeout=10)).text == "Hello all"
    await harness.owner.next_message(chat=harness.staff_chat, timeout=10)
    await alice.expect_no_message(0.5)  # once, though the first try was refused with a 429
    customer = await harness.care.customers.require(bob.id)
    assert not customer.reachable
    await harness.owner.send("/campaign stats 1")
    stats = (await harness.owner.next_message()).text or ""
    assert "sent 1, failed 1 (blocked 1), blocked during 1" in stats


async def test_a_link_button_opens_the_link(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await _join(harness, alice)
    await harness.owner.send("/campaign new stage=aware button=https://example.com/menu | en Menu")
    await harness.owner.press(await harness.owner.next_message(), "Send")
    await harness.owner.next_message()
    got = await alice.next_message()
    rows_ = (got.reply_markup or {}).get("inline_keyboard") or []
    assert rows_[0] == [{"text": "🔗 Open", "url": "https://example.com/menu"}]
    assert rows_[1][0]["text"] == "🔕 Stop these"


async def test_a_photo_captioned_with_the_command_is_sent_with_the_campaign(
    harness: Harness,
) -> None:
    alice = harness.customer("Alice")
    await _join(harness, alice)
    await harness.owner.send_photo("/campaign new stage=aware | en Our new cake")
    preview = await harness.owner.next_message()
    assert "Will receive it: 1" in (preview.text or "")
    await harness.owner.press(preview, "Send")
    await harness.owner.next_message()
    got = await alice.next_message()
    assert got.photo is not None and got.caption == "Our new cake"


async def test_the_guided_segment_asks_again_for_a_bad_term(harness: Harness) -> None:
    await _join(harness, harness.customer("Alice", language_code="zh"))
    owner = harness.owner
    await owner.send("/segment")
    assert "send its name" in ((await owner.next_message()).text or "")
    await owner.send("chinese")
    assert "Now the terms for “chinese”" in ((await owner.next_message()).text or "")
    await owner.send("language=fr")
    assert "Unknown value “fr”" in ((await owner.next_message()).text or "")
    await owner.send("language=zh")
    assert "Customers now: 1." in ((await owner.next_message()).text or "")
    alice = harness.customer("Eve")
    await _join(harness, alice)
    await alice.send("/segment")
    assert (await alice.next_message()).text == "Sorry, that command is for staff only."


async def test_cancel_leaves_the_guided_segment_and_outside_a_flow_says_so(
    harness: Harness,
) -> None:
    owner = harness.owner
    await owner.send("/segment")
    assert "send its name" in ((await owner.next_message()).text or "")
    await owner.send("/cancel")  # the flow's own /cancel, not "nothing to cancel"
    assert (await owner.next_message()).text == "No segment saved."
    await owner.send("/cancel")
    assert (await owner.next_message()).text == "There is nothing to cancel."
    async with harness.care.db.read() as tx:
        assert await tx.execute_fetchall("SELECT * FROM segments") == []
