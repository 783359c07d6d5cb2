"""End to end: Telegram's failures (429, 403, 400, 5xx, slow answers) never break the bot."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.messenger import TelegramMessenger
from bot.request import BotApiRequest
from care.ports import OutboundMessage, SendStatus
from storage import customers as customers_repo
from tests.conftest import Harness


async def _registered(harness: Harness, telegram_id: int) -> bool:
    async with harness.care.db.read() as tx:
        return await customers_repo.find_by_telegram_id(tx, telegram_id) is not None


async def test_429_on_a_reply_is_retried_after_the_wait(harness: Harness) -> None:
    alice = harness.customer("Alice")
    harness.sandbox.fail("sendMessage", status=429, retry_after=1, chat_id=alice.id)
    await alice.send("/start")
    welcome = await alice.next_message(timeout=6)
    assert "Bean There Café" in (welcome.text or "")


async def test_5xx_on_a_reply_keeps_the_data_and_the_bot_running(harness: Harness) -> None:
    alice = harness.customer("Alice")
    harness.sandbox.fail("sendMessage", status=500, chat_id=alice.id)
    await alice.send("/start")
    welcome = await alice.next_message()  # a 5xx delivered nothing: the reply is sent again
    assert "Bean There Café" in (welcome.text or "")
    assert await _registered(harness, alice.id)
    await alice.send("/start")
    assert "Welcome back" in ((await alice.next_message()).text or "")


async def test_blocked_user_does_not_stop_the_bot_for_others(harness: Harness) -> None:
    alice, bob = harness.customer("Alice"), harness.customer("Bob")
    harness.sandbox.block(alice)
    await alice.send("/start")
    await bob.send("/start")
    assert "Bean There Café" in ((await bob.next_message()).text or "")
    assert await _registered(harness, alice.id)  # her registration was stored before the reply
    harness.sandbox.unblock(alice)
    await alice.send("/start")
    assert "Welcome back" in ((await alice.next_message()).text or "")


async def test_chat_not_found_on_a_reply_is_survived(harness: Harness) -> None:
    alice = harness.customer("Alice")
    harness.sandbox.fail("sendMessage", status=400, times=2, chat_id=alice.id)
    await alice.send("/start")
    await alice.send("/help")
    await alice.expect_no_message(0.5)  # both replies refused: a 400 is not worth repeating
    await alice.send("/help")
    assert "/language" in ((await alice.next_message()).text or "")


async def test_failing_and_slow_get_updates_are_survived(harness: Harness) -> None:
    harness.sandbox.fail("getUpdates", status=502, times=2)
    harness.sandbox.delay("sendMessage", 0.5)
    alice = harness.customer("Alice")
    await alice.send("/start")
    assert "Bean There Café" in ((await alice.next_message(timeout=10)).text or "")


async def test_restart_loses_nothing(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/language zh")
    await alice.next_message()
    await harness.restart()
    await alice.send("/start")
    assert "欢迎回来" in ((await alice.next_message()).text or "")


async def test_messenger_maps_each_failure(harness: Harness) -> None:
    sandbox = harness.sandbox
    alice = harness.customer("Alice")
    async with Bot(sandbox.token, base_url=sandbox.base_url, request=BotApiRequest()) as bot:
        messenger = TelegramMessenger(bot)
        message = OutboundMessage(alice.id, "menu.ask_prompt", "en")
        unstarted = await messenger.send(message)  # Alice never opened the bot's chat
        assert unstarted.status is SendStatus.BLOCKED and unstarted.never_started
        await alice.send("/start")
        await alice.next_message()

        sandbox.fail("sendMessage", status=429, retry_after=1, chat_id=alice.id)
        sandbox.fail("sendMessage", status=502, chat_id=alice.id)
        result = await messenger.send(message)
        assert result.status is SendStatus.SENT
        assert (
            await alice.next_message()
        ).text == "Just type your question in a message and I'll do my best to answer."

        sandbox.block(alice)
        blocked = await messenger.send(message)
        assert blocked.status is SendStatus.BLOCKED and not blocked.never_started
        sandbox.unblock(alice)

        stranger = OutboundMessage(424242, "menu.ask_prompt", "en")
        assert (await messenger.send(stranger)).status is SendStatus.NOT_FOUND

        sandbox.fail("sendMessage", status=500, times=10, chat_id=alice.id)
        failed = await messenger.send(message)
        assert failed.status is SendStatus.FAILED and failed.error
        await asyncio.sleep(0)
        await alice.expect_no_message(0.1)


async def test_a_timed_out_send_is_reported_not_repeated(harness: Harness) -> None:
    sandbox = harness.sandbox
    alice = harness.customer("Alice")
    request = BotApiRequest(read_timeout=0.2)
    async with Bot(sandbox.token, base_url=sandbox.base_url, request=request) as bot:
        messenger = TelegramMessenger(bot)
        sandbox.delay("sendMessage", 0.6)
        result = await messenger.send(OutboundMessage(alice.id, "menu.ask_prompt", "en"))
    assert result.status is SendStatus.FAILED and (result.error or "").startswith("timeout")
    calls = [p for name, p in sandbox.calls if name == "sendmessage" and p["chat_id"] == alice.id]
    assert len(calls) == 1  # it may have been delivered: never sent a second time
