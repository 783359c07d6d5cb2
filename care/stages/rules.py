"""Stage rules: the stage and recency the facts give, and the outreach moments (no database).

The rules, with thresholds from `[stages]` (defaults in `care.settings.StageSettings`):

* aware: knows us (started the bot or was imported), no purchase and no return visit.
* engaged: at least one purchase, or came back to the bot on another day within
  `interaction_window_days`.
* understanding: `understanding_purchases` purchases within `understanding_window_days`.
* trust: `trust_purchases` within `trust_window_days`, and ratings (if any, last
  `rating_window_days`) averaging at least `trust_min_rating`.
* alliance: `alliance_purchases` within `alliance_window_days`, `alliance_tenure_days` since the
  first contact, `alliance_lifetime_points` earned in all, ratings averaging `alliance_min_rating`.

Windows make stages fall as well as rise: a customer who stopped buying drops back as purchases
leave the windows (`StageService` lets an earned stage drop one step per evaluation). An
open complaint blocks promotion (the stage stays where it is) but never
demotes by itself.

Recency (`recency_model = "alive"`, the default): the probability that the customer still comes
back, from their own rhythm (`care.stages.alive`, which documents the model); at risk below
`at_risk_below`, lapsed below `lapsed_below` (never sooner than `at_risk_min_days` /
`lapsed_min_days` after the last purchase). With `recency_model = "gap"`, the older rule: at
risk when no purchase for longer than `at_risk_gap_factor` × the median gap between the
customer's own purchases (never under `at_risk_min_days`; `at_risk_default_days` when they
have fewer than `gap_min_purchases` purchases); lapsed past `lapsed_factor` × that span (never
under `lapsed_min_days`). Every at-risk or lapsed status carries its reason. The moments are
stored so outreach can select due customers by index.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from care.clock import iso, parse_iso
from care.settings import STAGES, OutreachSettings, StageSettings
from care.stages.alive import assess
from care.stages.reasons import Reason, rule_reason
from storage.stages import FactsRow

RECENCY = ("active", "at_risk", "lapsed")


def rank(stage: str) -> int:
    """The stage's position, aware = 0."""
    return STAGES.index(stage)


@dataclass(frozen=True, slots=True)
class Recency:
    """When a customer becomes at risk and lapsed (None without purchases), the probability
    that they still come back (None under the gap rule) and the reason's fields."""

    at_risk_at: datetime | None
    lapsed_at: datetime | None
    probability: float | None = None
    fields: tuple[tuple[str, str], ...] = ()

    def reason(self, now: datetime) -> Reason | None:
        """Why the customer is at risk or lapsed at `now` (None when active)."""
        return None if self.status(now) == "active" else self.explain(now)

    def explain(self, now: datetime) -> Reason:
        """Why the customer is active, at risk or lapsed at `now` (no purchase yet: says so)."""
        if self.at_risk_at is None:
            return rule_reason("no_purchase")
        code = "alive" if self.probability is not None else "gap"
        if code == "alive" and dict(self.fields).get("gaps") == "0":
            code = "alive_first"  # "usually every 14 days" would be the shop's, not theirs
        return Reason(f"{self.status(now)}_{code}", self.fields)

    def status(self, now: datetime) -> str:
        """active, at_risk or lapsed at `now`."""
        if self.lapsed_at is not None and now >= self.lapsed_at:
            return "lapsed"
        if self.at_risk_at is not None and now >= self.at_risk_at:
            return "at_risk"
        return "active"


def count_since(stamps: tuple[str, ...], since: datetime) -> int:
    """How many of the ISO timestamps `stamps` fall at or after `since`."""
    cutoff = iso(since)
    return sum(1 for stamp in stamps if stamp >= cutoff)


def _ratings_ok(facts: FactsRow, minimum: float, since: datetime) -> tuple[bool, dict[str, str]]:
    """Whether the recent ratings (if any) reach `minimum`, and the average as a reason field."""
    cutoff = iso(since)
    values = [r.value for r in facts.ratings if r.at >= cutoff]
    if not values:
        return True, {}
    average = sum(values) / len(values)
    return average >= minimum, {"rating": f"{average:.1f}"}


def rule_stage(facts: FactsRow, s: StageSettings, now: datetime) -> tuple[str, Reason]:
    """The stage the rules give, and why (e.g. `purchases_in_window` with count 3, days 90)."""
    days = timedelta(days=1)
    p = facts.purchases
    rating_since = now - s.rating_window_days * days
    tenure = (now - parse_iso(facts.created_at)).days
    n = count_since(p, now - s.alliance_window_days * days)
    ok, rated = _ratings_ok(facts, s.alliance_min_rating, rating_since)
    if (
        n >= s.alliance_purchases
        and ok
        and tenure >= s.alliance_tenure_days
        and facts.lifetime_points >= s.alliance_lifetime_points
    ):
        return "alliance", rule_reason(
            "alliance_rated" if rated else "alliance",
            count=n,
            days=s.alliance_window_days,
            tenure=tenure,
            points=facts.lifetime_points,
            **rated,
        )
    n = count_since(p, now - s.trust_window_days * days)
    ok, rated = _ratings_ok(facts, s.trust_min_rating, rating_since)
    if n >= s.trust_purchases and ok:
        code = "purchases_in_window_rated" if rated else "purchases_in_window"
        return "trust", rule_reason(code, count=n, days=s.trust_window_days, **rated)
    n = count_since(p, now - s.understanding_window_days * days)
    if n >= s.understanding_purchases:
        return "understanding", rule_reason(
            "purchases_in_window", count=n, days=s.understanding_window_days
        )
    if p:
        return "engaged", rule_reason("purchases", count=len(p), last=p[-1][:10])
    seen = facts.last_seen_at
    if (
        seen is not None
        and seen[:10] != facts.created_at[:10]
        and parse_iso(seen) >= now - s.interaction_window_days * days
    ):
        return "engaged", rule_reason("came_back", date=seen[:10])
    return "aware", rule_reason("no_purchase")


