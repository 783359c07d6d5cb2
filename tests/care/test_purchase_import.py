"""Purchase history in, status out: exact round trip, bad rows, re-imports, points as live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.messenger import rendered
from care.clock import iso
from care.outbox import decode
from care.ports import Text
from care.purchase_import import PurchaseImport
from care.services import CareServices
from care.settings import CareSettings, LocaleSettings, LoyaltySettings, StaffSettings
from handlers.at_risk import status_line
from handlers.stages import reason_text
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.outreach_support import rows

OWNER = 900_000_001
STAFF_CHAT = -100_777


def _care(db: Database, clock: FakeClock, zone: str = "Asia/Shanghai") -> CareServices:
    settings = CareSettings(
        locale=LocaleSettings(timezone=zone),
        staff=StaffSettings(owners=(OWNER,), chat_id=STAFF_CHAT),
    )
    return CareServices.build(db, clock, settings, RecordingMessenger())


def _importer(care: CareServices) -> PurchaseImport:
    return PurchaseImport(care.db, care.clock, care.settings.locale, care.stages, care.loyalty)


async def _customer(care: CareServices, telegram_id: int, name: str) -> tuple[int, str]:
    done = await care.customers.register(telegram_id, None, name, "en")
    return done.customer.id, done.customer.member_code


def _row(customer: str, at: str, amount: str, receipt: str) -> dict[str, str]:
    return {"customer": customer, "at": at, "amount": amount, "receipt": receipt}


async def test_a_small_history_round_trips_exactly(db: Database, clock: FakeClock) -> None:
    care = _care(db, clock)
    _, code = await _customer(care, 11, "Ann")
    # Weekly, Saturday mornings in the shop's zone (UTC+8), one with its own offset.
    history = [
        _row(code, "2026-09-05T09:30:00", "4.50", "r-1"),
        _row(code, "2026-09-12T09:30:00+08:00", "5", "R-2"),
        _row("11", "2026-09-19T01:30:00+00:00", "12.25", "R-3"),
        _row(code.lower(), "2026-09-26T09:30:00", "4.50", "R-4"),
    ]
    report = await _importer(care).import_rows(list(enumerate(history, start=2)))
    assert (report.recorded, report.customers, report.points, report.rejected) == (4, 1, 0, [])

    at = datetime(2026, 10, 3, tzinfo=UTC)
    [ann] = await care.status.everyone(at)
    assert ann.member_code == code and ann.purchases == 4
    assert ann.last_purchase_at == "2026-09-26T01:30:00+00:00"
    assert ann.value_cents == 450 + 500 + 1225 + 450
    assert ann.recency == "active" and ann.probability is not None and ann.probability > 0.9
    assert ann.stage == "trust"  # 4 purchases in 180 days
    later = datetime(2026, 10, 30, tzinfo=UTC)  # 33 days silent for a weekly regular
    [ann] = await care.status.everyone(later)
    assert ann.recency == "at_risk" and ann.winback_due_at is not None
    assert "usually every 8 days, now 33 days" in reason_text(ann.reason, "en")
    assert "通常每 8 天来一次，已 33 天未来" in reason_text(ann.reason, "zh")
    # As of a moment before the history ended, the later purchases are not known yet.
    [before] = await care.status.everyone(datetime(2026, 9, 13, tzinfo=UTC))
    assert before.purchases == 2 and before.last_purchase_at == "2026-09-12T01:30:00+00:00"
    assert (await rows(db, "SELECT COUNT(*) AS n FROM points_ledger"))[0]["n"] == 0


async def test_status_writes_nothing(db: Database, clock: FakeClock) -> None:
    care = _care(db, clock)
    _, code = await _customer(care, 11, "Ann")
    await _importer(care).import_rows([(2, _row(code, "2026-09-05T09:30:00", "4.50", "R-1"))])
    before = await rows(db, "SELECT * FROM customers")
    changes = await db.scalar("SELECT total_changes()")  # every row this connection wrote
    await care.status.everyone(clock.now() + timedelta(days=400))
    assert await db.scalar("SELECT total_changes()") == changes
    assert [dict(r) for r in await rows(db, "SELECT * FROM customers")] == [
        dict(r) for r in before
    ]


async def test_bad_rows_are_reported_by_row_and_the_good_ones_kept(
    db: Database, clock: FakeClock
) -> None:
    care = _care(db, clock)
    _, code = await _customer(care, 11, "Ann")
    report = await _importer(care).import_rows(
        [
            (2, _row(code, "2026-09-05T09:30:00", "4.50", "R-1")),
            (3, _row("nobody", "2026-09-05T09:30:00", "4.50", "R-2")),
            (4, _row(code, "last tuesday", "4.50", "R-3")),
            (5, _row(code, "2026-09-05T09:30:00", "-2", "R-4")),
            (6, _row(code, "2026-09-05T09:30:00", "4.50", "")),
            (7, _row(code, "2026-09-06T09:30:00", "4.50", "r-1")),
            (8, _row(code, iso(clock.now() + timedelta(days=1)), "4.50", "R-5")),
        ]
    )
    assert report.recorded == 1
    assert [(r.row, r.reason.split(":")[0]) for r in report.rejected] == [
        (3, "customer"),
        (4, "at"),
        (5, "amount"),
        (6, "receipt"),
        (7, "receipt"),
        (8, "at"),
    ]
    assert "also on row 2" in report.rejected[4].reason


async def test_a_second_import_changes_nothing_and_a_dry_run_writes_nothing(
    db: Database, clock: FakeClock
) -> None:
    care = _care(db, clock)
    ann, code = await _customer(care, 11, "Ann")
    await _customer(care, 12, "Bob")
    file = [
        (2, _row(code, "2026-09-05T09:30:00", "4.50", "R-1")),
        (3, _row(code, "2026-09-12T09:30:00", "4.50", "R-2")),
    ]
    dry = await _importer(care).import_rows(file, dry_run=True, earn=True)
    assert (dry.recorded, dry.dry_run) == (2, True) and dry.points > 0
    assert await rows(db, "SELECT id FROM purchases") == []
    assert await rows(db, "SELECT id FROM points_ledger") == []
    first = await _importer(care).import_rows(file, earn=True)
    assert first.points == dry.points
    again = await _importer(care).import_rows(file, earn=True)
    assert (again.recorded, again.already, again.points, again.rejected) == (0, 2, 0, [])
    other = await _importer(care).import_rows([(2, _row("12", "2026-09-05T09:30:00", "3", "R-1"))])
    assert other.recorded == 0 and "another customer's" in other.rejected[0].reason
    assert len(await rows(db, "SELECT id FROM purchases WHERE customer_id = ?", ann)) == 2


async def test_earn_gives_the_points_a_live_earn_gives(db: Database, clock: FakeClock) -> None:
    amounts = ["4.50", "180", "260.40", "9.99", "75", "300"]  # crosses tiers on the way
    live_db = db
    live = _care(live_db, clock)
    ann, _ = await _customer(live, 11, "Ann")
    start = clock.now() - timedelta(days=30)
    live_clock = FakeClock(start)
    live_care = CareServices.build(live_db, live_clock, live.settings, RecordingMessenger())
    expected = []
    for i, amount in enumerate(amounts):
        cents = round(float(amount) * 100)
        result = await live_care.loyalty.earn(ann, cents, f"L-{i}", receipt=f"L-{i}")
        expected.append(result.points)
        live_clock.advance(days=2)

    imported = await Database.open(str(db.path) + "-imported.sqlite3")
    try:
        from storage.migrate import migrate

        await migrate(imported)
        care = _care(imported, clock)
        bob, code = await _customer(care, 12, "Bob")
        history = [
            (2 + i, _row(code, iso(start + timedelta(days=2 * i)), amount, f"I-{i}"))
            for i, amount in enumerate(amounts)
        ]
        report = await _importer(care).import_rows(history, earn=True)
        assert report.points == sum(expected)
        got = await rows(
            imported,
            "SELECT delta FROM points_ledger WHERE customer_id = ? ORDER BY created_at",
            bob,
        )
        assert [r["delta"] for r in got] == expected
    finally:
        await imported.close()


async def test_the_weekly_list_goes_once_a_week_highest_value_first(
    db: Database, clock: FakeClock
) -> None:
    care = _care(db, clock)
    customers = []
    for i, (name, amount) in enumerate((("Ann", "4"), ("Bob", "30"), ("Cy", "12"))):
        cid, code = await _customer(care, 20 + i, name)
        customers.append(code)
        start = clock.now() - timedelta(days=60)
        await _importer(care).import_rows(
            [
                (2 + k, _row(code, iso(start + timedelta(days=7 * k)), amount, f"{name}-{k}"))
                for k in range(5)
            ]
        )
    clock.advance(days=5)
    assert await care.status.post_weekly() is True
    assert await care.status.post_weekly() is False  # the same ISO week: once
    clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))  # Monday 08:30 in the shop (UTC+8)
    assert await care.status.post_weekly() is False  # before opening time
    clock.advance(hours=1)
    assert await care.status.post_weekly() is True
    posts = await rows(db, "SELECT chat_id, message FROM outbox WHERE kind = ? ORDER BY id",
                       "customers.at_risk_weekly")  # fmt: skip
    assert len(posts) == 2 and posts[0]["chat_id"] == STAFF_CHAT
    message = decode(posts[0]["message"])
    names = [line.fields["name"] for line in message.fields["lines"]]
    assert names == ["Bob", "Cy", "Ann"]
    en = rendered(Text(message.key, message.fields), "en")
    zh = rendered(Text(message.key, message.fields), "zh")
    assert en.startswith("📋 This week's customers worth a personal word (3,")
    assert "• Bob (" in en and "150.00 in 12 months" in en and "usually every 8 days" in en
    assert "近 12 个月消费 150.00" in zh and "通常每 8 天来一次" in zh
    [bob] = [s for s in await care.status.everyone() if s.name == "Bob"]
    assert status_line(bob, "zh").startswith("• Bob（")


async def test_a_past_purchase_earns_as_it_would_have_then_not_counting_later_points(
    db: Database, clock: FakeClock
) -> None:
    settings = CareSettings(loyalty=LoyaltySettings(daily_cap=50))
    care = CareServices.build(db, clock, settings, RecordingMessenger())
    ann, code = await _customer(care, 11, "Ann")
    today = await care.loyalty.earn(ann, 9000, "LIVE-1", receipt="LIVE-1")  # capped at 50
    assert today.points == 50 and today.capped
    report = await _importer(care).import_rows(
        [(2, _row(code, iso(clock.now() - timedelta(days=10)), "30", "OLD-1"))], earn=True
    )
    assert report.points == 30  # that day's cap was untouched; today's 50 came later
