"""A button's data sent on the bot's /card photo (a modified client can) has expired."""

from __future__ import annotations

import logging

import pytest

from care.errors import NotRegistered
from handlers.common import error_text
from handlers.texts import t
from sandbox import SandboxUser
from tests.conftest import Harness

EXPIRED = t("common.expired_button", "en")
# Data of buttons that edit the message they are on, pressed on the /card photo instead.
FORGED = [
    "forget:cancel",
    "forget:confirm:0",
    "forget:confirm:1",
    "settings:outreach:stop",
    "settings:language:zh",
    "loyalty:page:0",
    "tickets:rating:3",
    "tickets:skip:comment",
    "tickets:skip:photo",
    "tickets:category:service",
    "tickets:csat:1001:5",
    "outreach:rate:1:5",
    "faq:none",
    "faq:vote:1:en:up",
    "faq:staff:1",
]


async def _card(harness: Harness) -> tuple[SandboxUser, object]:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/card")
    return alice, await alice.next_message()


@pytest.mark.parametrize("data", FORGED)
async def test_a_button_pressed_on_a_photo_is_answered_and_nothing_fails(
    harness: Harness, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    alice, card = await _card(harness)
    caplog.set_level(logging.INFO)

    answer = await alice.wait_callback_answer(await alice.press_data(card, data))

    await alice.expect_no_message(0.5)
    assert answer.get("text") in (None, EXPIRED)  # expired, or a quiet late tap
    # No failure, and no change made before a failed edit ("reply failed after commit").
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("command", "data"),
    [("/feedback", "tickets:rating:3"), ("/complaint", "tickets:category:service")],
)
async def test_a_flow_button_pressed_on_a_photo_mid_flow_has_expired(
    harness: Harness, command: str, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    alice, card = await _card(harness)
    await alice.send(command)  # the flow now waits for this very button
    asked = await alice.next_message()
    caplog.set_level(logging.INFO)

    answer = await alice.wait_callback_answer(await alice.press_data(card, data))

    assert answer.get("text") == EXPIRED
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    query = await alice.press_data(asked, data)  # the real button still works
    assert (await alice.wait_callback_answer(query)).get("text") is None


@pytest.mark.parametrize(
    "data",
    [
        "loyalty:history",
        "loyalty:card",
        "menu:open:points",
        "menu:open:settings",
        "menu:open:feedback",
        "menu:open:complaint",
    ],
)
async def test_a_button_pressed_before_start_says_why_nothing_happens(
    harness: Harness, data: str
) -> None:
    bob = harness.customer("Bob")  # never sent /start
    await bob.send("/help")
    help_text = await bob.next_message()

    answer = await bob.wait_callback_answer(await bob.press_data(help_text, data))

    assert answer.get("text") == error_text(NotRegistered(bob.id), "en")
