"""End to end through the sandbox: a customer's first contact and their settings."""

from __future__ import annotations

from storage import customers as customers_repo
from tests.conftest import Harness


async def _row(harness: Harness, telegram_id: int) -> customers_repo.CustomerRow | None:
    async with harness.care.db.read() as tx:
        return await customers_repo.find_by_telegram_id(tx, telegram_id)


async def test_start_registers_once_and_shows_the_menu(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    welcome = await alice.next_message()
    assert "Bean There Café" in (welcome.text or "")
    labels = [text for text, _ in welcome.buttons()]
    assert labels == [
        "⭐ My points",
        "❓ Ask a question",
        "💬 Feedback",
        "⚠️ Complaint",
        "⚙️ Settings",
    ]

    await alice.send("/start")
    again = await alice.next_message()
    assert "Welcome back" in (again.text or "")
    async with harness.care.db.read() as tx:
        assert await customers_repo.count(tx) == 1
    row = await _row(harness, alice.id)
    assert row is not None and row.language == "en" and len(row.member_code) == 6


async def test_chinese_telegram_user_is_greeted_in_chinese(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh-hans")
    await wei.send("/start")
    welcome = await wei.next_message()
    assert "你好" in (welcome.text or "")
    assert ("⚙️ 设置", "menu:open:settings") in welcome.buttons()
    row = await _row(harness, wei.id)
    assert row is not None and row.language == "zh"


async def test_language_switch_is_stored_and_used(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/language")
    assert "中文" in ((await alice.next_message()).text or "")
    await alice.send("/help")
    assert "主菜单" in ((await alice.next_message()).text or "")
    row = await _row(harness, alice.id)
    assert row is not None and row.language == "zh"
    await alice.send("/language en")
    assert "English" in ((await alice.next_message()).text or "")


async def test_language_with_a_bad_argument_explains_usage(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/language klingon")
    reply = await alice.next_message()
    assert "/language [en|zh]" in (reply.text or "")
    row = await _row(harness, alice.id)
    assert row is not None and row.language == "en"


async def test_stop_and_resume_toggle_outreach(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/stop")
    assert "/resume" in ((await alice.next_message()).text or "")
    row = await _row(harness, alice.id)
    assert row is not None and row.opted_out
    await alice.send("/stop")
    assert "already off" in ((await alice.next_message()).text or "")
    await alice.send("/resume")
    assert "hear from us again" in ((await alice.next_message()).text or "")
    row = await _row(harness, alice.id)
    assert row is not None and not row.opted_out


async def test_settings_menu_switches_language_and_outreach(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    menu = await alice.next_message()
    await alice.press(menu, "menu:open:settings")
    settings = await alice.next_message()
    assert "Messages from us: on" in (settings.text or "")
    await alice.press(settings, "settings:outreach:stop")
    edited = await alice.next_message()
    assert edited.edited and "Messages from us: off" in (edited.text or "")
    await alice.press(edited, "settings:language:zh")
    in_chinese = await alice.next_message()
    assert "主动消息：关闭" in (in_chinese.text or "")


async def test_forget_erases_personal_data_after_confirmation(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    before = await _row(harness, alice.id)
    assert before is not None
    await alice.send("/forget")
    confirm = await alice.next_message()
    await alice.press(confirm, "forget:cancel")
    assert "Nothing was erased" in ((await alice.next_message()).text or "")
    assert await _row(harness, alice.id) is not None

    await alice.send("/forget")
    confirm = await alice.next_message()
    await alice.press(confirm, "forget:confirm")
    assert "erased" in ((await alice.next_message()).text or "")
    assert await _row(harness, alice.id) is None
    async with harness.care.db.read() as tx:
        kept = await customers_repo.get(tx, before.id)
    assert kept.name is None and kept.username is None and kept.forgotten_at is not None
    # The row (and so the ledger and tickets) stays; the code on the old card names no one.
    assert kept.member_code != before.member_code

    await alice.send("/start")
    assert "Hello" in ((await alice.next_message()).text or "")
    fresh = await _row(harness, alice.id)
    assert fresh is not None and fresh.id != before.id


async def test_a_stale_or_reused_forget_confirmation_asks_again(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/forget")
    old = await alice.next_message()
    await alice.send("/forget")
    new = await alice.next_message()
    # A button from before confirmations carried a nonce asks again too.
    legacy = await alice.press_data(new, "forget:confirm:0")
    assert (await alice.wait_callback_answer(legacy)).get("text") is None
    assert "Are you sure?" in ((await alice.next_message()).text or "")
    assert await _row(harness, alice.id) is not None
    # The older message's "yes" is not the newest ask: it asks again, nothing is erased.
    await alice.press(old, "forget:confirm")
    asked = await alice.next_message()
    assert asked.edited and "Are you sure?" in (asked.text or "")
    assert await _row(harness, alice.id) is not None
    # A fresh "yes" pressed after a long time asks again too.
    harness.clock.advance(minutes=6)
    await alice.press(asked, "forget:confirm")
    asked_again = await alice.next_message()
    assert "Are you sure?" in (asked_again.text or "")
    assert await _row(harness, alice.id) is not None
    # The newest ask, in time: erased. A second tap on it is a quiet no-op.
    await alice.press(asked_again, "forget:confirm")
    assert "erased" in ((await alice.next_message()).text or "")
    assert await _row(harness, alice.id) is None
    data = asked_again.buttons()[0][1]
    assert data is not None and data.startswith("forget:confirm:")
    query = await alice.press_data(asked_again, data)
    assert (await alice.wait_callback_answer(query)).get("text") is None
    await alice.expect_no_message(0.3)
    assert new.message_id != asked_again.message_id


async def test_forged_and_repeated_customer_buttons(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    menu = await alice.next_message()
    for forged in ("forget:confirm:" + "9" * 40, "forget:confirm:abc", "settings:language:fr"):
        query = await alice.press_data(menu, forged)
        answer = await alice.wait_callback_answer(query)
        assert answer.get("text") == "That button has expired.", forged
    assert await _row(harness, alice.id) is not None
    await alice.press(menu, "menu:open:settings")
    settings = await alice.next_message()
    await alice.press(settings, "settings:outreach:stop")
    edited = await alice.next_message()
    assert "Messages from us: off" in (edited.text or "")
    query = await alice.press_data(edited, "settings:outreach:stop")
    assert (await alice.wait_callback_answer(query)).get("text") is None  # a double tap: quiet
    await alice.expect_no_message(0.3)
    await alice.send("/forget")
    confirm = await alice.next_message()
    await alice.press(confirm, "forget:cancel")
    assert "Nothing was erased" in ((await alice.next_message()).text or "")
    query = await alice.press_data(confirm, "forget:cancel")
    assert (await alice.wait_callback_answer(query)).get("text") is None
    await alice.expect_no_message(0.3)


async def test_chinese_time_zone_names(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh")
    await wei.send("/start")
    await wei.next_message()
    await wei.send("/timezone 上海")
    assert "Asia/Shanghai" in ((await wei.next_message()).text or "")
    await wei.send("/timezone 香港")
    assert "Asia/Hong_Kong" in ((await wei.next_message()).text or "")
    row = await _row(harness, wei.id)
    assert row is not None and row.timezone == "Asia/Hong_Kong"


async def test_unknown_command_and_oversized_text_get_clear_answers(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/teleport")
    assert "don't know that command" in ((await alice.next_message()).text or "")
    await alice.send("x" * 2500)
    reply = await alice.next_message()
    assert "too long" in (reply.text or "") and "2500" in (reply.text or "")


async def test_commands_are_registered_for_customers_and_staff(harness: Harness) -> None:
    english = [c["command"] for c in harness.sandbox.commands()]
    assert english[:6] == ["start", "help", "language", "stop", "resume", "forget"]
    assert {"points", "history", "card", "phone"} <= set(english)
    assert "birthday" in english
    chinese = harness.sandbox.commands(language_code="zh")
    assert chinese[0]["description"] == "主菜单"
    owner_scope = {"type": "chat", "chat_id": harness.owner.id}
    assert "staff" in [c["command"] for c in harness.sandbox.commands(scope=owner_scope)]


async def test_timezone_is_shown_set_and_refused_when_unknown(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/timezone")
    assert "Your time zone is UTC" in ((await alice.next_message()).text or "")
    await alice.send("/timezone new york")
    assert "America/New_York" in ((await alice.next_message()).text or "")
    await alice.send("/timezone Atlantis")
    assert "Usage: /timezone" in ((await alice.next_message()).text or "")
    row = await _row(harness, alice.id)
    assert row is not None and row.timezone == "America/New_York"


async def test_commands_before_start_ask_for_start(harness: Harness) -> None:
    stranger = harness.customer("Sam")
    for command in ("/language", "/timezone Paris", "/history", "/mytickets", "/birthday 24-12"):
        await stranger.send(command)
        reply = (await stranger.next_message()).text or ""
        assert reply == "Please send /start first so I can set you up.", (command, reply)
    assert await _row(harness, stranger.id) is None  # nothing was half-registered
