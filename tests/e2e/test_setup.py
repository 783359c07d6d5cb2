"""First-run helpers in Telegram: /whoami and /setup staffchat."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_application
from sandbox import Sandbox, SandboxChat, SandboxUser
from tests.conftest import OWNER_ID, Harness, make_settings
from tests.fakes import FakeClock


async def test_whoami_in_a_private_chat_tells_the_user_id(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/whoami")
    text = (await alice.next_message()).text or ""
    assert f"Your Telegram user id is {alice.id}." in text
    assert "chat id" not in text


async def test_whoami_in_a_group_also_tells_the_chat_id_in_chinese(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh-hans")
    group = harness.sandbox.create_group("Regulars", members=[wei])
    await wei.send("/whoami", chat=group)
    text = (await wei.next_message(chat=group)).text or ""
    assert str(wei.id) in text and str(group.id) in text
    assert "用户 ID" in text


async def test_setup_staffchat_takes_effect_at_once_and_after_a_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with Sandbox() as sandbox:
        owner = sandbox.create_user("Olivia", user_id=OWNER_ID)
        alice = sandbox.create_user("Alice")
        group = sandbox.create_group("Team", members=[owner])
        settings = make_settings(sandbox, tmp_path / "bot.sqlite3", staff={"owners": [OWNER_ID]})
        app = build_application(settings, clock=clock)
        harness = Harness(sandbox, app, settings, clock, owner, group)
        await harness.start()
        try:
            await owner.send("/setup staffchat", chat=group)
            text = (await owner.next_message(chat=group)).text or ""
            assert f"id {group.id}" in text and "from now on" in text
            assert "faq" in [c["command"] for c in sandbox.commands(scope=_chat_scope(group))]

            # No restart: the next feedback is posted in the group.
            await _leave_feedback(alice, "Lovely flat white")
            post = await owner.next_message(chat=group)
            assert "Feedback #1001" in post.content and "Lovely flat white" in post.content

            await harness.restart()
            await _leave_feedback(alice, "Still lovely")
            assert "Still lovely" in (await owner.next_message(chat=group)).content
        finally:
            await harness.stop()


async def test_whoami_and_setup_are_in_the_command_menus(harness: Harness) -> None:
    customer_menu = [c["command"] for c in harness.sandbox.commands()]
    assert "whoami" in customer_menu and "setup" not in customer_menu
    zh = {c["command"]: c["description"] for c in harness.sandbox.commands(language_code="zh")}
    assert "Telegram ID" in zh["whoami"]
    owner_menu = [c["command"] for c in harness.sandbox.commands(scope=_chat_scope(harness.owner))]
    assert {"whoami", "setup"} <= set(owner_menu)


def _chat_scope(chat: SandboxUser | SandboxChat) -> dict[str, object]:
    return {"type": "chat", "chat_id": chat.id}


async def _leave_feedback(user: SandboxUser, comment: str) -> None:
    """/start, /feedback with 5 stars and a comment, up to the bot's thanks."""
    await user.send("/start")
    await user.next_message()
    await user.send("/feedback")
    await user.press(await user.next_message(), "tickets:rating:5")
    await user.next_message()
    await user.send(comment)
    while "feedback is logged" not in (await user.next_message()).content:
        pass


async def test_setup_staffchat_by_someone_else_is_refused_and_stores_nothing(
    harness: Harness,
) -> None:
    alice = harness.customer("Alice")
    group = harness.sandbox.create_group("Friends", members=[alice])
    await alice.send("/setup staffchat", chat=group)
    await alice.next_message(chat=group)
    assert await harness.care.ops.stored_staff_chat() is None


async def test_the_configured_staff_chat_wins_over_setup(harness: Harness) -> None:
    owner = harness.owner
    group = harness.sandbox.create_group("Other", members=[owner])
    await owner.send("/setup staffchat", chat=group)
    text = (await owner.next_message(chat=group)).text or ""
    assert f"chat_id = {harness.staff_chat.id}" in text
    await harness.restart()
    assert harness.care.settings.staff.chat_id == harness.staff_chat.id


async def test_setup_in_a_private_chat_says_where_to_send_it(harness: Harness) -> None:
    await harness.owner.send("/setup staffchat")
    text = (await harness.owner.next_message()).text or ""
    assert "in the group" in text
