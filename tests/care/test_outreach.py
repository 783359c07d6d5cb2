"""Outreach with a fake clock and a recording messenger: once, on time, politely."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from care.clock import iso
from care.errors import BirthdayLocked, InvalidArgument, InvalidBirthday
from care.outreach.rules import parse_birthday
from care.pacer import Pacer
from care.ports import OutboundMessage, SendResult, SendStatus
from care.settings import StageSettings
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.outreach_support import (
    ScriptedMessenger,
    add_customer,
    add_purchase,
    add_ticket,
    build,
    rows,
    set_columns,
)

GAP = StageSettings(recency_model="gap")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def outbox(db: Database) -> list[dict[str, object]]:
    return await rows(db, "SELECT * FROM outreach ORDER BY id")


async def test_a_birthday_is_sent_once_at_the_local_hour(db: Database, clock: FakeClock) -> None:
    # 2026-11-22 10:00 UTC is 18:00 in Shanghai; the birthday is tomorrow there.
    cid = await add_customer(db, clock, 11, "Li Wei", timezone="Asia/Shanghai", birthday="--11-23")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock)
    await stages.evaluate(cid)  # engaged: a 20-point bonus
    await outreach.run_once()
    assert sent.sent == []
    clock.set(at("2026-11-23T09:59+08:00"))
    await outreach.run_once()
    assert sent.sent == []
    clock.set(at("2026-11-23T10:00+08:00"))
    await outreach.run_once()
    assert [m.key for m in sent.sent] == ["outreach.birthday.engaged_bonus"]
    assert sent.sent[0].fields["points"] == 20 and sent.sent[0].chat_id == 11
    # A restart (new services over the same database) and a second run send nothing more.
    _, again, sent_again = build(db, clock)
    clock.advance(minutes=5)
    await again.run_once()
    await outreach.run_once()
    assert sent_again.sent == [] and len(sent.sent) == 1
    [row] = await outbox(db)
    assert (row["occasion"], row["status"]) == ("birthday:2026", "sent")
    bonus = await rows(db, "SELECT delta, kind, reference FROM points_ledger")
    assert bonus == [{"delta": 20, "kind": "bonus", "reference": "birthday:2026"}]


async def test_quiet_hours_hold_a_message_until_morning(db: Database, clock: FakeClock) -> None:
    cid = await add_customer(db, clock, 12, "Bea", timezone="Europe/London")
    clock.set(at("2026-11-22T19:00+00:00"))
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock, checkin_first_after_days=0)
    await stages.evaluate(cid)  # check-in due now... at 19:00
    clock.set(at("2026-11-22T22:30+00:00"))  # ...but the planner only runs at 22:30
    await outreach.run_once()
    assert sent.sent == []
    [row] = await outbox(db)
    assert row["status"] == "queued" and row["due_at"] == "2026-11-23T09:00:00+00:00"
    clock.set(at("2026-11-23T08:59+00:00"))
    await outreach.drain()
    assert sent.sent == []
    clock.set(at("2026-11-23T09:00+00:00"))
    await outreach.drain()
    assert [m.key for m in sent.sent] == ["outreach.checkin.engaged"]


async def test_the_sender_holds_a_row_that_became_due_in_quiet_hours(
    db: Database, clock: FakeClock
) -> None:
    await add_customer(db, clock, 13, "Cy", birthday="--11-22")
    _, outreach, sent = build(db, clock, birthday_time="20:55")
    await outreach.plan()
    clock.set(at("2026-11-22T21:10+00:00"))
    counts = await outreach.drain()
    # The birthday is today only: held past midnight, it is missed, with the reason.
    assert counts["missed"] == 1 and sent.sent == []
    [row] = await outbox(db)
    assert (row["status"], row["reason"]) == ("missed", "quiet_hours")


async def test_opted_out_and_blocked_customers_are_skipped_with_reasons(
    db: Database, clock: FakeClock
) -> None:
    await add_customer(db, clock, 21, "Opal", birthday="--11-22", opted_out=1)
    blocked = await add_customer(db, clock, 22, "Ben", birthday="--11-22")
    await add_customer(db, clock, 23, "Cat", birthday="1990-11-22")
    gone = await add_customer(db, clock, 24, "Dan", birthday="--11-22")
    messenger = RecordingMessenger()
    messenger.statuses[22] = SendStatus.BLOCKED
    messenger.statuses[24] = SendStatus.NOT_FOUND
    _, outreach, _ = build(db, clock, messenger)
    await outreach.run_once()
    found = {r["customer_id"]: (r["status"], r["reason"]) for r in await outbox(db)}
    assert found == {
        1: ("skipped", "opted_out"),
        2: ("failed", "blocked"),
        3: ("sent", None),
        4: ("failed", "chat_not_found"),
    }
    for customer_id in (blocked, gone):  # the outbox sender's rule: both are unreachable now
        [row] = await rows(db, "SELECT reachable FROM customers WHERE id = ?", customer_id)
        assert row["reachable"] == 0
    # Ben stays skipped as unreachable (no more 403s) until he comes back with /start.
    await set_columns(db, blocked, next_checkin_at="2026-11-22T10:00:00+00:00")
    await add_purchase(db, blocked, clock.now() - timedelta(days=3))
    await outreach.run_once()
    rows_now = await rows(db, "SELECT status, reason FROM outreach WHERE kind = 'checkin'")
    assert rows_now == [{"status": "skipped", "reason": "unreachable"}]
    assert [m.chat_id for m in messenger.sent] == [23]


async def test_a_checkin_answer_is_recorded_as_feedback(db: Database, clock: FakeClock) -> None:
    cid = await add_customer(db, clock, 31, "Dee")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock)
    await stages.evaluate(cid)
    clock.advance(days=3)
    await outreach.run_once()
    [message] = sent.sent
    assert message.key == "outreach.checkin.engaged"
    data = [d for _, d in message.buttons]
    [row] = await outbox(db)
    assert data[:5] == [f"outreach:rate:{row['id']}:{n}" for n in range(1, 6)]
    answer = await outreach.answer_checkin(31, int(row["id"]), 4)
    assert answer.ticket_number == 1001 and not answer.already
    assert (await outreach.answer_checkin(31, int(row["id"]), 5)).already
    tickets = await rows(db, "SELECT number, kind, category, rating, status FROM tickets")
    assert tickets == [
        {
            "number": 1001,
            "kind": "feedback",
            "category": "checkin",
            "rating": 4,
            "status": "resolved",
        }
    ]
    stats = await outreach.stats()
    assert stats["checkin"]["sent"] == 1 and stats["checkin"]["replies"] == 1


async def test_a_lapsed_customer_gets_one_winback_and_is_won_back(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 41, "Eli")
    stages, outreach, sent = build(db, clock, stages=GAP)
    for _ in range(3):
        await add_purchase(db, cid, clock.now())
        clock.advance(days=10)
    await stages.evaluate(cid)  # at risk after 20 days (2 x 10-day gaps), lapsed after 90
    sent.statuses.clear()
    for _ in range(100):  # three months of planner and sender runs, once a day at 10:00 UTC
        clock.advance(days=1)
        await stages.reevaluate_all()
        await outreach.run_once()
    winbacks = [m for m in sent.sent if m.key.startswith("outreach.winback")]
    # The drop to engaged (due since day 100) waits demote_after_days: still understanding.
    assert [m.key for m in winbacks] == ["outreach.winback.understanding"]
    [row] = await rows(db, "SELECT * FROM outreach WHERE kind = 'winback'")
    assert row["occasion"] == "winback:2026-12-12" and row["status"] == "sent"
    await add_purchase(db, cid, clock.now())  # within the 14-day offer? no: sent weeks ago
    await outreach.plan()
    assert (await outreach.stats(90))["winback"]["won_back"] == 0


async def test_a_purchase_within_the_offer_counts_as_won_back(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 42, "Fin")
    stages, outreach, sent = build(db, clock, stages=GAP)
    await add_purchase(db, cid, clock.now())
    await stages.evaluate(cid)
    clock.advance(days=91)  # lapsed: past the 90-day floor
    await outreach.run_once()
    assert [m.key for m in sent.sent][-1] == "outreach.winback.engaged"
    assert sent.sent[-1].fields["valid_until"] == "2027-03-07"
    clock.advance(days=5)
    await add_purchase(db, cid, clock.now())
    await stages.evaluate(cid)
    counts, _ = await outreach.run_once()
    assert counts["won_back"] == 1
    assert (await outreach.stats())["winback"]["won_back"] == 1
    assert len([m for m in sent.sent if m.key.startswith("outreach.winback")]) == 1


async def test_a_customer_lapsed_long_ago_still_gets_one_winback(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 43, "Gil")
    await add_purchase(db, cid, clock.now() - timedelta(days=260))  # 2026-03-07
    stages, outreach, sent = build(db, clock)
    await stages.reevaluate_all()  # at risk since April: the win-back is due now
    [item] = [i for i in await outreach.preview(clock.now().date()) if i.kind == "winback"]
    assert (item.occasion, item.status, item.reason) == ("winback:2026-03-07", "due", None)
    assert item.due_at == "2026-11-22T10:00:00+00:00"
    for _ in range(2):  # planning and sending twice (and evaluating again) sends it once
        await outreach.run_once()
        await stages.reevaluate_all()
        clock.advance(hours=1)
    winbacks = [m for m in sent.sent if m.key.startswith("outreach.winback")]
    assert [m.key for m in winbacks] == ["outreach.winback.engaged"]
    [row] = await rows(db, "SELECT * FROM outreach WHERE kind = 'winback'")
    assert (row["occasion"], row["status"], row["reason"]) == ("winback:2026-03-07", "sent", None)
    [customer] = await rows(db, "SELECT winback_due_at FROM customers WHERE id = ?", cid)
    assert customer["winback_due_at"] is None  # once per lapse episode
    clock.advance(days=30)
    await stages.reevaluate_all()
    await outreach.run_once()
    assert len([m for m in sent.sent if m.key.startswith("outreach.winback")]) == 1


async def test_the_preview_of_a_later_day_shows_an_old_lapse_due(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 44, "Hana")
    await add_purchase(db, cid, at("2026-03-01T12:00+00:00"))
    stages, outreach, _ = build(db, clock)
    await stages.evaluate(cid)
    items = await outreach.preview(date(2026, 11, 23))
    [item] = [i for i in items if i.kind == "winback"]
    assert (item.occasion, item.status, item.reason) == ("winback:2026-03-01", "due", None)
    assert item.due_at == "2026-11-23T09:00:00+00:00"  # the first moment out of quiet hours
    assert await outbox(db) == []


async def test_an_old_lapse_still_obeys_the_rules(db: Database, clock: FakeClock) -> None:
    moody = await add_customer(db, clock, 45, "Ida")
    await add_purchase(db, moody, clock.now() - timedelta(days=300))
    await add_ticket(db, moody, clock.now() - timedelta(days=290))  # still open
    busy = await add_customer(db, clock, 46, "Jay")
    await add_purchase(db, busy, clock.now() - timedelta(days=300))
    two_days_ago = "2026-11-20T10:00:00+00:00"
    async with db.transaction() as tx:  # a check-in went out two days ago
        await tx.execute(
            "INSERT INTO outreach (customer_id, kind, occasion, status, due_at, sent_at,"
            " created_at, updated_at) VALUES (?, 'checkin', 'checkin:2026-11-20', 'sent',"
            " ?, ?, ?, ?)",
            (busy, two_days_ago, two_days_ago, two_days_ago, two_days_ago),
        )
    clock.set(at("2026-11-22T22:00+00:00"))  # quiet hours: held until the morning
    stages, outreach, sent = build(db, clock)
    await stages.reevaluate_all()
    await outreach.run_once()
    found = {r["customer_id"]: (r["status"], r["reason"], r["due_at"]) for r in await outbox(db)}
    assert found[moody][:2] == ("queued", None)
    assert found[moody][2] == "2026-11-23T09:00:00+00:00"
    clock.set(at("2026-11-23T09:00+00:00"))
    await outreach.run_once()
    found = {(r["customer_id"], r["kind"]): (r["status"], r["reason"]) for r in await outbox(db)}
    assert found[(moody, "winback")] == ("skipped", "open_complaint")
    # The cap defers the win-back (the lapse keeps its occasion) until the cap has passed.
    assert found[(busy, "winback")] == ("queued", "held: frequency_cap")
    assert [m for m in sent.sent if m.key.startswith("outreach.winback")] == []
    clock.set(at("2026-11-27T10:00+00:00"))
    await outreach.run_once()
    assert [m.chat_id for m in sent.sent if m.key.startswith("outreach.winback")] == [46]


async def test_a_winback_that_fell_due_during_a_long_downtime_is_sent_late(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 48, "Lou")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock, stages=GAP)
    await stages.evaluate(cid)  # the win-back falls due in 90 days (lapsed)...
    clock.advance(days=95)  # ...while the bot is down; the planner runs before the stages job
    await outreach.run_once()
    [row] = await rows(db, "SELECT status, due_at FROM outreach WHERE kind = 'winback'")
    assert (row["status"], row["due_at"]) == ("sent", "2027-02-25T10:00:00+00:00")
    assert [m.key for m in sent.sent if m.key.startswith("outreach.winback")] == [
        "outreach.winback.engaged"
    ]


async def test_a_planned_winback_is_still_missed_after_a_long_downtime(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 47, "Kai")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock, stages=GAP)
    await stages.evaluate(cid)
    clock.advance(days=90, minutes=1)  # lapsed: planned...
    await outreach.plan()
    clock.advance(days=4)  # ...then the bot was down for longer than the 72-hour grace
    await stages.reevaluate_all()
    await outreach.run_once()
    [row] = await rows(db, "SELECT status, reason FROM outreach WHERE kind = 'winback'")
    assert (row["status"], row["reason"]) == ("missed", "downtime")
    assert [m for m in sent.sent if m.key.startswith("outreach.winback")] == []


async def test_a_failed_birthday_is_sent_again_and_the_bonus_granted_once(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 52, "Hugo", birthday="--11-22")
    await add_purchase(db, cid, clock.now())
    messenger = ScriptedMessenger()
    messenger.fail_next(52, "NetworkError: Bad Gateway")  # 5xx after the messenger's retries
    stages, outreach, _ = build(db, clock, messenger)
    await stages.evaluate(cid)  # engaged: 20 points
    _, counts = await outreach.run_once()
    assert counts["retry"] == 1 and messenger.sent == []
    [row] = await outbox(db)
    assert (row["status"], row["due_at"]) == ("queued", "2026-11-22T10:15:00+00:00")
    assert row["reason"] == "retry: NetworkError: Bad Gateway"
    assert (await outreach.drain())["sent"] == 0  # not yet
    await add_purchase(db, cid, clock.now())  # promoted meanwhile (a 50-point stage)...
    await stages.evaluate(cid)
    clock.advance(minutes=15)
    assert (await outreach.drain())["sent"] == 1
    [message] = messenger.sent
    assert message.key == "outreach.birthday.understanding_bonus"
    assert message.fields["points"] == 20  # ...but the message promises what was granted
    [row] = await outbox(db)
    assert (row["status"], row["reason"]) == ("sent", None)
    ledger = await rows(db, "SELECT delta, reference FROM points_ledger")
    assert ledger == [{"delta": 20, "reference": "birthday:2026"}]
    clock.advance(hours=1)
    await outreach.run_once()
    assert len(messenger.attempts) == 2


async def test_a_timed_out_send_is_not_sent_again(db: Database, clock: FakeClock) -> None:
    cid = await add_customer(db, clock, 53, "Iris", birthday="--11-22")
    await add_purchase(db, cid, clock.now())
    messenger = ScriptedMessenger()
    messenger.fail_next(53, "timeout: Timed out")  # it may have arrived: at most once
    stages, outreach, _ = build(db, clock, messenger)
    await stages.evaluate(cid)
    _, counts = await outreach.run_once()
    assert counts["failed"] == 1
    [row] = await outbox(db)
    assert (row["status"], row["reason"]) == ("failed", "timeout")
    for _ in range(3):
        clock.advance(minutes=15)
        await outreach.run_once()
    assert len(messenger.attempts) == 1 and messenger.sent == []
    ledger = await rows(db, "SELECT delta FROM points_ledger")
    assert ledger == [{"delta": 20}]


async def test_a_send_that_keeps_failing_is_missed_at_the_end_of_its_window(
    db: Database, clock: FakeClock
) -> None:
    await add_customer(db, clock, 54, "Jon", birthday="--11-22")
    messenger = ScriptedMessenger()
    messenger.fail_next(54, "NetworkError: Service Unavailable")
    messenger.fail_next(54, "NetworkError: Service Unavailable")
    _, outreach, _ = build(
        db, clock, messenger, birthday_time="23:50", quiet_start="00:00", quiet_end="00:00"
    )
    await outreach.plan()
    clock.set(at("2026-11-22T23:50+00:00"))
    assert (await outreach.drain())["retry"] == 1
    [row] = await outbox(db)
    assert row["due_at"] == "2026-11-22T23:59:00+00:00"  # the retry stays within the day
    clock.set(at("2026-11-22T23:59+00:00"))
    assert (await outreach.drain())["missed"] == 1
    [row] = await outbox(db)
    assert (row["status"], row["reason"]) == ("missed", "send_failed")
    clock.advance(hours=1)
    await outreach.run_once()
    assert len(messenger.attempts) == 2 and messenger.sent == []


class CrashingMessenger:
    """Dies in the middle of a send, as a process killed after Telegram got the request."""

    async def send(self, message: OutboundMessage) -> SendResult:
        raise SystemExit("killed")


async def test_a_crash_between_sending_and_sent_is_not_resent(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 51, "Gia", birthday="--11-22")
    await add_purchase(db, cid, clock.now())
    stages, crashing, _ = build(db, clock, CrashingMessenger())
    await stages.evaluate(cid)
    with pytest.raises(SystemExit):
        await crashing.run_once()
    [row] = await outbox(db)
    assert row["status"] == "sending"
    _, restarted, sent = build(db, clock)  # the bot comes back
    counts = (await restarted.run_once())[1]
    assert counts["interrupted"] == 1 and sent.sent == []
    [row] = await outbox(db)
    assert (row["status"], row["reason"]) == ("failed", "interrupted")
    ledger = await rows(db, "SELECT delta FROM points_ledger")
    assert ledger == [{"delta": 20}]  # the bonus promised in the message was granted once


async def test_open_complaints_and_the_frequency_cap_hold_promotions(
    db: Database, clock: FakeClock
) -> None:
    moody = await add_customer(db, clock, 61, "Hal", birthday="--11-22")
    await add_ticket(db, moody, clock.now())
    busy = await add_customer(db, clock, 62, "Ivy", birthday="--11-22")
    two_days_ago = "2026-11-20T10:00:00+00:00"
    async with db.transaction() as tx:  # a win-back went out two days ago
        await tx.execute(
            "INSERT INTO outreach (customer_id, kind, occasion, status, due_at, sent_at,"
            " created_at, updated_at) VALUES (?, 'winback', 'winback:2026-09-01', 'sent',"
            " ?, ?, ?, ?)",
            (busy, two_days_ago, two_days_ago, two_days_ago, two_days_ago),
        )
    await set_columns(db, busy, next_checkin_at="2026-11-22T09:00:00+00:00")
    _, outreach, sent = build(db, clock)
    await outreach.run_once()
    found = {(r["customer_id"], r["kind"]): (r["status"], r["reason"]) for r in await outbox(db)}
    assert found[(moody, "birthday")] == ("skipped", "open_complaint")
    assert found[(busy, "checkin")] == ("skipped", "frequency_cap")
    assert found[(busy, "birthday")] == ("sent", None)  # birthdays are exempt from the cap
    assert [m.chat_id for m in sent.sent] == [62]


async def test_a_campaign_message_counts_for_the_frequency_cap(
    db: Database, clock: FakeClock
) -> None:
    busy = await add_customer(db, clock, 63, "Jo")
    two_days_ago = "2026-11-20T10:00:00+00:00"
    async with db.transaction() as tx:  # the autumn menu went out two days ago
        await tx.execute(
            "INSERT INTO outbox (chat_id, customer_id, kind, ref, dedupe_key, message,"
            " promotional, status, not_before, created_at, sent_at)"
            " VALUES (63, ?, 'campaign', '1', 'campaign:1:63', '{}', 1, 'sent', ?, ?, ?)",
            (busy, two_days_ago, two_days_ago, two_days_ago),
        )
    await set_columns(db, busy, next_checkin_at="2026-11-22T09:00:00+00:00")
    _, outreach, sent = build(db, clock)
    await outreach.run_once()
    found = {(r["customer_id"], r["kind"]): (r["status"], r["reason"]) for r in await outbox(db)}
    assert found[(busy, "checkin")] == ("skipped", "frequency_cap")
    assert sent.sent == []


async def test_messages_due_during_downtime_are_missed_past_their_grace(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 71, "Jo", birthday="--11-22")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock)
    await stages.evaluate(cid)  # check-in due on 11-25
    await outreach.plan()  # the birthday is queued for 10:00 today...
    clock.set(at("2026-11-28T12:00+00:00"))  # ...and the bot was down for six days
    await outreach.run_once()
    found = {r["kind"]: (r["status"], r["reason"]) for r in await outbox(db)}
    assert found == {"birthday": ("missed", "downtime"), "checkin": ("missed", "downtime")}
    assert sent.sent == []


async def test_a_checkin_late_within_grace_is_still_sent(db: Database, clock: FakeClock) -> None:
    cid = await add_customer(db, clock, 72, "Kim")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock)
    await stages.evaluate(cid)
    clock.set(at("2026-11-26T12:00+00:00"))  # due 11-25 10:00, 48 hours of grace
    await outreach.run_once()
    assert [m.key for m in sent.sent] == ["outreach.checkin.engaged"]


@pytest.mark.parametrize(
    ("policy", "day", "due"),
    [
        ("feb28", date(2027, 2, 28), True),
        ("mar1", date(2027, 2, 28), False),
        ("mar1", date(2027, 3, 1), True),
        ("skip", date(2027, 2, 28), False),
        ("skip", date(2028, 2, 29), True),
    ],
)
async def test_feb29_birthdays_follow_the_policy(
    db: Database, clock: FakeClock, policy: str, day: date, due: bool
) -> None:
    await add_customer(db, clock, 81, "Leap", birthday="2000-02-29")
    _, outreach, _ = build(db, clock, feb29=policy)
    items = await outreach.preview(day)
    assert [(i.kind, i.status) for i in items] == ([("birthday", "due")] if due else [])


async def test_preview_writes_nothing_and_explains(db: Database, clock: FakeClock) -> None:
    await add_customer(db, clock, 91, "Max", birthday="--11-23", timezone="America/New_York")
    await add_customer(db, clock, 92, "Ned", birthday="--11-23", opted_out=1)
    _, outreach, _ = build(db, clock)
    items = await outreach.preview(date(2026, 11, 23))
    assert [(i.telegram_id, i.status, i.reason, i.due_at) for i in items] == [
        (92, "skipped", "opted_out", "2026-11-23T10:00:00+00:00"),
        (91, "due", None, "2026-11-23T15:00:00+00:00"),
    ]
    assert await outbox(db) == []


def test_birthdays_are_read_strictly() -> None:
    today = date(2026, 11, 22)
    assert parse_birthday("24-12", today).stored() == "--12-24"
    assert parse_birthday("1990-12-24", today).stored() == "1990-12-24"
    assert parse_birthday("24/12/1990", today).stored() == "1990-12-24"
    assert parse_birthday("29-02", today).stored() == "--02-29"
    for bad in ("31-02", "2023-02-29", "00-05", "13-13", "2030-01-01", "2月30日"):
        with pytest.raises(InvalidBirthday):
            parse_birthday(bad, today)
    with pytest.raises(InvalidArgument):
        parse_birthday("next tuesday", today)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("12-25", "--12-25"),  # 25 is not a month: month first, as Chinese writes it
        ("12/25/1990", "1990-12-25"),
        ("12-13", "--12-13"),
        ("13-12", "--12-13"),  # DD-MM, the documented form, wins when both could be right
        ("05-06", "--06-05"),
        ("12月25日", "--12-25"),
        ("12月25号", "--12-25"),
        ("1990年12月25日", "1990-12-25"),
        ("１２月２５日", "--12-25"),  # full-width digits from a Chinese keyboard
        ("1990年1月2日", "1990-01-02"),
    ],
)
def test_birthdays_as_chinese_customers_write_them(text: str, stored: str) -> None:
    assert parse_birthday(text, date(2026, 11, 22)).stored() == stored


async def test_a_birthday_changes_at_most_once_a_year_unless_staff_change_it(
    db: Database, clock: FakeClock
) -> None:
    await add_customer(db, clock, 61, "Zoe")
    _, outreach, _ = build(db, clock)
    assert (await outreach.set_birthday(61, "24-12")).stored() == "--12-24"
    clock.advance(days=1)
    assert (await outreach.set_birthday(61, "24-12")).stored() == "--12-24"  # the same: fine
    with pytest.raises(BirthdayLocked) as refused:
        await outreach.set_birthday(61, "23-11")
    assert refused.value.fields == {"date": "2027-11-22"}
    [row] = await rows(db, "SELECT birthday FROM customers")
    assert row["birthday"] == "--12-24"
    clock.advance(days=365)
    assert (await outreach.set_birthday(61, "23-11")).stored() == "--11-23"


async def test_no_birthday_bonus_within_30_days_of_the_first_birthday(
    db: Database, clock: FakeClock
) -> None:
    # Joined today, says the birthday is tomorrow: greeted, but no bonus points.
    cid = await add_customer(db, clock, 62, "Quick")
    await add_purchase(db, cid, clock.now())
    stages, outreach, sent = build(db, clock)
    await stages.evaluate(cid)  # engaged: normally a 20-point bonus
    await outreach.set_birthday(62, "23-11")
    clock.set(at("2026-11-23T10:00+00:00"))
    await outreach.run_once()
    assert [m.key for m in sent.sent] == ["outreach.birthday.engaged"]
    assert await rows(db, "SELECT delta FROM points_ledger") == []
    # A year later the birthday is old enough: the bonus is granted.
    clock.set(at("2027-11-23T10:00+00:00"))
    await outreach.run_once()
    assert [m.key for m in sent.sent][-1] == "outreach.birthday.engaged_bonus"
    assert await rows(db, "SELECT delta FROM points_ledger") == [{"delta": 20}]


async def test_the_pacer_keeps_the_rate_and_one_message_per_chat_per_second() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(rate=10.0, monotonic=lambda: now[0], sleep=sleep)
    for chat in range(1, 11):
        await pacer.wait(chat)
    assert now[0] == pytest.approx(0.9)  # ten sends in 0.9 s: 10 per second
    await pacer.wait(1)
    assert now[0] == pytest.approx(1.0)
    await pacer.wait(1)  # the same chat again: a full second later
    assert now[0] == pytest.approx(2.0)


async def test_a_winback_planned_before_a_purchase_is_not_sent_after_it(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 71, "Mo")
    await add_purchase(db, cid, clock.now() - timedelta(days=300))
    stages, outreach, sent = build(db, clock)
    await stages.reevaluate_all()
    await outreach.plan()  # the win-back is queued...
    clock.advance(minutes=1)
    await add_purchase(db, cid, clock.now())  # ...the customer comes in before it goes
    await stages.evaluate(cid)  # (an earn refreshes the stage in its transaction)
    clock.advance(minutes=1)
    await outreach.drain()
    assert [m for m in sent.sent if m.key.startswith("outreach.winback")] == []
    [row] = await rows(db, "SELECT status, reason FROM outreach WHERE kind = 'winback'")
    assert (row["status"], row["reason"]) == ("skipped", "purchased_since")


async def test_a_checkin_past_its_grace_when_first_known_is_not_owed_nor_missed(
    db: Database, clock: FakeClock
) -> None:
    cid = await add_customer(db, clock, 73, "Ola")
    for days in (12, 8):  # history imported today: the check-in was due 9 days ago
        await add_purchase(db, cid, clock.now() - timedelta(days=days))
    stages, outreach, sent = build(db, clock)
    await stages.evaluate(cid)
    await outreach.run_once()
    checkins = await rows(db, "SELECT status, reason FROM outreach WHERE kind = 'checkin'")
    assert checkins == []  # not "missed (downtime)": the bot was never down
    assert [m for m in sent.sent if m.key.startswith("outreach.checkin")] == []
    # the next visit brings the next check-in as usual
    await add_purchase(db, cid, clock.now())
    await stages.evaluate(cid)
    clock.advance(days=4)
    await outreach.run_once()
    assert [m.key for m in sent.sent if m.key.startswith("outreach.checkin")] == [
        "outreach.checkin.understanding"
    ]


async def test_a_demotion_never_puts_a_checkin_in_the_past(db: Database, clock: FakeClock) -> None:
    cid = await add_customer(db, clock, 72, "Nia")
    now = clock.now()
    for days in (179, 170, 45, 40):  # trust: 4 purchases in 180 days
        await add_purchase(db, cid, now - timedelta(days=days))
    checked = iso(now - timedelta(days=50))
    async with db.transaction() as tx:  # a check-in went out 50 days ago, before two purchases
        await tx.execute(
            "INSERT INTO outreach (customer_id, kind, occasion, status, due_at, sent_at,"
            " created_at, updated_at) VALUES (?, 'checkin', ?, 'sent', ?, ?, ?, ?)",
            (cid, f"checkin:{checked[:10]}", checked, checked, checked, checked),
        )
    stages, outreach, sent = build(db, clock)
    assert (await stages.evaluate(cid)).stage == "trust"  # next check-in in 10 days (60-day)
    # The oldest purchase leaves the window; two weeks later (demote_after_days) the stage drops
    # to understanding, whose 45-day cadence puts the next check-in in the past.
    clock.advance(days=16)
    assert (await stages.evaluate(cid)).stage == "understanding"
    await outreach.run_once()
    [row] = await rows(db, "SELECT status, reason FROM outreach WHERE status != 'sent' OR id > 1")
    assert (row["status"], row["reason"]) == ("sent", None)  # not "missed (downtime)"
    assert [m.key for m in sent.sent] == ["outreach.checkin.understanding"]
