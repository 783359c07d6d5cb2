"""End to end through the sandbox: the guided /campaign, step by step, to the same preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.roles import Role
from handlers import campaign_guided
from sandbox import SandboxUser
from sandbox.state import SentMessage
from tests.campaign_support import rows
from tests.conftest import Harness, HarnessFactory


async def _join(harness: Harness, user: SandboxUser) -> None:
    await user.send("/start")
    await user.next_message()


async def _prompt(user: SandboxUser) -> SentMessage:
    """The bot's next new message (a pressed button's keyboard taken away is an edit)."""
    while True:
        message = await user.next_message()
        if not message.edited:
            return message


async def test_a_manager_walks_the_guided_campaign_and_a_zh_customer_gets_zh(
    harness: Harness,
) -> None:
    alice, wei = harness.customer("Alice"), harness.customer("Wei", language_code="zh")
    for user in (alice, wei):
        await _join(harness, user)
    mia = harness.customer("Mia")
    await harness.care.staff.grant(harness.owner.id, mia.id, Role.MANAGER, "Mia")
    await harness.owner.send("/segment new everyone stage>=aware")
    await harness.owner.next_message()
    await mia.send("/campaign")
    ask = await _prompt(mia)
    assert "Who gets it?" in (ask.text or "")
    await mia.press(ask, "everyone")
    assert "To: everyone. Now the English text" in ((await _prompt(mia)).text or "")
    await mia.send("Our autumn menu is here")
    assert "The Chinese (zh) text" in ((await _prompt(mia)).text or "")
    await mia.send("秋季菜单上新了")
    await mia.press(await _prompt(mia), "Skip")  # no photo
    await mia.press(await _prompt(mia), "Skip")  # no button
    when = await _prompt(mia)
    assert "When?" in (when.text or "")
    assert await rows(harness.care.db, "SELECT id FROM campaigns") == []  # only a draft in chat
    await mia.press(when, "Now")
    preview = await _prompt(mia)
    text = preview.text or ""
    assert "Campaign #1 “everyone” to stage>=aware" in text
    assert "Will receive it: 2 (en 1, zh 1)" in text and "Not sent to: nobody" in text
    assert "— en: Our autumn menu is here" in text and "— zh: 秋季菜单上新了" in text
    await alice.expect_no_message(0.3)  # nothing goes before the confirmation
    await mia.press(preview, "Send")
    assert "2 messages queued" in ((await mia.next_message()).text or "")
    assert (await wei.next_message()).text == "秋季菜单上新了"
    assert (await alice.next_message()).text == "Our autumn menu is here"
    audit = await rows(
        harness.care.db,
        "SELECT actor_id, result FROM audit_log WHERE action = 'campaign' ORDER BY id",
    )
    assert [(a["actor_id"], a["result"].split(" ")[0]) for a in audit] == [
        (mia.id, "started"),
        (mia.id, "draft"),
        (mia.id, "queued"),
    ]


async def test_a_typed_filter_a_photo_the_card_and_a_local_time(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh")
    await _join(harness, wei)
    harness.clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    owner = harness.owner
    await owner.send("/campaign")
    assert "Type a filter" in ((await _prompt(owner)).text or "")  # no saved segments yet
    await owner.send("language=fr")
    assert "Unknown value “fr”" in ((await _prompt(owner)).text or "")
    await owner.send("language=zh")
    await owner.press(await _prompt(owner), "Skip")  # no English text
    await owner.press(await _prompt(owner), "Skip")
    assert "at least one text" in ((await _prompt(owner)).text or "")
    await owner.send("早上好")
    assert "A photo" in ((await _prompt(owner)).text or "")
    await owner.send("no photo today")
    assert "A photo" in ((await _prompt(owner)).text or "")  # asked again
    await owner.send_photo()
    await _prompt(owner)
    await owner.send("http://insecure.example")
    refused = await _prompt(owner)
    assert "https:// link" in (refused.text or "")
    await owner.press(refused, "Show my card")
    await _prompt(owner)
    await owner.send("tomorrow at ten")
    assert "YYYY-MM-DDTHH:MM" in ((await _prompt(owner)).text or "")
    await owner.send("2026-11-23T10:00")
    preview = (await _prompt(owner)).text or ""
    assert "to language=zh" in preview and "Will receive it: 1 (en 0, zh 1)" in preview
    assert "at 2026-11-23 10:00 in each customer's time zone" in preview
    assert "⚠️ No en text: those customers get the zh text." in preview
    stored = await rows(harness.care.db, "SELECT photo, button, local_at FROM campaigns")
    assert len(stored) == 1 and stored[0]["photo"] and stored[0]["button"] == "card"


async def test_staff_below_manager_are_refused_at_the_start(harness: Harness) -> None:
    sam = harness.customer("Sam")
    await harness.care.staff.grant(harness.owner.id, sam.id, Role.STAFF, "Sam")
    await sam.send("/campaign")
    assert (await sam.next_message()).text == "Sorry, that command needs the manager role."
    audit = await rows(harness.care.db, "SELECT result FROM audit_log WHERE action = 'campaign'")
    assert [a["result"] for a in audit] == ["refused: needs manager"]
    assert await rows(harness.care.db, "SELECT id FROM campaigns") == []


async def test_cancel_mid_flow_writes_nothing(harness: Harness) -> None:
    await _join(harness, harness.customer("Alice"))
    owner = harness.owner
    await owner.send("/campaign")
    await _prompt(owner)
    await owner.send("stage=aware")
    await _prompt(owner)
    await owner.send("Hello all")
    await _prompt(owner)
    await owner.send("/cancel")
    assert (await _prompt(owner)).text == "No campaign saved."
    await owner.send("/skip")  # the flow is over: no step takes this any more
    after = (await _prompt(owner)).text or ""
    assert "Chinese" not in after and "photo" not in after
    assert await rows(harness.care.db, "SELECT id FROM campaigns") == []
    assert await rows(harness.care.db, "SELECT id FROM outbox WHERE kind = 'campaign'") == []
    audit = await rows(harness.care.db, "SELECT result FROM audit_log WHERE action = 'campaign'")
    assert [a["result"] for a in audit] == ["started segments=0"]  # the role check, no more


async def test_a_guided_campaign_left_alone_times_out(
    harness_factory: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaign_guided, "GUIDED_TIMEOUT", timedelta(seconds=0.3))
    harness = await harness_factory()
    owner = harness.owner
    await owner.send("/campaign")
    await _prompt(owner)
    await owner.send("stage=aware")
    assert "Now the English text" in ((await _prompt(owner)).text or "")
    assert "nothing was saved" in ((await _prompt(owner)).text or "")  # timed out
    await owner.send("Hello all")  # no longer taken as the English text
    assert "Chinese" not in ((await _prompt(owner)).text or "")
    assert await rows(harness.care.db, "SELECT id FROM campaigns") == []
