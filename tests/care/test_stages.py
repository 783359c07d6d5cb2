"""Relationship stages: up and down with reasons, complaints block promotion, manual stages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.settings import StageSettings
from care.stages.alive import assess, at_risk_below, gaps_in_days, rhythm
from care.stages.reasons import Reason, rule_reason, staff_reason
from handlers.stages import report_text
from handlers.texts import t
from storage.db import Database
from tests.fakes import FakeClock
from tests.outreach_support import add_customer, add_purchase, add_ticket, build, rows


async def _history(db: Database, customer_id: int) -> list[tuple[str, str]]:
    found = await rows(
        db,
        "SELECT to_stage, reason FROM stage_history WHERE customer_id = ? ORDER BY id",
        customer_id,
    )
    return [(r["to_stage"], r["reason"]) for r in found]


async def test_a_stage_moves_up_and_down_with_reasons(db: Database, clock: FakeClock) -> None:
    stages, _, _ = build(db, clock)
    alice = await add_customer(db, clock, 1)
    assert (await stages.evaluate(alice)).stage == "aware"
    for _ in range(4):
        await add_purchase(db, alice, clock.now())
        await stages.evaluate(alice)
        clock.advance(days=10)
    assert (await stages.evaluate(alice)).stage == "trust"
    clock.advance(days=200)  # stopped buying: the purchases leave the windows
    result = await stages.evaluate(alice)  # one step down per evaluation, never trust -> engaged
    assert result.stage == "understanding" and result.changed and result.status == "lapsed"
    result = await stages.evaluate(alice)
    assert result.stage == "engaged" and result.changed
    assert (await stages.evaluate(alice)).stage == "engaged"
    history = await _history(db, alice)
    assert [stage for stage, _ in history] == [
        "engaged",
        "understanding",
        "trust",
        "understanding",
        "engaged",
    ]
    assert history[1][1] == "rule:purchases_in_window:count=2,days=90"
    assert history[2][1] == "rule:purchases_in_window:count=4,days=180"
    assert history[3][1] == history[4][1] == "rule:purchases:count=4,last=2026-12-22"
    assert Reason.parse(history[4][1]) == rule_reason("purchases", count=4, last="2026-12-22")


async def test_an_open_complaint_blocks_promotion_but_not_the_rules(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    bob = await add_customer(db, clock, 2, "Bob")
    await add_purchase(db, bob, clock.now())
    await stages.evaluate(bob)
    ticket = await add_ticket(db, bob, clock.now())
    clock.advance(days=3)
    await add_purchase(db, bob, clock.now())
    result = await stages.evaluate(bob)
    assert result.stage == "engaged"
    assert result.reason == rule_reason("blocked", stage="understanding")
    async with db.transaction() as tx:
        await tx.execute("UPDATE tickets SET status = 'resolved' WHERE id = ?", (ticket,))
    assert (await stages.evaluate(bob)).stage == "understanding"


async def test_low_ratings_keep_a_regular_buyer_out_of_trust(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    cid = await add_customer(db, clock, 3, "Carol")
    for _ in range(4):
        await add_purchase(db, cid, clock.now())
        clock.advance(days=5)
    await add_ticket(db, cid, clock.now(), kind="feedback", status="resolved", rating=2)
    assert (await stages.evaluate(cid)).stage == "understanding"


async def test_a_manual_stage_holds_until_a_new_fact(db: Database, clock: FakeClock) -> None:
    stages, _, _ = build(db, clock)
    dan = await add_customer(db, clock, 4, "Dan")
    await add_purchase(db, dan, clock.now())
    await stages.evaluate(dan)
    clock.advance(hours=1)
    await stages.set_stage(dan, "alliance", staff_id=9, staff_name="@anna", note="our landlord")
    clock.advance(days=30)
    held = await stages.reevaluate_all()
    assert held == {"evaluated": 1, "changed": 0}
    report = await stages.report(dan)
    assert report.evaluation.stage == "alliance" and report.evaluation.manual
    assert report.rule_stage == "engaged"
    await add_purchase(db, dan, clock.now())  # a new fact: the rules take over again
    result = await stages.evaluate(dan)
    assert result.stage == "understanding" and not result.manual
    history = await _history(db, dan)
    assert history[1] == ("alliance", "staff:@anna:our landlord")
    assert history[2] == ("understanding", "rule:purchases_in_window:count=2,days=90")
    assert Reason.parse(history[1][1]).values() == {"staff": "@anna", "note": "our landlord"}


GAP = StageSettings(recency_model="gap")


async def test_the_gap_rule_follows_the_customers_own_rhythm(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock, stages=GAP)
    weekly = await add_customer(db, clock, 5, "Eve")
    for _ in range(5):
        await add_purchase(db, weekly, clock.now())
        clock.advance(days=7)
    once = await add_customer(db, clock, 6, "Fay")
    await add_purchase(db, once, clock.now())
    # Eve's last purchase was 7 days ago: at risk after max(14, 2 x 7) = 14 days.
    assert (await stages.evaluate(weekly)).status == "active"
    clock.advance(days=8)
    assert (await stages.evaluate(weekly)).status == "at_risk"
    assert (await stages.evaluate(once)).status == "active"  # the 45-day floor applies
    clock.advance(days=40)
    assert (await stages.evaluate(once)).status == "at_risk"
    clock.advance(days=50)
    assert (await stages.evaluate(weekly)).status == "lapsed"
    assert (await stages.evaluate(once)).status == "lapsed"


async def test_the_rules_read_their_thresholds_from_config(db: Database, clock: FakeClock) -> None:
    stages, _, _ = build(db, clock, stages=StageSettings(understanding_purchases=3))
    cid = await add_customer(db, clock, 7, "Gus")
    for _ in range(2):
        await add_purchase(db, cid, clock.now())
    assert (await stages.evaluate(cid)).stage == "engaged"


async def test_a_winback_is_due_at_lapsed_or_now_if_that_is_long_past(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock, stages=GAP)
    recent = await add_customer(db, clock, 8, "Hal")
    await add_purchase(db, recent, clock.now())
    old = await add_customer(db, clock, 9, "Ike")
    await add_purchase(db, old, clock.now() - timedelta(days=260))
    await stages.reevaluate_all()
    found = await rows(db, "SELECT id, at_risk_at, winback_due_at FROM customers ORDER BY id")
    assert [(r["at_risk_at"], r["winback_due_at"]) for r in found] == [
        # at risk 45 days after the purchase; the win-back at lapsed, 90 days after it
        ("2027-01-06T10:00:00+00:00", "2027-02-20T10:00:00+00:00"),
        ("2026-04-21T10:00:00+00:00", "2026-11-22T10:00:00+00:00"),  # lapsed long ago: now
    ]


async def test_setting_the_same_stage_again_writes_no_history(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    jo = await add_customer(db, clock, 10, "Jo")
    first = await stages.set_stage(jo, "alliance", staff_id=9, staff_name="@anna", note="vip")
    clock.advance(hours=1)
    again = await stages.set_stage(jo, "alliance", staff_id=9, staff_name="@anna", note="still")
    assert first.changed and not again.changed and again.manual
    assert await _history(db, jo) == [("alliance", "staff:@anna:vip")]
    found = await rows(db, "SELECT COUNT(*) AS n FROM stage_history WHERE from_stage = to_stage")
    assert found[0]["n"] == 0
    # A rule-driven stage confirmed by staff holds from now on, still without a history row.
    kim = await add_customer(db, clock, 11, "Kim")
    for _ in range(2):
        await add_purchase(db, kim, clock.now())
    assert (await stages.evaluate(kim)).stage == "understanding"
    clock.advance(hours=1)
    await stages.set_stage(kim, "understanding", staff_id=9, staff_name="@anna")
    clock.advance(days=100)  # the rules alone would drop Kim to engaged now
    report = await stages.report(kim)
    assert report.evaluation.stage == "understanding" and report.evaluation.manual
    assert report.rule_stage == "engaged"
    assert [stage for stage, _ in await _history(db, kim)] == ["understanding"]


def test_stored_reasons_read_back_and_free_text_stays_as_it_is() -> None:
    for reason in (
        rule_reason("alliance_rated", count=9, days=365, tenure=400, points=1200, rating="4.8"),
        rule_reason("no_purchase"),
        staff_reason("@anna", "our landlord: pays in cash, always"),
        staff_reason("12345"),
    ):
        assert Reason.parse(reason.stored()) == reason
    for text in ("demo data", "import", "set by staff @anna: x", "rule: 3 purchases in 90 days"):
        old = Reason.parse(text)
        assert (old.key, old.stored(), old.by_rule) == (None, text, False)


def _days(*gaps: float, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> list[datetime]:
    moments = [start]
    for gap in gaps:
        moments.append(moments[-1] + timedelta(days=gap))
    return moments


def test_the_alive_model_judges_a_silence_by_the_customers_own_rhythm() -> None:
    s = StageSettings()
    regular = _days(*[6] * 12)  # every 6 days, like clockwork
    irregular = _days(3, 25, 8, 40, 12, 30, 5, 20, 35, 9, 28, 15)
    now = regular[-1] + timedelta(days=19)
    seen = assess(regular, now, s)
    assert seen is not None and seen.probability < s.at_risk_below
    assert seen.fields()["typical"] in (6, 7) and seen.fields()["days"] == 19  # prior pulls a bit
    later = assess(irregular, irregular[-1] + timedelta(days=19), s)
    assert later is not None and later.probability > s.at_risk_below  # 19 days is usual for them
    assert seen.at_risk_at < now < seen.lapsed_at


def test_the_alive_model_weighs_the_recent_rhythm_and_has_a_prior() -> None:
    s = StageSettings()
    changed = _days(*([30] * 6 + [5] * 6))  # came monthly, now every five days
    # judged nearer the new rhythm than the lifetime median gap (17.5 days)
    assert rhythm(gaps_in_days(changed), s).typical_days < 12
    once = _days()  # one purchase: the prior rhythm, never at risk within the floor
    seen = assess(once, once[0] + timedelta(days=s.at_risk_min_days - 1), s)
    assert seen is not None and round(seen.rhythm.typical_days) == round(s.alive_prior_gap_days)
    assert seen.at_risk_at >= once[0] + timedelta(days=s.at_risk_min_days)
    for days in (1, 10, 30, 100):  # P(alive) only falls with the silence
        a = assess(once, once[0] + timedelta(days=days), s)
        b = assess(once, once[0] + timedelta(days=days + 1), s)
        assert a is not None and b is not None and b.probability <= a.probability


async def test_lengthening_gaps_are_evidence_of_cooling(db: Database, clock: FakeClock) -> None:
    stages, _, _ = build(db, clock)
    steady, cooling = (
        await add_customer(db, clock, 11, "Steady"),
        await add_customer(db, clock, 12),
    )
    start = clock.now()
    for moment in _days(*([3] * 20 + [9, 9, 9]), start=start):  # then the gaps tripled
        await add_purchase(db, cooling, moment)
    for moment in _days(*[3] * 29, start=start):  # every three days to the same last day
        await add_purchase(db, steady, moment)
    clock.advance(days=87 + 4)  # both bought 4 days ago: a little late for the steady one
    seen_steady, seen_cooling = await stages.report(steady), await stages.report(cooling)
    assert seen_steady.probability is not None and seen_cooling.probability is not None
    assert seen_cooling.probability < seen_steady.probability / 2
    assert seen_cooling.at_risk_at is not None and seen_steady.at_risk_at is not None
    assert seen_cooling.at_risk_at <= seen_steady.at_risk_at


def test_cooling_evidence_only_counts_gaps_that_lengthened_within_the_window() -> None:
    s = StageSettings()
    cooled = _days(*([3] * 20 + [9, 9, 9]))
    steady = _days(*([3] * 30))
    assert rhythm(gaps_in_days(cooled), s).cooling > 100 * rhythm(gaps_in_days(steady), s).cooling
    long_ago = _days(*([3] * 20 + [9, 9, 9] + [3] * 30))  # cooled, then back for three months
    assert (
        rhythm(gaps_in_days(long_ago), s).cooling < rhythm(gaps_in_days(cooled), s).cooling / 1000
    )


def test_a_rhythm_seen_few_times_is_less_certain() -> None:
    s = StageSettings(alive_prior_gap_days=6, alive_prior_spread=0.15)  # prior = their rhythm
    few, many = _days(*[6] * 3), _days(*[6] * 40)
    assert rhythm(gaps_in_days(few), s).sigma > rhythm(gaps_in_days(many), s).sigma * 1.05
    a = assess(few, few[-1] + timedelta(days=8), s)
    b = assess(many, many[-1] + timedelta(days=8), s)
    assert a is not None and b is not None and a.probability > b.probability


def test_the_stored_moments_are_where_the_probability_crosses_the_cut_offs() -> None:
    s = StageSettings(at_risk_min_days=1, lapsed_min_days=1)
    for purchases in (_days(*[6] * 12), _days(*([3] * 20 + [9, 9])), _days(5, 40, 12)):
        seen = assess(purchases, purchases[-1], s)
        assert seen is not None
        cuts = ((seen.at_risk_at, at_risk_below(seen.rhythm, s)), (seen.lapsed_at, s.lapsed_below))
        for moment, cut in cuts:
            before = assess(purchases, moment - timedelta(hours=1), s)
            after = assess(purchases, moment + timedelta(minutes=1), s)
            assert before is not None and after is not None and cut > after.probability
            # at the floor when the lengthened gaps already put them below the cut-off
            floor = moment == purchases[-1] + timedelta(days=1)
            assert before.probability >= cut or floor


async def test_an_at_risk_customer_carries_the_models_reason(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    cid = await add_customer(db, clock, 10, "Ora")
    for _ in range(10):
        await add_purchase(db, cid, clock.now())
        clock.advance(days=6)
    clock.advance(days=13)  # 19 days since the last purchase
    report = await stages.report(cid)
    assert report.evaluation.status == "at_risk"
    assert report.recency_reason is not None and report.recency_reason.code == "at_risk_alive"
    fields = report.recency_reason.values()
    assert fields["typical"] in ("6", "7") and fields["days"] == "19"
    for lang in ("en", "zh"):
        assert "19" in t("stage.reason.at_risk_alive", lang, **fields)


async def test_a_one_visit_customer_is_not_said_to_have_a_usual_rhythm(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    cid = await add_customer(db, clock, 11, "Una")
    await add_purchase(db, cid, clock.now())
    clock.advance(days=150)
    report = await stages.report(cid)
    assert report.evaluation.status == "at_risk"
    reason = report.recency_reason
    assert reason is not None and reason.code == "at_risk_alive_first"
    fields = reason.values()
    text = t("stage.reason.at_risk_alive_first", "en", **fields)
    assert text.startswith("one visit so far, 150 days ago") and "usually every" not in text
    assert "150" in t("stage.reason.at_risk_alive_first", "zh", **fields)


def test_the_cut_offs_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="at_risk_below"):
        StageSettings(at_risk_below=0.01, lapsed_below=0.05)
    with pytest.raises(ValueError, match="alive_wide_at_risk_below"):
        StageSettings(alive_wide_at_risk_below=0.01, lapsed_below=0.02)
    with pytest.raises(ValueError, match="alive_wide_spread"):
        StageSettings(alive_wide_spread=0)


async def test_a_customer_whose_gaps_vary_widely_needs_stronger_evidence(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    s = StageSettings()
    gaps = (3, 25, 8, 40, 12, 30, 5, 20, 35, 9, 28, 15)
    cid = await add_customer(db, clock, 21, "Wide")
    start = clock.now()
    moments = _days(*gaps, start=start)
    for moment in moments:
        await add_purchase(db, cid, moment)
    seen = assess(moments, moments[-1], s)
    assert seen is not None and seen.rhythm.sigma >= s.alive_wide_spread
    # the silence where their P(alive) falls below the usual cut-off: not yet at risk for them
    usual = StageSettings(alive_wide_spread=10.0)  # everyone judged by at_risk_below
    early = assess(moments, moments[-1], usual)
    assert early is not None and early.at_risk_at < seen.at_risk_at
    clock.advance(seconds=(early.at_risk_at - clock.now()).total_seconds() + 86400)
    report = await stages.report(cid)
    assert report.probability is not None and report.probability < s.at_risk_below
    assert report.evaluation.status == "active"
    clock.advance(seconds=(seen.at_risk_at - clock.now()).total_seconds() + 60)
    report = await stages.report(cid)
    assert report.probability is not None and report.probability < s.alive_wide_at_risk_below
    assert report.evaluation.status == "at_risk"
    assert report.recency_reason is not None and report.recency_reason.code == "at_risk_alive"


async def test_the_stage_report_says_why_a_customer_is_at_risk(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    cid = await add_customer(db, clock, 11, "Pia")
    for _ in range(10):
        await add_purchase(db, cid, clock.now())
        clock.advance(days=6)
    clock.advance(days=13)
    report = await stages.report(cid)
    text = report_text("Pia", report, "zh")
    assert "有流失风险的原因" in text and "已 19 天未来" in text


async def test_a_stage_drops_only_after_the_drop_has_held_for_a_while(
    db: Database, clock: FakeClock
) -> None:
    stages, _, _ = build(db, clock)
    nia = await add_customer(db, clock, 73, "Nia")
    now = clock.now()
    for days in (85, 80):  # understanding: 2 purchases in 90 days, until 5 days from now
        await add_purchase(db, nia, now - timedelta(days=days))
    assert (await stages.evaluate(nia)).stage == "understanding"
    clock.advance(days=6)  # the first purchase left the window a day ago
    held = await stages.evaluate(nia)
    assert held.stage == "understanding" and not held.changed
    assert held.reason == rule_reason("holding", stage="engaged")
    assert "the rules say engaged" in t("stage.reason.holding", "en", stage="engaged")
    clock.advance(days=13)
    assert (await stages.evaluate(nia)).stage == "understanding"  # 13 days: not yet
    clock.advance(days=1)
    dropped = await stages.evaluate(nia)
    assert dropped.stage == "engaged" and dropped.changed
    assert [stage for stage, _ in await _history(db, nia)] == ["understanding", "engaged"]
