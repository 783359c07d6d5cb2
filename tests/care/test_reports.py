"""The report's measures against a small shop worked out by hand (tests/reports_support.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from care.reports.measures import Period
from care.services import CareServices
from care.settings import CareSettings, ReportSettings, StaffSettings
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.reports_support import WEEK, seed_shop


def _care(db: Database, clock: FakeClock, owners: list[int] | None = None) -> CareServices:
    settings = CareSettings(staff=StaffSettings(owners=owners or []))
    return CareServices.build(db, clock, settings, RecordingMessenger())


async def test_the_week_of_a_small_shop_matches_the_hand_computed_numbers(
    db: Database, clock: FakeClock
) -> None:
    await seed_shop(db)
    report = await _care(db, clock).reports.report(WEEK)

    # Stages at the end (Ann trust, Bob and Cy engaged, Di aware) and at the start (Di not yet
    # known; Ann and Cy still understanding).
    assert report.customers_by_stage == {
        "aware": 1, "engaged": 2, "understanding": 0, "trust": 1, "alliance": 0
    }  # fmt: skip
    assert report.previous_by_stage == {
        "aware": 0, "engaged": 1, "understanding": 2, "trust": 0, "alliance": 0
    }  # fmt: skip
    # Ann up to trust, Cy down to engaged; Cy's lapsed moment (11-18) fell in the week; Ann
    # bought on 11-16 after 107 days away (more than lapsed_min_days = 90).
    assert (report.moves.up, report.moves.down) == (1, 1)
    assert (report.moves.lapsed, report.moves.came_back) == (1, 1)
    assert report.recency == {"active": 1, "at_risk": 1, "lapsed": 1}
    assert report.at_risk_value_cents == 2300
    assert [(c.name, c.spend_cents, c.visits) for c in report.at_risk_top] == [("Bob", 2300, 2)]

    assert report.value_by_stage == {"trust": (1, 5000, 2)}
    assert [(c.name, c.spend_cents) for c in report.top_customers] == [("Ann", 5000)]
    cells = {(c.recency, c.frequency): (c.customers, c.spend_cents) for c in report.rfm}
    # Ann: 2 days, 3 purchases; Bob: 52 days, 2; Cy: 205 days, 1.
    assert cells == {(0, 1): (1, 6000), (1, 1): (1, 2300), (3, 0): (1, 700)}

    assert (report.csat.average, report.csat.count) == (3.5, 2)
    assert report.csat.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert report.csat.low_share == 0.5
    assert report.csat.by_kind == {"complaint": 5.0, "feedback": 2.0}
    assert report.csat.weekly[-2:] == [("2026-11-08", 4.0, 1), ("2026-11-15", 3.5, 2)]

    tickets = report.tickets
    assert (tickets.opened, tickets.resolved, tickets.overdue) == (3, 2, 1)
    assert tickets.first_response.count == 2
    assert (tickets.first_response.median_hours, tickets.first_response.p90_hours) == (2.0, 3.0)
    assert tickets.first_response.within_target == 1.0
    assert (tickets.resolution.median_hours, tickets.resolution.p90_hours) == (36.0, 48.0)
    assert tickets.resolution.within_target == 1.0

    faq = report.faq
    assert (faq.questions, faq.answered, faq.suggested, faq.fallback) == (6, 3, 2, 1)
    assert (faq.helpful, faq.unhelpful) == (2, 1)
    assert faq.top_unanswered == [("Do you have wifi?", 4)]

    points = report.points
    # Earns 200 + 300 (+40 voided) and a 50 bonus; 100 redeemed; 30 expired; 10 adjusted.
    assert (points.issued, points.redeemed, points.expired, points.adjusted) == (550, 100, 30, 10)
    assert points.outstanding == 1050 + 210 + 70
    # Earned in 12 months: Ann 1150 (silver), Bob 230, Cy 70, Di nothing.
    assert report.members_by_tier == {"member": 3, "silver": 1, "gold": 0}

    assert report.outreach.sent == 2
    assert report.outreach.failed == {"blocked": 1}
    assert (report.outreach.replies, report.outreach.won_back) == (1, 1)

    assert (report.totals.customers, report.previous.customers) == (4, 3)
    assert (report.totals.new_customers, report.previous.new_customers) == (1, 0)
    assert report.previous.csat_average == 4.0
    assert report.previous.faq_questions == 5
    # Spend 0 → 5000 moved most relative to before, then points issued 0 → 550.
    assert [m.name for m in report.movers][:2] == ["spend_cents", "points_issued"]
    assert len(report.movers) == 3


async def test_the_json_carries_the_contracted_keys(db: Database, clock: FakeClock) -> None:
    await seed_shop(db)
    data = (await _care(db, clock).reports.report(WEEK)).as_json()
    assert set(data["customers_by_stage"]) == {
        "aware", "engaged", "understanding", "trust", "alliance"
    }  # fmt: skip
    assert data["recency"] == {"active": 1, "at_risk": 1, "lapsed": 1}
    assert {"average", "count"} <= set(data["csat"])
    assert {"opened", "resolved", "overdue"} <= set(data["tickets"])
    assert {"questions", "answered", "suggested", "fallback"} <= set(data["faq"])
    assert {"issued", "redeemed", "expired", "outstanding"} <= set(data["points"])
    assert data["members_by_tier"] == {"member": 3, "silver": 1, "gold": 0}


async def test_an_empty_shop_is_a_report_of_zeros(db: Database, clock: FakeClock) -> None:
    report = await _care(db, clock).reports.report(WEEK)
    assert report.empty
    assert set(report.customers_by_stage.values()) == {0}
    assert report.csat.average is None and report.tickets.first_response.median_hours is None
    assert report.members_by_tier == {"member": 0, "silver": 0, "gold": 0}
    assert report.movers == []


async def test_one_customer_and_no_tickets(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO customers (name, stage, stage_since, member_code, created_at)"
            " VALUES ('Solo', 'aware', ?, 'M1', ?)",
            ("2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00+00:00"),
        )
    report = await _care(db, clock).reports.report(WEEK)
    assert not report.empty
    assert report.customers_by_stage["aware"] == 1
    assert (report.tickets.opened, report.tickets.resolved, report.tickets.overdue) == (0, 0, 0)
    assert report.members_by_tier["member"] == 1
    assert [(m.name, m.before, m.now) for m in report.movers] == [("new_customers", 0.0, 1.0)]


async def test_faq_questions_are_counted_by_outcome(db: Database, clock: FakeClock) -> None:
    owner = 1
    care = _care(db, clock, [owner])
    await care.faq.add(owner, "en", "What are your opening hours?", (), "9 to 5.")
    answered = await care.faq.answer("what are your opening hours", "en", asker=42)
    fallback = await care.faq.answer("can I bring my pet giraffe", "en", asker=42)
    await care.faq.answer("what are your opening hours", "en", asker=None)  # a dry run
    assert (answered.outcome.value, fallback.outcome.value) == ("answer", "fallback")
    period = Period(clock.now() - timedelta(hours=1), clock.now() + timedelta(minutes=1))
    faq = (await care.reports.report(period)).faq
    assert (faq.questions, faq.answered, faq.fallback) == (2, 1, 1)


async def test_the_digest_is_queued_once_on_monday_morning(db: Database, clock: FakeClock) -> None:
    owner = 700
    care = _care(db, clock, [owner])
    await seed_shop(db)
    sunday = datetime(2026, 11, 22, 10, tzinfo=UTC)
    clock.set(sunday)
    assert await care.reports.queue_digest() == 0
    clock.set(datetime(2026, 11, 23, 7, 59, tzinfo=UTC))
    assert await care.reports.queue_digest() == 0
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    assert await care.reports.queue_digest() == 1
    for minutes in (15, 30, 600):
        clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes))
        assert await care.reports.queue_digest() == 0
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    assert await care.reports.queue_digest() == 0
    async with db.read() as tx:
        cursor = await tx.execute("SELECT chat_id, kind, message FROM outbox")
        rows = await cursor.fetchall()
    assert [(row[0], row[1]) for row in rows] == [(owner, "reports.digest")]
    assert '"reports.digest_3"' in rows[0][2] and "2026-11-16" in rows[0][2]
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert await care.reports.queue_digest() == 1


async def test_the_digest_can_be_turned_off(db: Database, clock: FakeClock) -> None:
    settings = CareSettings(
        staff=StaffSettings(owners=[700]), reports=ReportSettings(digest=False)
    )
    care = CareServices.build(db, clock, settings, RecordingMessenger())
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert await care.reports.queue_digest() == 0


async def test_an_owner_who_opted_out_gets_no_digest(db: Database, clock: FakeClock) -> None:
    care = _care(db, clock, [700, 701])
    assert await care.reports.set_digest(701, False) is False
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert await care.reports.queue_digest() == 1
    async with db.read() as tx:
        cursor = await tx.execute("SELECT chat_id, message FROM outbox")
        rows = await cursor.fetchall()
    assert [row[0] for row in rows] == [700]
    assert '"reports.digest_empty"' in rows[0][1]  # an empty shop says so
    await care.reports.set_digest(701, True)
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert await care.reports.queue_digest() == 2
