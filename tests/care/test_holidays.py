"""Holiday greetings with a fake clock and a real database: the right day, once a year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.config import ConfigError, settings_from_mapping
from care.outreach.holidays import HolidayCalendar
from care.ports import Label, OutboundMessage
from care.settings import OutreachSettings
from storage.db import Database
from tests.fakes import FakeClock
from tests.outreach_support import add_customer, add_purchase, build, rows, set_columns

CN_GB = {"holiday_countries": ["CN", "GB"]}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def rendered(message: OutboundMessage) -> str:
    """The text the customer reads, rendered as bot/messenger.py renders it."""
    from handlers.texts import label, t

    fields = {
        name: label(v.key, v.text, message.lang) if isinstance(v, Label) else v
        for name, v in message.fields.items()
    }
    return t(message.key, message.lang, **fields)


async def holiday_rows(db: Database) -> list[dict[str, Any]]:
    return await rows(
        db,
        "SELECT customer_id, occasion, status, reason, due_at FROM outreach"
        " WHERE kind = 'holiday' ORDER BY occasion, customer_id",
    )


async def two_customers(db: Database, clock: FakeClock) -> tuple[int, int]:
    wei = await add_customer(db, clock, 21, "Wei", timezone="Asia/Shanghai", language="zh")
    alice = await add_customer(db, clock, 22, "Alice", timezone="Europe/London")
    return wei, alice


async def test_mid_autumn_and_christmas_2027_are_planned_on_their_days(
    db: Database, clock: FakeClock
) -> None:
    wei, alice = await two_customers(db, clock)
    _, outreach, sent = build(db, clock, **CN_GB)
    clock.set(at("2027-09-13T12:00+00:00"))
    await outreach.plan()
    found = await holiday_rows(db)
    planned = [(r["customer_id"], r["occasion"], r["status"], r["due_at"]) for r in found]
    assert planned == [
        (wei, "holiday:Mid-Autumn Festival:2027", "queued", "2027-09-15T02:00:00+00:00"),
        (alice, "holiday:Mid-Autumn Festival:2027", "queued", "2027-09-15T09:00:00+00:00"),
    ]
    clock.set(at("2027-09-15T09:59+08:00"))
    await outreach.run_once()
    assert sent.sent == []
    clock.set(at("2027-09-15T10:00+08:00"))
    await outreach.run_once()
    assert [rendered(m) for m in sent.sent] == ["Wei，Bean There Café全体祝你中秋节快乐！🎉"]
    clock.set(at("2027-09-15T10:00+01:00"))
    await outreach.run_once()
    assert rendered(sent.sent[1]) == (
        "Alice, everyone at Bean There Café wishes you a happy Mid-Autumn Festival! 🎉"
    )
    # Christmas 2027 (GB) for everyone: 10:00 on 25 December in each customer's zone.
    preview = await outreach.preview(date(2027, 12, 25))
    assert [(p.customer_id, p.kind, p.occasion, p.status, p.due_at) for p in preview] == [
        (wei, "holiday", "holiday:Christmas Day:2027", "due", "2027-12-25T02:00:00+00:00"),
        (alice, "holiday", "holiday:Christmas Day:2027", "due", "2027-12-25T10:00:00+00:00"),
    ]
    clock.set(at("2027-12-25T10:00+00:00"))
    await outreach.run_once()
    assert [rendered(m) for m in sent.sent[2:]] == [
        "Wei，Bean There Café全体祝你圣诞节快乐！🎉",
        "Alice, everyone at Bean There Café wishes you a happy Christmas! 🎉",
    ]
    assert await outreach.preview(date(2027, 12, 26)) == []  # Boxing Day is not greeted


async def test_qingming_is_never_greeted_by_default(db: Database, clock: FakeClock) -> None:
    await two_customers(db, clock)
    _, outreach, sent = build(db, clock, holiday_countries=["CN"])
    assert await outreach.preview(date(2027, 4, 5)) == []  # 清明节 2027
    for moment in ("2027-04-03T12:00", "2027-04-05T02:00", "2027-04-05T12:00"):
        clock.set(at(moment + "+00:00"))
        await outreach.run_once()
    assert sent.sent == [] and await holiday_rows(db) == []
    greeted = {h.name for h in HolidayCalendar(["CN"]).year(2027)}
    assert greeted == {
        "Chinese New Year (Spring Festival)",
        "Dragon Boat Festival",
        "Mid-Autumn Festival",
        "National Day",
    }
    with pytest.raises(ValueError, match="清明节.*mourning"):
        OutreachSettings(holiday_countries=["CN"], holidays=["清明节"])


async def test_a_holiday_is_greeted_once_a_year_across_replanning_and_restarts(
    db: Database, clock: FakeClock
) -> None:
    await two_customers(db, clock)
    _, outreach, sent = build(db, clock, holiday_countries=["CN"])
    for moment in ("2027-09-13T12:00", "2027-09-14T12:00", "2027-09-15T03:00"):
        clock.set(at(moment + "+00:00"))
        await outreach.run_once()
    _, restarted, sent_again = build(db, clock, holiday_countries=["CN"])
    clock.set(at("2027-09-15T10:00+01:00"))  # London's morning
    for _ in range(3):
        clock.advance(minutes=10)
        await restarted.run_once()
        await outreach.run_once()
    assert len(sent.sent) == 1 and sent_again.sent[0].chat_id == 22
    assert len(sent_again.sent) == 1
    assert [r["status"] for r in await holiday_rows(db)] == ["sent", "sent"]
    # National Day lasts three days: one greeting, on 1 October.
    for day in (1, 2, 3):
        clock.set(at(f"2027-10-0{day}T18:00+08:00"))
        await restarted.run_once()
    assert [m.fields["holiday"].text for m in sent_again.sent[1:]] == ["国庆节", "National Day"]
    # The next year is another occasion.
    clock.set(at("2028-10-01T12:00+08:00"))
    await restarted.run_once()
    occasions = [r["occasion"] for r in await holiday_rows(db)]
    assert occasions.count("holiday:National Day:2028") == 2


async def test_evening_before_option(db: Database, clock: FakeClock) -> None:
    wei, _ = await two_customers(db, clock)
    _, outreach, sent = build(
        db,
        clock,
        holiday_countries=["CN"],
        holiday_eve=["春节"],  # the zh_CN name works too
        holiday_eve_time="19:30",
    )
    clock.set(at("2027-02-04T12:00+08:00"))
    await outreach.plan()
    [row] = [r for r in await holiday_rows(db) if r["customer_id"] == wei]
    assert row["occasion"] == "holiday:Chinese New Year (Spring Festival):2027"
    assert row["due_at"] == "2027-02-05T11:30:00+00:00"  # 除夕, 19:30 in Shanghai
    clock.set(at("2027-02-05T19:30+08:00"))
    await outreach.run_once()
    assert [rendered(m) for m in sent.sent] == [
        "Wei，明天就是春节了，Bean There Café全体提前祝你春节快乐！🎉"
    ]
    # An eve time inside the quiet hours waits for the morning of the day itself.
    _, late, _ = build(
        db, clock, holiday_countries=["CN"], holiday_eve=["National Day"], holiday_eve_time="22:00"
    )
    [item] = [p for p in await late.preview(date(2027, 9, 30)) if p.customer_id == wei]
    assert (item.occasion, item.due_at) == (
        "holiday:National Day:2027",
        "2027-10-01T01:00:00+00:00",
    )


async def test_bonus_by_stage_lands_in_the_ledger_exactly_once(
    db: Database, clock: FakeClock
) -> None:
    wei, alice = await two_customers(db, clock)
    await add_purchase(db, alice, clock.now())
    stages, outreach, sent = build(
        db, clock, holiday_countries=["CN"], holiday_bonus={"engaged": 30}
    )
    await stages.evaluate(alice)  # engaged: 30 points; Wei is aware: none
    clock.set(at("2027-09-15T12:00+00:00"))
    await outreach.run_once()
    _, again, _ = build(db, clock, holiday_countries=["CN"], holiday_bonus={"engaged": 30})
    await again.run_once()
    texts = {m.chat_id: rendered(m) for m in sent.sent}
    assert "30 bonus points" in texts[22] and "积分" not in texts[21]
    ledger = await rows(
        db, "SELECT customer_id, delta, kind, reason, reference FROM points_ledger"
    )
    assert ledger == [
        {
            "customer_id": alice,
            "delta": 30,
            "kind": "bonus",
            "reason": "holiday",
            "reference": "holiday:Mid-Autumn Festival:2027",
        }
    ]


async def test_opt_out_quiet_hours_cap_and_reachability_are_respected(
    db: Database, clock: FakeClock
) -> None:
    wei, alice = await two_customers(db, clock)
    carl = await add_customer(db, clock, 23, "Carl", timezone="Asia/Shanghai")
    dana = await add_customer(db, clock, 24, "Dana", timezone="Asia/Shanghai")
    await set_columns(db, carl, reachable=0)
    _, outreach, sent = build(db, clock, holiday_countries=["CN"])
    clock.set(at("2027-06-09T10:00+08:00"))  # 端午节
    await outreach.run_once()
    assert sorted(m.chat_id for m in sent.sent) == [21, 24]
    boat = next(r for r in await holiday_rows(db) if r["customer_id"] == wei)
    sql = "SELECT id FROM outreach WHERE occasion = ? AND customer_id = ?"
    outreach_id = (await rows(db, sql, boat["occasion"], wei))[0]["id"]
    muted = await outreach.mute(21, outreach_id)
    assert muted.kind == "holiday" and muted.changed
    # Dana got a check-in two days before Mid-Autumn: the weekly cap holds her greeting.
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO outreach (customer_id, kind, occasion, status, due_at, sent_at,"
            " created_at, updated_at) VALUES (?, 'checkin', 'checkin:2027-09-13', 'sent', ?, ?,"
            " ?, ?)",
            (dana, *["2027-09-13T02:00:00+00:00"] * 4),
        )
    reasons = {p.customer_id: p.reason for p in await outreach.preview(date(2027, 9, 15))}
    assert reasons == {
        wei: "opted_out_kind",
        alice: None,
        carl: "unreachable",
        dana: "frequency_cap",
    }
    clock.set(at("2027-09-15T22:00+08:00"))  # quiet hours in Shanghai, 15:00 in London
    await outreach.run_once()
    assert [m.chat_id for m in sent.sent[2:]] == [22]
    found = {
        r["customer_id"]: (r["status"], r["reason"])
        for r in await holiday_rows(db)
        if r["occasion"] == "holiday:Mid-Autumn Festival:2027"
    }
    assert found[wei] == ("skipped", "opted_out_kind")
    assert found[carl] == ("skipped", "unreachable")
    assert found[dana] == ("skipped", "frequency_cap")


async def test_the_shops_own_dates_are_greeted(db: Database, clock: FakeClock) -> None:
    wei, alice = await two_customers(db, clock)
    settings = settings_from_mapping(
        {
            "telegram": {"token": "1:x"},
            "outreach": {
                "shop_days": [{"name": "our anniversary", "date": "03-14", "name_zh": "店庆日"}]
            },
        },
        "<test>",
    ).outreach
    assert settings.holiday_countries == []  # no country: only the shop's own day
    _, outreach, sent = build(db, clock, shop_days=settings.shop_days)
    clock.set(at("2027-03-14T12:00+00:00"))
    await outreach.run_once()
    assert sorted(rendered(m) for m in sent.sent) == [
        "Alice, everyone at Bean There Café wishes you a happy our anniversary! 🎉",
        "Wei，Bean There Café全体祝你店庆日快乐！🎉",
    ]
    assert {r["occasion"] for r in await holiday_rows(db)} == {"holiday:our anniversary:2027"}


def test_unknown_holiday_names_are_config_errors_that_name_them() -> None:
    raw = {
        "telegram": {"token": "1:x"},
        "outreach": {"holiday_countries": ["CN"], "holidays": ["Mid-Autumn Festival", "Xmas"]},
    }
    with pytest.raises(ConfigError, match=r"\[outreach.holidays\] unknown holiday 'Xmas' for CN"):
        settings_from_mapping(raw, "config.toml")
    raw["outreach"] = {"holiday_countries": ["XX"]}
    with pytest.raises(ConfigError, match=r"\[outreach.holiday_countries\].*'XX'"):
        settings_from_mapping(raw, "config.toml")
    raw["outreach"] = {"holiday_countries": ["GB"], "holiday_eve": ["Mid-Autumn Festival"]}
    with pytest.raises(ConfigError, match=r"\[outreach.holiday_eve\]"):
        settings_from_mapping(raw, "config.toml")
    default = settings_from_mapping({"telegram": {"token": "1:x"}}, "config.toml")
    assert not default.outreach.holiday_calendar().enabled  # no countries: nothing changes
