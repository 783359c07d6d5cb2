"""What the owner's report measures: the results (dataclasses) and the arithmetic on them."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from care.clock import iso
from storage.reports import CustomerValue, RfmCell

# The RFM grid: days since the last purchase (upper bounds, then "more"), purchases in the
# window (lower bounds).
RFM_RECENCY_DAYS = (30, 90, 180)
RFM_FREQUENCY = (1, 2, 4, 8)
RFM_WINDOW_DAYS = 365
TREND_WEEKS = 8
TOP = 10


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open period [start, end) in UTC, and the one of the same length before it."""

    start: datetime
    end: datetime

    @property
    def previous(self) -> Period:
        """The period of the same length that ends where this one starts."""
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def bounds(self) -> tuple[str, str]:
        """Start and end as stored timestamps."""
        return iso(self.start), iso(self.end)


@dataclass(frozen=True, slots=True)
class Moves:
    """Stage changes in the period: up, down, lapsed (the model's moment passed), came back."""

    up: int
    down: int
    lapsed: int
    came_back: int


@dataclass(frozen=True, slots=True)
class Times:
    """Response or resolution times in counted hours, and the share within the SLA target."""

    count: int
    median_hours: float | None
    p90_hours: float | None
    within_target: float | None  # share of tickets with a target that met it


@dataclass(frozen=True, slots=True)
class Csat:
    """Satisfaction scores given on tickets resolved in the period."""

    average: float | None
    count: int
    distribution: dict[int, int]
    low_share: float | None  # share of 1s and 2s
    by_kind: dict[str, float]
    weekly: list[tuple[str, float | None, int]]  # (week start date, average, count), oldest first


@dataclass(frozen=True, slots=True)
class Service:
    """Tickets opened and resolved in the period, their times, and those overdue now."""

    opened: int
    resolved: int
    overdue: int
    first_response: Times
    resolution: Times


@dataclass(frozen=True, slots=True)
class Faq:
    """FAQ questions by outcome, votes, and the top questions nobody answered yet."""

    questions: int
    answered: int
    suggested: int
    fallback: int
    helpful: int
    unhelpful: int
    top_unanswered: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class Points:
    """Points issued (earn, bonus), redeemed, expired, adjusted in the period; owed at its end."""

    issued: int
    redeemed: int
    expired: int
    adjusted: int
    outstanding: int


@dataclass(frozen=True, slots=True)
class Outreach:
    """Outreach occasions due in the period: sent, failed by reason, replies, won back."""

    sent: int
    failed: dict[str, int]
    replies: int
    won_back: int


@dataclass(frozen=True, slots=True)
class Totals:
    """The headline numbers of one period, compared between a period and the one before."""

    customers: int
    new_customers: int
    purchases: int
    spend_cents: int
    buyers: int
    at_risk: int
    lapsed: int
    csat_average: float | None
    tickets_opened: int
    faq_questions: int
    points_issued: int
    points_redeemed: int


@dataclass(frozen=True, slots=True)
class Mover:
    """One headline number that moved: its name (a catalogue key's tail), now and before."""

    name: str
    now: float
    before: float


@dataclass(frozen=True, slots=True)
class Report:
    """Every measure of one period, with the previous period's headline numbers."""

    period: Period
    customers_by_stage: dict[str, int]
    previous_by_stage: dict[str, int]
    moves: Moves
    recency: dict[str, int]
    at_risk_value_cents: int
    at_risk_top: list[CustomerValue]
    value_by_stage: dict[str, tuple[int, int, int]]  # stage → (buyers, spend cents, visits)
    top_customers: list[CustomerValue]
    rfm: list[RfmCell]
    csat: Csat
    tickets: Service
    faq: Faq
    points: Points
    members_by_tier: dict[str, int]
    outreach: Outreach
    totals: Totals
    previous: Totals
    movers: list[Mover] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """A shop with no customers yet: every chart says 'no data yet'."""
        return self.totals.customers == 0

    def as_json(self) -> dict[str, Any]:
        """The measures as one JSON-ready object (`carebot report --json`)."""
        data = asdict(self)
        data["period"] = {"start": iso(self.period.start), "end": iso(self.period.end)}
        data["previous_period"] = dict(
            zip(("start", "end"), self.period.previous.bounds, strict=True)
        )
        data["csat"]["distribution"] = {str(k): v for k, v in self.csat.distribution.items()}
        data["value_by_stage"] = {
            stage: {"buyers": b, "spend_cents": s, "visits": v}
            for stage, (b, s, v) in self.value_by_stage.items()
        }
        data["csat"]["weekly"] = [
            {"week": w, "average": a, "count": n} for w, a, n in self.csat.weekly
        ]
        data["faq"]["top_unanswered"] = [
            {"question": q, "count": n} for q, n in self.faq.top_unanswered
        ]
        data["empty"] = self.empty
        return data


def median_p90(values: list[float]) -> tuple[float | None, float | None]:
    """The median and the 90th percentile (nearest rank) of `values`; None for none."""
    if not values:
        return None, None
    ordered = sorted(values)
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return statistics.median(ordered), ordered[rank - 1]


def share(part: int, whole: int) -> float | None:
    """part / whole, None when there is nothing to divide."""
    return part / whole if whole else None


def week_starts(end: datetime, weeks: int) -> list[datetime]:
    """The starts of the `weeks` seven-day windows that end at `end`, oldest first."""
    return [end - timedelta(days=7 * (weeks - i)) for i in range(weeks)]


def movers(now: Totals, before: Totals, count: int = 3) -> list[Mover]:
    """The headline numbers that changed most, relative to what they were (largest first)."""
    candidates = []
    for name in (
        "new_customers",
        "purchases",
        "spend_cents",
        "buyers",
        "at_risk",
        "lapsed",
        "csat_average",
        "tickets_opened",
        "faq_questions",
        "points_issued",
        "points_redeemed",
    ):
        a, b = getattr(now, name), getattr(before, name)
        if a is None or b is None or a == b:
            continue
        candidates.append((abs(a - b) / max(abs(b), 1.0), name, float(a), float(b)))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    return [Mover(name, a, b) for _, name, a, b in candidates[:count]]
