"""Probability that a customer still comes back, from their own purchase rhythm (pure code).

The model (chosen on `bench/churn_bench.py`, see the README): a customer's gaps between
purchases are log-normal with their own centre and spread, estimated from their gaps with the
recent ones weighted more (a weight halving every `alive_half_life_gaps` gaps back) and shrunk
towards a prior (`alive_prior_gap_days`, `alive_prior_spread`, worth `alive_prior_weight` gaps),
so a customer with one or two purchases is judged by the shop's usual rhythm and a regular by
their own. The spread used is the predictive one, widened by √(1 + n/(n + k)²) for n gaps' worth
of the customer's own evidence and a prior worth k: a rhythm seen a few times is less certain
than one seen fifty times, and the prior alone is the shop's spread as it is.

Two ways to be drifting away are weighed against "still on their rhythm":

* after each purchase a customer leaves for good with chance 1 − `alive_prior` (the BG/NBD
  dropout idea);
* a customer starts to cool with chance `alive_cooling_per_month` a month, after which their
  gaps run `alive_cooling_factor` times longer. The gaps of the last `alive_cooling_window_days`
  are the evidence: each weighs in by how much likelier it is under the slower rhythm, so a
  regular whose last gaps lengthened stays suspect after a purchase (cooling, not back).

After a silence of t days, with S(t) the chance one of their gaps runs longer than t and S_c(t)
the same for the slower rhythm:

    P(alive | t) = q·S(t) / (q·S(t) + 1 − q + q·C·S_c(t))

with q = `alive_prior` and C the odds of cooling from the recent gaps (0 without any). Below
`at_risk_below` the customer is at risk (below `alive_wide_at_risk_below` if their predictive
spread is at least `alive_wide_spread`: for a customer whose gaps vary widely a long silence is
common, and on the bench their P(alive) proved a weaker warning), below `lapsed_below` lapsed;
P only falls with the silence, so both moments are found by bisection, stored, and selected by
index.
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
_MIN_DAYS = 0.01
_MAX_LOG_ODDS = 50.0  # beyond this a gap is decisive; keeps exp() finite
_STEPS = 40  # bisection on log days: 3650 / 0.01 over 2^40, far below a second


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A customer's gap distribution: log-normal with median `typical_days` and `spread`
    (the predictive one), from `gaps` gaps; `cooling` the odds that they have started to cool."""

    mu: float
    sigma: float
    gaps: int
    cooling: float = 0.0
    slower: float = 0.0  # log of the cooling factor

    @property
    def typical_days(self) -> float:
        """The median gap in days."""
        return math.exp(self.mu)

    def survival(self, days: float, shift: float = 0.0) -> float:
        """The chance that one of their gaps (slowed by e^`shift`) outlasts `days`."""
        if days <= 0:
            return 1.0
        return 1.0 - _NORMAL.cdf((math.log(days) - self.mu - shift) / self.sigma)


def gaps_in_days(purchases: list[datetime]) -> list[float]:
    """The gaps between consecutive purchases (oldest first), in days; same-visit ones merged."""
    gaps = []
    for a, b in zip(purchases, purchases[1:], strict=False):
        days = (b - a).total_seconds() / 86400
        if days >= _MIN_GAP_DAYS:
            gaps.append(days)
    return gaps


def rhythm(gaps: list[float], s: StageSettings) -> Rhythm:
    """The customer's rhythm from their gaps (oldest first), recent ones weighted more, and the
    odds that the gaps of the `alive_cooling_window_days` before the last purchase show them
    cooling (anchored there, so the moments depend on the purchases alone)."""
    k0 = s.alive_prior_weight
    mu0, var0 = math.log(s.alive_prior_gap_days), s.alive_prior_spread**2
    weights = [0.5 ** ((len(gaps) - 1 - i) / s.alive_half_life_gaps) for i in range(len(gaps))]
    logs = [math.log(g) for g in gaps]
    total = k0 + sum(weights)
    mu = (k0 * mu0 + sum(w * x for w, x in zip(weights, logs, strict=True))) / total
    var = (k0 * var0 + sum(w * (x - mu) ** 2 for w, x in zip(weights, logs, strict=True))) / total
    # Predictive spread: the centre is uncertain by the customer's own evidence (the prior is
    # already the shop's spread, so a one-purchase customer is judged by it unwidened).
    own = total - k0
    sigma = max(_MIN_SPREAD, math.sqrt(var)) * math.sqrt(1.0 + own / total**2)
    slower = math.log(s.alive_cooling_factor)
    per_day = s.alive_cooling_per_month / 30.0
    cooling, log_ratio, end = 0.0, 0.0, 0.0
    for x in reversed(logs):
        if end >= s.alive_cooling_window_days:
            break
        # Cooling began before this gap: it and every later one ran at the slower rhythm.
        log_ratio += slower * (2 * (x - mu) - slower) / (2 * sigma * sigma)
        start = min(end + math.exp(x), s.alive_cooling_window_days)
        cooling += per_day * (start - end) * math.exp(min(_MAX_LOG_ODDS, log_ratio))
        end = start
    return Rhythm(mu, sigma, len(gaps), cooling, slower)


def p_alive(r: Rhythm, silent_days: float, prior: float) -> float:
    """The probability that a customer silent for `silent_days` still comes back."""
    kept = prior * r.survival(silent_days)
    drifting = 1.0 - prior + prior * r.cooling * r.survival(silent_days, r.slower)
    return kept / (kept + drifting)


def silence_for(r: Rhythm, below: float, prior: float) -> float:
    """The silence in days after which P(alive) falls below `below` (P only falls with it)."""
    if p_alive(r, _MIN_DAYS, prior) < below:
        return 0.0
    if p_alive(r, _MAX_DAYS, prior) >= below:
        return _MAX_DAYS
    lo, hi = math.log(_MIN_DAYS), math.log(_MAX_DAYS)
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        if p_alive(r, math.exp(mid), prior) < below:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


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
            "gaps": self.rhythm.gaps,  # 0: one purchase so far, judged by the shop's rhythm
        }


def _percent(value: float) -> str:
    """A percentage for people: whole numbers, '<1' rather than a misleading 0."""
    pct = 100 * value
    return "<1" if 0 < pct < 1 else str(round(pct))


def at_risk_below(r: Rhythm, s: StageSettings) -> float:
    """The at-risk cut-off for this rhythm: stricter for a customer whose gaps vary widely."""
    return s.alive_wide_at_risk_below if r.sigma >= s.alive_wide_spread else s.at_risk_below


def assess(purchases: list[datetime], now: datetime, s: StageSettings) -> Assessment | None:
    """P(alive) now and the at-risk and lapsed moments for a customer with these purchases."""
    if not purchases:
        return None
    r = rhythm(gaps_in_days(purchases), s)
    last = purchases[-1]
    silent = max(0.0, (now - last).total_seconds() / 86400)
    at_risk = max(float(s.at_risk_min_days), silence_for(r, at_risk_below(r, s), s.alive_prior))
    lapsed = max(at_risk, float(s.lapsed_min_days), silence_for(r, s.lapsed_below, s.alive_prior))
    return Assessment(
        probability=p_alive(r, silent, s.alive_prior),
        rhythm=r,
        silent_days=silent,
        at_risk_at=last + timedelta(days=at_risk),
        lapsed_at=last + timedelta(days=lapsed),
    )
