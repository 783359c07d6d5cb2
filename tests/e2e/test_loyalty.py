"""End to end through the sandbox: customers' points, staff at the counter, import, linking."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.cli import main
from care.errors import DuplicateReference
from care.roles import Role
from sandbox import SandboxUser
from storage import audit as audit_repo
from tests.conftest import Harness

PHONE = "+44 7700 900123"


async def _registered(harness: Harness, name: str = "Alice") -> SandboxUser:
    user = harness.customer(name)
    await user.send("/start")
    await user.next_message()
    return user


async def _text(user: SandboxUser) -> str:
    return (await user.next_message()).text or ""


async def test_customer_sees_points_history_and_card(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    menu = await alice.next_message()
    customer = await harness.care.customers.require(alice.id)
    for i in range(10):
        await harness.care.loyalty.earn(customer.id, 1000 + i * 100, f"R-{i}")
        harness.clock.advance(hours=1)

    await alice.press(menu, "menu:open:points")
    points = await _text(alice)
    assert "You have 145 points" in points and "Tier: Member" in points
    assert "355 more points to reach Silver" in points
    assert customer.member_code in points and "+19  purchase" in points
    assert points.count("purchase") == 5 and "/phone" in points

    await alice.send("/history")
    page = await alice.next_message()
    assert "page 1 of 2" in (page.text or "") and (page.text or "").count("purchase") == 8
    await alice.press(page, "Older ▶")
    older = await alice.next_message()
    assert older.edited and older.message_id == page.message_id
    assert "page 2 of 2" in (older.text or "") and "+10  purchase" in (older.text or "")
    await alice.press(older, "◀ Newer")
    assert "page 1 of 2" in await _text(alice)

    await alice.send("/card")
    card = await alice.next_message()
    assert card.method == "sendphoto" and card.photo is not None
    assert customer.member_code in card.content


async def test_points_in_chinese_for_a_stranger_and_a_newcomer(harness: Harness) -> None:
    stranger = harness.customer("Wei", language_code="zh-hans")
    await stranger.send("/points")
    assert await _text(stranger) == "请先发送 /start，让我为你建立资料。"
    await stranger.send("/start")
    await stranger.next_message()
    await stranger.send("/points")
    text = await _text(stranger)
    assert "你有 0 积分" in text and "暂无记录" in text


async def test_staff_earn_redeem_adjust_and_refusals(harness: Harness) -> None:
    alice = await _registered(harness)
    bob = await _registered(harness, "Bob")
    await harness.care.staff.grant(harness.owner.id, bob.id, Role.STAFF, "Bob")
    owner = harness.owner

    await bob.send("/earn @alice 120")
    reply = await _text(bob)
    assert "+120 points for 120.00" in reply and "New balance: 120 points" in reply
    await bob.send("/earn @alice 12.345")
    assert "too many decimals" in await _text(bob)
    await bob.send("/earn @alice -5")
    assert "can't be negative" in await _text(bob)
    await bob.send("/earn @alice 50 R-77 coffee")
    assert "New balance: 170 points" in await _text(bob)
    await bob.send("/earn @alice 50 R-77")
    duplicate = await _text(bob)
    assert "R-77 was already counted" in duplicate and "Balance: 170" in duplicate
    await bob.send("/redeem @alice 500")
    assert "Not enough points: the balance is 170, 500 asked for" in await _text(bob)
    await bob.send("/redeem @alice 100 free cake")
    assert "100 points redeemed. New balance: 70 points" in await _text(bob)

    await bob.send("/adjust @alice +30 goodwill")
    assert "needs the owner role" in await _text(bob)
    await owner.send("/adjust @alice +30")
    assert "Usage: /adjust" in await _text(owner)
    await owner.send("/adjust @alice +30 goodwill")
    assert "+30 points (goodwill). New balance: 100 points" in await _text(owner)
    await owner.send("/earn @nobody 10")
    assert "@nobody" in await _text(owner)
    await owner.send("/earn @alice")
    assert "Usage: /earn" in await _text(owner)

    await alice.send("/earn @alice 1000")
    assert await _text(alice) == "Sorry, that command is for staff only."
    await owner.send("/earn @alice 480")  # 120 + 50 + 480 = 650 earned: silver
    assert "Now Silver: the customer is being told" in await _text(owner)
    assert "You are now Silver" in await _text(alice)

    await owner.send(f"/customer {(await harness.care.customers.require(alice.id)).member_code}")
    card = await _text(owner)
    assert "Alice" in card and "Tier: Silver" in card and "Balance: 580 points" in card
    assert "Open tickets: 0" in card

    async with harness.care.db.read() as tx:
        audit = await audit_repo.list_recent(tx, 100)
    results = {(row.actor_id, row.action, row.result.split(":")[0]) for row in audit}
    assert (bob.id, "redeem", "error") in results  # the refused overdraft
    assert (bob.id, "adjust", "refused") in results
    assert (alice.id, "earn", "refused") in results
    assert any(row.action == "earn" and "+480" in row.result for row in audit)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


async def _cli(tmp_path: Path, db_path: str, *args: str) -> int:
    config = tmp_path / f"cli-{Path(db_path).stem}.toml"
    config.write_text(f'[storage]\npath = "{db_path}"\n', "utf-8")
    return await asyncio.to_thread(main, ["customers", *args, "--config", str(config)])


async def test_import_reports_bad_rows_and_a_shared_phone_merges_the_card(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = tmp_path / "customers.csv"
    _write_csv(
        csv_path,
        [
            {"phone": PHONE, "name": "Alice B", "points": "250", "birthday": "--07-14"},
            {"phone": "not a phone", "name": "X", "points": "1", "birthday": ""},
            {"phone": "+4915112345678", "name": "Y", "points": "-3", "birthday": ""},
        ],
    )
    db_path = harness.settings.storage.path
    assert await _cli(tmp_path, db_path, "import", str(csv_path)) == 1
    out, err = capsys.readouterr()
    assert "created 1, updated 0, unchanged 0, rejected 2" in out
    assert "row 3: phone: not a phone number" in err and "row 4: points:" in err

    alice = await _registered(harness)
    await alice.send("/phone")
    prompt = await alice.next_message()
    assert ("📱 Share my phone number", True) in prompt.reply_buttons()
    stranger = harness.sandbox.create_user("Mallory")
    await alice.share_contact("447700900123", of=stranger)
    assert "your own phone number" in await _text(alice)

    await alice.share_contact("447700900123")
    merged = await alice.next_message()
    assert "Found your card! 250 points" in (merged.text or "") and merged.removes_keyboard
    await alice.send("/points")
    assert "You have 250 points" in await _text(alice)


async def test_export_then_import_round_trips(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = await _registered(harness)
    await harness.owner.send("/earn @alice 42.50")
    await harness.owner.next_message()
    await alice.share_contact("+447700900123")
    await alice.next_message()
    db_path = harness.settings.storage.path
    exported = tmp_path / "export.csv"
    assert await _cli(tmp_path, db_path, "export", str(exported)) == 0
    assert await _cli(tmp_path, db_path, "import", str(exported), "--dry-run") == 0
    assert "unchanged 1, rejected 0 (dry run" in capsys.readouterr().out

    fresh_db, again = str(tmp_path / "fresh.sqlite3"), tmp_path / "again.csv"
    assert await _cli(tmp_path, fresh_db, "import", str(exported)) == 0
    assert await _cli(tmp_path, fresh_db, "export", str(again)) == 0
    assert again.read_text("utf-8") == exported.read_text("utf-8")
    assert ",'+447700900123,Alice,,en,,42," in exported.read_text("utf-8")  # text, keeps +


async def test_an_earn_without_receipt_is_keyed_to_its_telegram_message(harness: Harness) -> None:
    alice = await _registered(harness)
    message_id = await harness.owner.send("/earn @alice 10")
    assert "New balance: 10 points" in await _text(harness.owner)
    customer = await harness.care.customers.require(alice.id)
    # The same update redelivered after a crash carries the same chat and message id.
    with pytest.raises(DuplicateReference):
        await harness.care.loyalty.earn(customer.id, 1000, f"tg:{harness.owner.id}:{message_id}")
    assert (await harness.care.loyalty.standing(customer.id)).balance == 10


async def test_tiers_are_named_in_the_customers_language(harness: Harness) -> None:
    wei = harness.customer("Wei", language_code="zh-hans")
    await wei.send("/start")
    await wei.next_message()
    await wei.send("/points")
    points = await _text(wei)
    assert "等级：会员" in points and "银卡" in points
    await harness.care.customers.set_opted_out(wei.id, True)
    owner = harness.owner
    await owner.send("/earn @wei 600")
    reply = await _text(owner)
    assert "Now Silver" in reply and "please tell them at the counter" in reply
    await wei.expect_no_message(0.3)  # opted out: no promotion message


async def _outbox(harness: Harness) -> list[tuple[str, int, str]]:
    async with harness.care.db.read() as tx:
        rows = await tx.execute_fetchall("SELECT kind, chat_id, status FROM outbox ORDER BY id")
    return [(row[0], row[1], row[2]) for row in rows]


async def test_an_earn_whose_reply_fails_keeps_its_audit_row_and_customer_notice(
    harness: Harness,
) -> None:
    alice = await _registered(harness)
    owner = harness.owner
    harness.sandbox.fail("sendMessage", status=500, chat_id=owner.id, times=4)  # every retry
    await owner.send("/earn @alice 600")  # a promotion to Silver
    reply = await _text(owner)  # sent by the outbox after the failed reply
    assert "+600 points for 600.00" in reply and "something went wrong" not in reply
    assert "You are now Silver" in await _text(alice)
    kinds = {(kind, chat) for kind, chat, _ in await _outbox(harness)}
    assert {("loyalty.promoted", alice.id), ("loyalty.reply", owner.id)} <= kinds
    async with harness.care.db.read() as tx:
        audit = await audit_repo.list_recent(tx, 10)
    assert [row.result.split(" ref ")[0] for row in audit if row.action == "earn"] == [
        f"customer {(await harness.care.customers.require(alice.id)).id} +600"
    ]
    await owner.expect_no_message(0.3)  # told once, not twice


async def test_void_undoes_a_mistaken_earn_with_the_entry_number_from_customer(
    harness: Harness,
) -> None:
    alice = await _registered(harness)
    owner = harness.owner
    await owner.send("/earn @alice 20")
    await _text(owner)
    await owner.send("/earn @alice 700")  # meant 7.00: now Silver
    assert "Entry #2" in await _text(owner)
    await _text(alice)  # the promotion
    await owner.send("/customer @alice")
    card = await _text(owner)
    assert "#2 " in card and "#1 " in card and "/void" in card
    bob = await _registered(harness, "Bob")
    await harness.care.staff.grant(owner.id, bob.id, Role.STAFF, "Bob")
    await bob.send("/void 2")
    assert "needs the manager role" in await _text(bob)
    await owner.send("/void #2 typo")
    voided = await _text(owner)
    assert "Entry #2 (+700 points, purchase)" in voided
    assert "New balance: 20 points (Member)" in voided and "stage: engaged" in voided.lower()
    await owner.send("/void 2")
    assert "already voided" in await _text(owner)
    await alice.send("/points")
    points = await _text(alice)
    assert "You have 20 points" in points and "Tier: Member" in points
    assert "(voided)" in points and "cancels #2" in points


async def test_history_buttons_double_tap_and_forged_page(harness: Harness) -> None:
    alice = await _registered(harness)
    customer = await harness.care.customers.require(alice.id)
    for i in range(10):
        await harness.care.loyalty.earn(customer.id, 1000, f"R-{i}")
    await alice.send("/history")
    page = await alice.next_message()
    first = await alice.press_data(page, "loyalty:page:1")
    second = await alice.press_data(page, "loyalty:page:1")  # a double tap
    assert (await alice.wait_callback_answer(first)).get("text") is None
    assert (await alice.wait_callback_answer(second)).get("text") is None
    assert "page 2 of 2" in await _text(alice)
    await alice.expect_no_message(0.3)  # no "something went wrong"
    for forged in ("loyalty:page:" + "9" * 40, "loyalty:page:7", "loyalty:page:-1"):
        query = await alice.press_data(page, forged)
        assert (await alice.wait_callback_answer(query)).get("text") == "That button has expired."
    await alice.expect_no_message(0.2)


async def test_a_big_earn_waits_for_a_confirmation_from_its_asker(harness: Harness) -> None:
    alice = await _registered(harness)
    customer = await harness.care.customers.require(alice.id)
    for i in range(3):
        await harness.care.loyalty.earn(customer.id, 2000, f"R-{i}")
    owner = harness.owner
    await owner.send("/earn @alice 900 R-big")
    ask = await owner.next_message()
    assert "far above their usual (20.00)" in (ask.text or "")
    assert (await harness.care.loyalty.standing(customer.id)).balance == 60
    bob = await _registered(harness, "Bob")
    await harness.care.staff.grant(owner.id, bob.id, Role.MANAGER, "Bob")
    data = next(data for _, data in ask.buttons() if data and ":confirm:" in data)
    stolen = await bob.press_data(ask, data)  # not Bob's question
    assert (await bob.wait_callback_answer(stolen)).get("text") == "That button has expired."
    await owner.press(ask, "Yes, add them")
    done = await owner.next_message()
    assert done.edited and "+900 points for 900.00" in (done.text or "")
    again = await owner.press_data(ask, data)  # a second tap: quiet
    assert (await owner.wait_callback_answer(again)).get("text") is None
    await owner.expect_no_message(0.3)
    assert (await harness.care.loyalty.standing(customer.id)).balance == 960