def recency(facts: FactsRow, s: StageSettings, now: datetime) -> Recency:
    """When the customer becomes at risk and lapsed, from their own purchase rhythm."""
    if not facts.purchases:
        return Recency(None, None)
    moments = [parse_iso(stamp) for stamp in facts.purchases]
    if s.recency_model == "alive":
        seen = assess(moments, now, s)
        assert seen is not None  # there are purchases
        pairs = tuple((k, str(v)) for k, v in seen.fields().items())
        return Recency(seen.at_risk_at, seen.lapsed_at, seen.probability, pairs)
    if len(moments) >= s.gap_min_purchases:
        gaps = [
            (b - a).total_seconds() / 86400 for a, b in zip(moments, moments[1:], strict=False)
        ]
        at_risk_days = max(
            float(s.at_risk_min_days), s.at_risk_gap_factor * statistics.median(gaps)
        )
    else:
        at_risk_days = float(s.at_risk_default_days)
    lapsed_days = max(float(s.lapsed_min_days), s.lapsed_factor * at_risk_days)
    last = moments[-1]
    silent = max(0, (now - last).days)
    fields = (("limit", str(round(at_risk_days))), ("days", str(silent)))
    return Recency(
        last + timedelta(days=at_risk_days), last + timedelta(days=lapsed_days), None, fields
    )


def next_checkin(facts: FactsRow, stage: str, o: OutreachSettings) -> datetime | None:
    """When the next check-in is due: a few days after the first purchase, then by cadence.

    Without a previous check-in: `checkin_first_after_days` after the first purchase (or after the
    latest one if that moment is long past, e.g. when outreach is switched on for old customers).
    After a check-in: only once the customer has bought again, `checkin_cadence_days[stage]` after
    the previous check-in and no sooner than `checkin_first_after_days` after that purchase.
    """
    if not facts.purchases:
        return None
    after = timedelta(days=o.checkin_first_after_days)
    first, last = parse_iso(facts.purchases[0]), parse_iso(facts.purchases[-1])
    if facts.last_checkin_due is None:
        due = first + after
        if due + timedelta(hours=o.grace("checkin")) < last:
            due = last + after
        return due
    previous = parse_iso(facts.last_checkin_due)
    cadence = o.checkin_cadence_days.get(stage, 0)
    if last <= previous or cadence <= 0:
        return None
    return max(previous + timedelta(days=cadence), last + after)


def next_winback(lapsed_at: datetime | None, now: datetime) -> datetime | None:
    """When the win-back of a lapse episode that has no outbox row yet is due.

    At the lapsed moment (one win-back per lapse episode, never at the at-risk warning), or now
    if that moment has passed (the episode began long ago, e.g.
    when outreach is switched on for old customers or after a long downtime): a win-back that
    was never planned is still owed once, never born 'missed' because the lapse is old.
    """
    if lapsed_at is None:
        return None
    return max(lapsed_at, now)


def winback_occasion(last_purchase_at: str) -> str:
    """The outbox occasion of the lapse episode that began after this purchase."""
    return f"winback:{last_purchase_at[:10]}"


def known_at(facts: FactsRow, at: datetime) -> FactsRow:
    """The facts as they stood at `at`: later purchases and ratings left out."""
    stamp = iso(at)
    return replace(
        facts,
        purchases=tuple(p for p in facts.purchases if p <= stamp),
        ratings=tuple(r for r in facts.ratings if r.at <= stamp),
    )


def drop_has_held(facts: FactsRow, s: StageSettings, now: datetime) -> bool:
    """Whether the rules, on the facts of each day, have put the customer below their current
    stage for the last `demote_after_days` days (checked day by day; without a purchase or a
    rating in that time only time moved, which lowers a stage only, so the ends suffice)."""
    since = iso(now - timedelta(days=s.demote_after_days))
    quiet = (not facts.purchases or facts.purchases[-1] <= since) and all(
        r.at <= since for r in facts.ratings
    )
    days = (0, s.demote_after_days) if quiet else range(s.demote_after_days + 1)
    for back in days:
        then = now - timedelta(days=back)
        stage, _ = rule_stage(known_at(facts, then), s, then)
        if rank(stage) >= rank(facts.stage):
            return False
    return True


def has_new_fact(facts: FactsRow) -> bool:
    """Whether a purchase, complaint or rating arrived after the stage was last set."""
    newest = max(
        (facts.purchases[-1] if facts.purchases else "", facts.last_ticket_at or ""),
    )
    return newest > facts.stage_since
