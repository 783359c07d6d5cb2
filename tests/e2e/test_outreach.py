"""End to end through the sandbox: /birthday, greetings, check-in answers, staff tools, CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import outreach_cli
from bot.cli import main
from sandbox import SandboxUser
from tests.conftest import Harness, HarnessFactory
from tests.outreach_support import add_purchase, rows


async def _join(harness: Harness, user: SandboxUser) -> int:
    await user.send("/start")
    await user.next_message()
    customer = await harness.care.customers.require(user.id)
    return customer.id


async def test_birthday_greeting_once_even_after_a_restart(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await _join(harness, alice)
    await alice.send("/birthday 23-11")
    assert "23-11" in ((await alice.next_message()).text or "")
    harness.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    await harness.care.outreach.run_once()
    greeting = await alice.next_message()
    assert "Happy birthday, Alice" in (greeting.text or "")
    await harness.restart()
    await harness.care.outreach.run_once()
    await alice.expect_no_message(0.3)
    assert len(await rows(harness.care.db, "SELECT id FROM outreach")) == 1


async def test_a_bad_birthday_gets_a_clear_answer(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await _join(harness, alice)
    await alice.send("/birthday 31-02")
    assert "not a date in the calendar" in ((await alice.next_message()).text or "")
    await alice.send("/birthday soon")
    assert "/birthday DD-MM" in ((await alice.next_message()).text or "")
    await alice.send("/birthday 2030-01-01")
    assert "that year can't be right" in ((await alice.next_message()).text or "")
    assert await harness.care.outreach.birthday_of(alice.id) is None


async def test_chinese_birthdays_are_understood_and_changed_once_a_year(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh")
    await _join(harness, wei)
    await wei.send("/birthday 12-25")
    assert "已保存你的生日：12月25日" in ((await wei.next_message()).text or "")
    await wei.send("/birthday 12月25日")  # the same birthday: no change, no refusal
    assert "12月25日" in ((await wei.next_message()).text or "")
    await wei.send("/birthday 1990年12月24日")
    refused = (await wei.next_message()).text or ""
    assert "每年只能修改一次" in refused and "2027-11-22" in refused
    birthday = await harness.care.outreach.birthday_of(wei.id)
    assert birthday is not None and birthday.stored() == "--12-25"
    # Staff can correct it.
    await harness.owner.send("/birthday @wei 1990年12月24日")
    assert "24-12-1990" in ((await harness.owner.next_message()).text or "")
    birthday = await harness.care.outreach.birthday_of(wei.id)
    assert birthday is not None and birthday.stored() == "1990-12-24"
    audit = await rows(harness.care.db, "SELECT action, result FROM audit_log")
    assert audit[-1]["action"] == "birthday" and audit[-1]["result"].startswith("set")


async def test_checkin_buttons_record_feedback(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh")
    cid = await _join(harness, wei)
    await add_purchase(harness.care.db, cid, harness.clock.now())
    await harness.care.stages.evaluate(cid)
    harness.clock.advance(days=3)
    await harness.care.outreach.run_once()
    checkin = await wei.next_message()
    assert "你好" in (checkin.text or "")
    await wei.press(checkin, "⭐⭐⭐⭐ 4")
    thanks = await wei.next_message()
    assert thanks.edited and "4/5" in (thanks.text or "")
    tickets = await rows(harness.care.db, "SELECT kind, category, rating FROM tickets")
    assert tickets == [{"kind": "feedback", "category": "checkin", "rating": 4}]


async def test_checkin_buttons_survive_double_taps_forgery_and_other_customers(
    harness: Harness,
) -> None:
    wei = harness.customer("Wei")
    cid = await _join(harness, wei)
    await add_purchase(harness.care.db, cid, harness.clock.now())
    await harness.care.stages.evaluate(cid)
    harness.clock.advance(days=3)
    await harness.care.outreach.run_once()
    checkin = await wei.next_message()
    rate = next(data for _, data in checkin.buttons() if data and data.endswith(":4"))
    mute = next(data for _, data in checkin.buttons() if data and ":mute:" in data)
    # Someone else's button, and forged ones: expired, nothing recorded.
    eve = harness.customer("Eve")
    await _join(harness, eve)
    for user, data in ((eve, rate), (wei, "outreach:rate:" + "9" * 40 + ":4"), (wei, rate + "0")):
        answer = await user.wait_callback_answer(await user.press_data(checkin, data))
        assert answer.get("text") == "That button has expired.", data
    assert await rows(harness.care.db, "SELECT id FROM tickets") == []
    # The answer counts once; repeated taps are answered quietly and change nothing.
    await wei.press(checkin, rate)
    assert "4/5" in ((await wei.next_message()).text or "")
    for _ in range(2):
        answer = await wei.wait_callback_answer(await wei.press_data(checkin, rate))
        assert answer.get("text") is None
    assert len(await rows(harness.care.db, "SELECT id FROM tickets")) == 1
    await wei.wait_callback_answer(await wei.press_data(checkin, mute))
    assert "no more check-ins" in ((await wei.next_message()).text or "")
    answer = await wei.wait_callback_answer(await wei.press_data(checkin, mute))
    assert answer.get("text") is None
    await wei.expect_no_message(0.3)


async def test_a_blocked_customer_is_marked_unreachable(harness: Harness) -> None:
    bob = harness.customer("Bob")
    cid = await _join(harness, bob)
    await bob.send("/birthday 22-11")
    await bob.next_message()
    harness.sandbox.block(bob)
    await harness.care.outreach.run_once()
    found = await rows(harness.care.db, "SELECT status, reason FROM outreach")
    assert found == [{"status": "failed", "reason": "blocked"}]
    [row] = await rows(harness.care.db, "SELECT reachable FROM customers WHERE id = ?", cid)
    assert row["reachable"] == 0
    harness.sandbox.unblock(bob)
    await bob.send("/start")  # back again: reachable
    await bob.next_message()
    [row] = await rows(harness.care.db, "SELECT reachable FROM customers WHERE id = ?", cid)
    assert row["reachable"] == 1


async def test_staff_see_and_set_stages_and_outreach(harness: Harness) -> None:
    alice = harness.customer("Alice")
    cid = await _join(harness, alice)
    await add_purchase(harness.care.db, cid, harness.clock.now())
    owner = harness.owner
    await owner.send("/stage @alice")
    report = (await owner.next_message()).text or ""
    assert "stage engaged" in report and "1 purchase(s)" in report
    await owner.send("/stage @alice trust regular at the counter")
    assert "now trust" in ((await owner.next_message()).text or "")
    await owner.send("/stage @alice")
    report = (await owner.next_message()).text or ""
    assert "set by staff @olivia: regular at the counter" in report
    await owner.send("/stage @alice friend")
    assert "Usage: /stage" in ((await owner.next_message()).text or "")
    # Set by staff (a birthday the customer gave today would earn no bonus for 30 days).
    await owner.send("/birthday @alice 22-11")
    assert "Alice's birthday: 22-11" in ((await owner.next_message()).text or "")
    await owner.send("/outreach preview 2026-11-22")
    preview = (await owner.next_message()).text or ""
    assert "1 due" in preview and "Alice · birthday · trust" in preview
    await harness.care.outreach.run_once()
    assert "100 bonus points" in ((await alice.next_message()).text or "")
    await owner.send("/outreach stats")
    assert "birthday: sent 1" in ((await owner.next_message()).text or "")
    await alice.send("/stage @alice")
    assert "staff only" in ((await alice.next_message()).text or "")


async def test_a_chinese_staff_member_sees_skip_reasons_in_chinese(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh")
    await _join(harness, wei)
    await harness.owner.send("/staff add @wei staff")
    await harness.owner.next_message()
    alice, bob = harness.customer("Alice"), harness.customer("Bob")
    for user in (alice, bob):
        await _join(harness, user)
        await user.send("/birthday 24-11")
        await user.next_message()
    await bob.send("/stop")
    await bob.next_message()
    await wei.send("/outreach preview 2026-11-24")
    preview = (await wei.next_message()).text or ""
    assert "1 条待发，1 条跳过" in preview
    assert "Alice · 生日祝福 · 认知 · 10:00 UTC 发送" in preview
    assert "Bob · 生日祝福 · 认知 · 跳过：已关闭所有主动消息" in preview
    assert "opted_out" not in preview and "birthday" not in preview and "aware" not in preview
    await harness.owner.send("/outreach preview 2026-11-24")
    english = (await harness.owner.next_message()).text or ""
    assert "Bob · birthday · aware · skipped: opted out of all messages" in english


def _config(tmp_path: Path, harness: Harness) -> Path:
    telegram = harness.settings.telegram
    path = tmp_path / "cli.toml"
    path.write_text(
        f'[telegram]\ntoken = "{telegram.token}"\nbase_url = "{telegram.base_url}"\n'
        f'[storage]\npath = "{harness.settings.storage.path}"\n',
        "utf-8",
    )
    return path


async def test_cli_plan_prints_json_and_writes_nothing(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob = harness.customer("Alice"), harness.customer("Bob")
    for user in (alice, bob):
        await _join(harness, user)
        await user.send("/birthday 24-11")
        await user.next_message()
    await bob.send("/stop")
    await bob.next_message()
    config = _config(tmp_path, harness)
    await harness.stop()  # the CLI runs its own event loop on the same file
    code = await _in_thread(
        main, ["outreach", "plan", "--date", "2026-11-24", "--json", "--config", str(config)]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [
        (x["telegram_id"], x["kind"], x["occasion"], x["status"], x["reason"]) for x in lines
    ] == [
        (alice.id, "birthday", "birthday:2026", "due", None),
        (bob.id, "birthday", "birthday:2026", "skipped", "opted_out"),
    ]
    assert set(lines[0]) >= {"telegram_id", "customer_id", "kind", "occasion", "status", "reason"}
    await harness.start()
    assert await rows(harness.care.db, "SELECT id FROM outreach") == []


async def test_a_customer_lapsed_since_march_is_won_back_once(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    carl = harness.customer("Carl")
    cid = await _join(harness, carl)
    await add_purchase(harness.care.db, cid, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    await harness.care.stages.reevaluate_all()
    config = _config(tmp_path, harness)
    await harness.stop()
    code = await _in_thread(
        main, ["outreach", "plan", "--date", "2026-11-23", "--json", "--config", str(config)]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    winbacks = [(x["telegram_id"], x["occasion"], x["status"], x["reason"]) for x in lines]
    assert (carl.id, "winback:2026-03-01", "due", None) in winbacks
    await harness.start()
    for _ in range(2):
        await harness.care.outreach.run_once()
        harness.clock.advance(minutes=10)
    offer = await carl.next_message()
    assert "we miss you" in (offer.text or "")
    await carl.expect_no_message(0.3)
    found = await rows(
        harness.care.db, "SELECT occasion, status FROM outreach WHERE kind = 'winback'"
    )
    assert found == [{"occasion": "winback:2026-03-01", "status": "sent"}]


async def test_cli_run_once_sends_through_the_bot_api(
    harness_factory: HarnessFactory, tmp_path: Path
) -> None:
    harness = await harness_factory()
    alice = harness.customer("Alice")
    await _join(harness, alice)
    await alice.send("/birthday 25-11")
    await alice.next_message()
    settings = harness.settings
    now = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    planned, sent = await outreach_cli.run_once(settings, now, out=_Sink())
    assert sent["sent"] == 1 and planned["birthday_queued"] >= 1
    greeting = await alice.next_message()
    assert "Happy birthday" in (greeting.text or "")
    planned, sent = await outreach_cli.run_once(settings, now + timedelta(minutes=1), out=_Sink())
    assert sent["sent"] == 0
    await alice.expect_no_message(0.3)


class _Sink:
    def write(self, text: str) -> int:
        return len(text)


async def _in_thread(func, *args):  # type: ignore[no-untyped-def]
    import asyncio

    return await asyncio.to_thread(func, *args)
