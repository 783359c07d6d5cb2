"""Staff who read Chinese see ticket lists and escalations without English words in them."""

from __future__ import annotations

from sandbox import SandboxUser, SentMessage
from tests.conftest import HarnessFactory


async def _until(user: SandboxUser, needle: str) -> SentMessage:
    """The next message to `user` containing `needle`, skipping at most four others."""
    for _ in range(5):
        message = await user.next_message()
        if needle in message.content:
            return message
    raise AssertionError(f"no message with {needle!r}")


async def test_ticket_lists_and_escalations_name_scope_and_kind_in_chinese(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(locale={"default_language": "zh"})
    owner = harness.owner
    owner.language_code = "zh"
    await owner.send("/tickets")
    assert (await owner.next_message()).content == "没有工单（未解决）。"
    await owner.send("/tickets all")
    assert (await owner.next_message()).content == "没有工单（全部）。"

    alice = harness.customer("Alice", language_code="en")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/complaint")
    await alice.press(await alice.next_message(), "tickets:category:service")
    await _until(alice, "describe")
    await alice.send("The barista was rude")
    await alice.press(await _until(alice, "photo"), "tickets:skip:photo")
    await _until(alice, "#1001")

    await owner.send("/tickets")
    listing = (await owner.next_message()).content
    assert listing.startswith("工单（未解决，1 个）：") and "open" not in listing
    harness.clock.advance(hours=25)
    await harness.care.tickets.check_sla()
    escalation = await _until(owner, "#1001")
    assert "（投诉，Alice）" in escalation.content and "complaint" not in escalation.content
