"""End to end through the sandbox: holiday greetings, and a customer blocking the bot."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from sandbox import SandboxUser
from tests.conftest import Harness, HarnessFactory
from tests.outreach_support import rows

MID_AUTUMN_2027 = datetime(2027, 9, 15, 10, 0, tzinfo=UTC)  # 10:00 in the default zone (UTC)


async def _join(harness: Harness, user: SandboxUser) -> int:
    await user.send("/start")
    await user.next_message()
    return (await harness.care.customers.require(user.id)).id


async def _reachable(harness: Harness, customer_id: int, wanted: int) -> None:
    """Wait until the bot handled the update that makes the customer (un)reachable."""
    sql = "SELECT reachable FROM customers WHERE id = ?"
    for _ in range(100):
        [row] = await rows(harness.care.db, sql, customer_id)
        if row["reachable"] == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"customer {customer_id} never became reachable={wanted}")


async def test_a_holiday_greeting_is_delivered_in_each_language_once(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(outreach={"holiday_countries": ["CN"]})
    wei, alice = harness.customer("Wei", language_code="zh-hans"), harness.customer("Alice")
    for user in (wei, alice):
        await _join(harness, user)
    harness.clock.set(MID_AUTUMN_2027)
    await harness.care.outreach.run_once()
    greeting = await wei.next_message()
    assert greeting.text == "Wei，Bean There Café全体祝你中秋节快乐！🎉"
    english = await alice.next_message()
    assert (
        english.text
        == "Alice, everyone at Bean There Café wishes you a happy Mid-Autumn Festival! 🎉"
    )
    await harness.restart()
    await harness.care.outreach.run_once()
    await wei.expect_no_message(0.3)
    # "No more messages like this" stops holiday greetings only.
    await wei.press(greeting, "🔕 不再接收此类消息")
    assert "不再发送节日问候" in ((await wei.next_message()).text or "")
    harness.clock.set(datetime(2027, 10, 1, 10, 0, tzinfo=UTC))
    await harness.care.outreach.run_once()
    assert "National Day" in ((await alice.next_message()).text or "")
    await wei.expect_no_message(0.3)
    found = await rows(
        harness.care.db,
        "SELECT occasion, status, reason FROM outreach WHERE kind = 'holiday' ORDER BY id",
    )
    assert [(r["occasion"], r["status"], r["reason"]) for r in found] == [
        ("holiday:Mid-Autumn Festival:2027", "sent", None),
        ("holiday:Mid-Autumn Festival:2027", "sent", None),
        ("holiday:National Day:2027", "skipped", "opted_out_kind"),
        ("holiday:National Day:2027", "sent", None),
    ]


async def test_blocking_the_bot_makes_a_customer_unreachable_at_once(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(outreach={"holiday_countries": ["CN"]})
    bob = harness.customer("Bob")
    cid = await _join(harness, bob)
    harness.sandbox.block(bob, announce=True)  # Telegram sends my_chat_member 'kicked'
    await _reachable(harness, cid, 0)
    # The preview already counts him as unreachable; the greeting is skipped and recorded,
    # without a send that would have been refused.
    preview = await harness.care.outreach.preview(MID_AUTUMN_2027.date())
    assert [(p.kind, p.status, p.reason) for p in preview] == [
        ("holiday", "skipped", "unreachable")
    ]
    harness.clock.set(MID_AUTUMN_2027)
    await harness.care.outreach.run_once()
    found = await rows(harness.care.db, "SELECT kind, status, reason FROM outreach")
    assert found == [{"kind": "holiday", "status": "skipped", "reason": "unreachable"}]
    assert harness.sandbox.errors == []  # nothing was sent into the block (no 403)
    # Unblocking (my_chat_member 'member') makes him reachable again, with no reply.
    harness.sandbox.unblock(bob, announce=True)
    await _reachable(harness, cid, 1)
    await bob.expect_no_message(0.3)
    # Blocked again; then /start (Telegram's Restart button) brings him back too.
    harness.sandbox.block(bob, announce=True)
    await _reachable(harness, cid, 0)
    harness.sandbox.unblock(bob)
    await bob.send("/start")
    assert "Welcome back" in ((await bob.next_message()).text or "")
    await _reachable(harness, cid, 1)


async def test_the_bot_leaving_a_group_changes_no_customer(harness: Harness) -> None:
    olivia = await _join(harness, harness.owner)
    group, bot = harness.staff_chat, harness.app.bot.bot.to_dict()
    harness.sandbox.inject(
        "my_chat_member",
        {
            "chat": group.to_json(),
            "from": harness.owner.to_json(),
            "date": 0,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        },
    )
    await harness.owner.send("/whoami")  # handled after the update above (same sender)
    await harness.owner.next_message()
    [row] = await rows(harness.care.db, "SELECT reachable FROM customers WHERE id = ?", olivia)
    assert row["reachable"] == 1


async def test_cli_plan_lists_holiday_greetings(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wei = harness.customer("Wei", language_code="zh")
    await _join(harness, wei)
    telegram = harness.settings.telegram
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[telegram]\ntoken = "{telegram.token}"\nbase_url = "{telegram.base_url}"\n'
        f'[storage]\npath = "{harness.settings.storage.path}"\n'
        '[outreach]\nholiday_countries = ["CN", "GB"]\n',
        "utf-8",
    )
    await harness.stop()
    for day, occasion in (("2027-09-15", "Mid-Autumn Festival"), ("2027-12-25", "Christmas Day")):
        argv = ["outreach", "plan", "--date", day, "--json", "--config", str(config)]
        assert await asyncio.to_thread(main, argv) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(x["telegram_id"], x["kind"], x["status"]) for x in lines] == [
            (wei.id, "holiday", "due")
        ]
        assert lines[0]["occasion"] == f"holiday:{occasion}:2027"
        assert lines[0]["due_at"] == f"{day}T10:00:00+00:00"
    await harness.start()
    assert await rows(harness.care.db, "SELECT id FROM outreach") == []
