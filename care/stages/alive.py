"""Probability that a customer still comes back, from their own purchase rhythm (pure code).

The model (chosen on `bench/churn_bench.py`, see the README): a customer's gaps between
purchases are log-normal with their own centre and spread, estimated from their gaps with the
recent ones weighted more (a weight halving every `alive_half_life_gaps` gaps back) and shrunk
towards a prior (`alive_prior_gap_days`, `alive_prior_spread`, worth `alive_prior_weight` gaps),
so a customer with one or two purchases is judged by the shop's usual rhythm and a regular by
their own. After each purchase a customer leaves for good with chance 1 − `alive_prior`
(the BG/NBD dropout idea); a customer who stayed comes back after a gap drawn from their
distribution. So after a silence of t days:

    P(alive | t) = q·S(t) / (q·S(t) + 1 − q),   S(t) = P(a gap this customer makes exceeds t)

with q = `alive_prior`. Below `at_risk_below` the customer is at risk, below `lapsed_below`
lapsed; both moments are solved in closed form, so they are stored and selected by index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

from care.settings import StageSettings

_NORMAL = NormalDist()
_MIN_GAP_DAYS = 0.25  # two purchases on one visit are one visit
_MIN_SPREAD = 0.15  # even a clockwork regular is not exactly punctual
_MAX_DAYS = 3650.0


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A customer's gap distribution: log-normal with median `typical_days` and `spread`."""

    mu: float
    sigma: float
    gaps: int

    @property
    def typical_days(self) -> float:
        """The median gap in days."""
        return math.exp(self.mu)

    def survival(self, days: float) -> float:
        """The chance that a gap this customer makes lasts longer than `days`."""
        if days <= 0:
            return 1.0
        return 1.0 - _NORMAL.cdf((math.log(days) - self.mu) / self.sigma)

    def days_for_survival(self, chance: float) -> float:
        """The silence in days after which only `chance` of this customer's gaps still run."""
        if chance >= 1.0:
            return 0.0
        if chance <= 0.0:
            return _MAX_DAYS
        return min(_MAX_DAYS, math.exp(self.mu + self.sigma * _NORMAL.inv_cdf(1.0 - chance)))


def gaps_in_days(purchases: list[datetime]) -> list[float]:
    """The gaps between consecutive purchases (oldest first), in days; same-visit ones merged."""
    gaps = []
    for a, b in zip(purchases, purchases[1:], strict=False):
        days = (b - a).total_seconds() / 86400
        if days >= _MIN_GAP_DAYS:
            gaps.append(days)
    return gaps


def rhythm(gaps: list[float], s: StageSettings) -> Rhythm:
    """The customer's rhythm from their gaps (oldest first), recent ones weighted more."""
    k0 = s.alive_prior_weight
    mu0, var0 = math.log(s.alive_prior_gap_days), s.alive_prior_spread**2
    weights = [0.5 ** ((len(gaps) - 1 - i) / s.alive_half_life_gaps) for i in range(len(gaps))]
    logs = [math.log(g) for g in gaps]
    total = k0 + sum(weights)
    mu = (k0 * mu0 + sum(w * x for w, x in zip(weights, logs, strict=True))) / total
    var = (k0 * var0 + sum(w * (x - mu) ** 2 for w, x in zip(weights, logs, strict=True))) / total
    return Rhythm(mu, max(_MIN_SPREAD, math.sqrt(var)), len(gaps))


def p_alive(r: Rhythm, silent_days: float, prior: float) -> float:
    """The probability that a customer silent for `silent_days` still comes back."""
    kept = prior * r.survival(silent_days)
    return kept / (kept + 1.0 - prior)


def silence_for(r: Rhythm, below: float, prior: float) -> float:
    """The silence in days after which P(alive) falls to `below` (closed form of `p_alive`)."""
    if below >= prior:
        return 0.0
    chance = below * (1.0 - prior) / (prior * (1.0 - below))
    return r.days_for_survival(chance)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The model's view of one customer at one moment (None fields without purchases)."""

    probability: float
    rhythm: Rhythm
    silent_days: float
    at_risk_at: datetime
    lapsed_at: datetime

    def fields(self) -> dict[str, object]:
        """The reason's fields: usual gap, silence, chance a regular goes this long, P(alive)."""
        return {
            "typical": max(1, round(self.rhythm.typical_days)),
            "days": int(self.silent_days),
            "chance": _percent(self.rhythm.survival(self.silent_days)),
            "alive": _percent(self.probability),
        }


def _percent(value: float) -> str:
    """A percentage for people: whole numbers, '<1' rather than a misleading 0."""
    pct = 100 * value
    return "<1" if 0 < pct < 1 else str(round(pct))


def assess(purchases: list[datetime], now: datetime, s: StageSettings) -> Assessment | None:
    """P(alive) now and the at-risk and lapsed moments for a customer with these purchases."""
    if not purchases:
        return None
    r = rhythm(gaps_in_days(purchases), s)
    last = purchases[-1]
    silent = max(0.0, (now - last).total_seconds() / 86400)
    at_risk = max(float(s.at_risk_min_days), silence_for(r, s.at_risk_below, s.alive_prior))
    lapsed = max(at_risk, float(s.lapsed_min_days), silence_for(r, s.lapsed_below, s.alive_prior))
    return Assessment(
        probability=p_alive(r, silent, s.alive_prior),
        rhythm=r,
        silent_days=silent,
        at_risk_at=last + timedelta(days=at_risk),
        lapsed_at=last + timedelta(days=lapsed),
    )
