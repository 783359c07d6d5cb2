"""An update python-telegram-bot cannot parse is parked, and the bot goes on answering."""

from __future__ import annotations

from typing import Any

from handlers.texts import t
from sandbox import SandboxUser
from tests.conftest import Harness


async def test_a_poison_update_in_a_chat_is_parked_and_the_next_update_is_answered(
    harness: Harness,
) -> None:
    alice = await _started(harness)
    # A command entity without offset and length: PTB cannot build the Message.
    harness.sandbox.inject(
        "message",
        {
            "message_id": 10_000,
            "date": 0,
            "chat": alice.private_chat_json(),
            "from": alice.to_json(),
            "text": "/help",
            "entities": [{"type": "bot_command"}],
        },
    )
    await _expect_answered_after_parking(harness, alice, 1)


async def test_a_poison_update_with_a_malformed_chat_is_parked_and_the_bot_goes_on(
    harness: Harness,
) -> None:
    alice = await _started(harness)
    poisons: list[dict[str, Any]] = [
        {"message_id": "x", "chat": 5},  # no date, a chat that is not an object
        {"id": "1", "from": 5, "message": "gone", "data": "x"},  # a callback query
    ]
    harness.sandbox.inject("message", poisons[0])
    harness.sandbox.inject("callback_query", poisons[1])
    await _expect_answered_after_parking(harness, alice, len(poisons))


async def _started(harness: Harness) -> SandboxUser:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    return alice


async def _expect_answered_after_parking(
    harness: Harness, alice: SandboxUser, poisoned: int
) -> None:
    await alice.send("/help")

    reply = await alice.next_message(timeout=10)

    assert reply.text == t("help.customer", "en")
    await alice.expect_no_message(0.5)  # a poisoned /help is not answered as well
    parked = await harness.care.inbox.parked()
    assert len(parked) == poisoned
    assert all((row.error or "").startswith("unparsable") for row in parked)
    counts = await harness.care.inbox.counts()
    assert (counts.get("parked"), counts.get("pending", 0)) == (poisoned, 0)
