"""Churn bench: a simulated café with a hidden truth, fed to carebot and read back by its commands.

    .venv/bin/python bench/churn_bench.py [--customers 2000] [--seed 2] [--tune-seed 1] [--oracle]

Simulation (seeded; the assumptions, also in the README): customers join over the first six
months of an 18-month run; 55% are regulars (median gap 2–14 days, tight spread), the rest
irregular (median gap 10–60 days, wide spread). Hidden states: active → cooling (gaps 3× longer,
for 2–10 weeks) → gone, or back to active (30% of cooling episodes recover); 30% of leavers stop
at once (active → gone). Each month an active customer starts to leave with chance 3%, raised
to 9% in the month after a complaint (2% of visits bring one). 15% of customers change their
rhythm for good once (gaps ×0.5–×2) without leaving.

The pipe, as an operator would run it: the customers go in once by `customers import`, then
each simulated week's purchases by `carebot purchases import` (a CSV file per week, the
command's own function in-process with the clock at the end of that week), and every customer's
status is read back by `carebot customers status --at <end of week>` (its function
in-process). carebot's flags, its win-backs (`winback_due_at` come) and the last purchase the
recency baselines use all come from that read-back; the RFM frequency is counted from the
purchases the bench imported.

Rules compared, week by week:
  gap-2x   carebot's older rule (`recency_model = "gap"`: 2 × median gap, floors 14 / 90 days),
           read back through `customers status` like the model;
  30d/60d  "no purchase in 30 / 60 days" (on `last_purchase_at` as carebot reports it);
  rfm-r1   RFM quintiles over the customers with purchases: R = 1;
  rfm-r2f3 R ≤ 2 and F ≥ 3 (purchases in the last 365 days);
  carebot  `recency` of `customers status` (the probability-alive model), its cut-offs chosen on
           the tune seed among a few and reported on another seed;
  oracle c (`--oracle`) the ceiling, not a rule anyone can run: P(still active) from each
           customer's true rhythm and the simulation's own leaving process, flagged below c.
Metrics: a flag is a customer going from not-flagged to flagged; it is right if the customer is
cooling or gone then or within four weeks. Recall: the share of leave episodes (start of cooling
or an abrupt stop) flagged from four weeks before to four weeks after they start. False alarms
per 100 customers a month. Leavers warned: customers who end gone and were flagged before the
day they were gone. Win-backs: one per lapse episode — for carebot when `winback_due_at` has
come (lapsed, as carebot sends them), for the baselines at the flag; the share that went to
customers who were active and stayed active for four more weeks.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import csv
import io
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import customers_cli, purchases_cli, status_cli
from bot.config import Settings, StorageSettings
from bot.outreach_cli import OffsetClock
from care.clock import iso
from care.customers import MEMBER_CODE_ALPHABET

DAYS = 546
WEEK = 7
START = datetime(2025, 6, 1, tzinfo=UTC)
HORIZON = 28  # a flag is right if the customer cools or leaves within four weeks
CANDIDATES = ((0.4, 0.02), (0.45, 0.02), (0.5, 0.02))  # at_risk_below, lapsed_below


@dataclass
class Customer:
    """One simulated customer: purchases (day numbers) and the hidden state for every day."""

    cid: int
    joined: int
    purchases: list[float] = field(default_factory=list)
    state: list[str] = field(default_factory=list)  # per day: active | cooling | gone
    onsets: list[int] = field(default_factory=list)  # days a leave episode began
    gone_at: int | None = None
    median: float = 0.0  # the rhythm they joined with (hidden; the oracle's knowledge)
    spread: float = 0.0


def simulate(n: int, seed: int) -> list[Customer]:
    """The seeded population (see the module docstring for the assumptions)."""
    rng = random.Random(seed)
    people = []
    for cid in range(n):
        regular = rng.random() < 0.55
        median = rng.uniform(2, 14) if regular else rng.uniform(10, 60)
        spread = rng.uniform(0.2, 0.45) if regular else rng.uniform(0.6, 1.0)
        c = Customer(cid, rng.randrange(0, 180), median=median, spread=spread)
        change_at = rng.randrange(c.joined, DAYS) if rng.random() < 0.15 else None
        state, cooling_until, complaint_until = "active", 0, -1
        next_buy = c.joined + rng.random()
        for day in range(DAYS):
            if day < c.joined:
                c.state.append("active")
                continue
            if day == change_at:
                median *= rng.uniform(0.5, 2.0)
            daily_leave = (0.09 if day <= complaint_until else 0.03) / 30
            if state == "active" and rng.random() < daily_leave:
                c.onsets.append(day)
                if rng.random() < 0.3:
                    state = "gone"
                else:
                    state, cooling_until = "cooling", day + rng.randrange(14, 71)
                    next_buy = max(
                        next_buy, day + rng.lognormvariate(math.log(median * 3), spread)
                    )
            elif state == "cooling" and day >= cooling_until:
                state = "active" if rng.random() < 0.3 else "gone"
            if state == "gone" and c.gone_at is None:
                c.gone_at = day
            c.state.append(state)
            while state != "gone" and next_buy < day + 1:
                c.purchases.append(next_buy)
                if rng.random() < 0.02:
                    complaint_until = day + 30
                factor = 3.0 if state == "cooling" else 1.0
                next_buy += max(0.3, rng.lognormvariate(math.log(median * factor), spread))
        people.append(c)
    return people


def moment(day: float) -> datetime:
    """A simulated day as a moment."""
    return START + timedelta(days=day)


def member_code(cid: int) -> str:
    """A member code for simulated customer `cid` (the shop's alphabet, six characters)."""
    n, out = cid, []
    for _ in range(5):
        n, digit = divmod(n, len(MEMBER_CODE_ALPHABET))
        out.append(MEMBER_CODE_ALPHABET[digit])
    return "S" + "".join(reversed(out))


def quintile(values: list[float], value: float) -> int:
    """1..5: the quintile of `value` among `values` (sorted ascending)."""
    below = bisect.bisect_left(values, value)
    return min(5, 1 + 5 * below // max(1, len(values)))


@dataclass
class Seen:
    """What the commands gave back: per rule, per customer, the weekly status; win-backs."""

    weeks: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    winbacks: dict[str, dict[int, list[int]]] = field(default_factory=dict)  # days sent


async def run_pipeline(
    people: list[Customer], settings: Settings, variants: dict[str, Settings], work: Path
) -> Seen:
    """Feed the population week by week through the commands; read every status back."""
    rng = random.Random(7)
    codes = {member_code(c.cid): c for c in people}
    customers_csv = work / "customers.csv"
    customers_csv.write_text(
        "member_code,name,phone\n"
        + "".join(f"{code},{code},+4474{c.cid:08d}\n" for code, c in codes.items()),
        "utf-8",
    )
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        created = await customers_cli.import_file(settings, customers_csv, dry_run=False)
    assert created == 0, "customers import failed"
    seen = Seen()
    rules = ["30d", "60d", "rfm-r1", "rfm-r2f3", *variants]
    for rule in rules:
        seen.weeks[rule] = {c.cid: [] for c in people}
        seen.winbacks[rule] = {c.cid: [] for c in people}
    occasions: dict[str, dict[int, str]] = {name: {} for name in variants}
    receipt = 0
    for day in range(WEEK, DAYS, WEEK):
        week_csv = work / f"week-{day:03d}.csv"
        with week_csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["customer", "at", "amount", "receipt"])
            for code, c in codes.items():
                lo = bisect.bisect_left(c.purchases, day - WEEK)
                for p in c.purchases[lo : bisect.bisect_left(c.purchases, day)]:
                    receipt += 1
                    amount = f"{max(1.0, rng.lognormvariate(math.log(6), 0.5)):.2f}"
                    writer.writerow([code, iso(moment(p)), amount, f"R{receipt}"])
        now = moment(day)
        code = await purchases_cli.import_file(
            settings, week_csv, clock=OffsetClock(now), quiet=True
        )
        assert code == 0, f"purchases import failed for week ending day {day}"
        last_by_cid: dict[int, float] = {}
        for name, variant in variants.items():
            at, found = await status_cli.statuses(variant, now)
            for status in found:
                c = codes[status.member_code]
                seen.weeks[name][c.cid].append(status.recency)
                if status.last_purchase_at is not None:
                    last = datetime.fromisoformat(status.last_purchase_at) - START
                    last_by_cid[c.cid] = last.total_seconds() / 86400
                due = status.winback_due_at
                if due is not None and due <= iso(at):
                    occasion = status.last_purchase_at or ""
                    if occasions[name].get(c.cid) != occasion:
                        occasions[name][c.cid] = occasion
                        seen.winbacks[name][c.cid].append(day)
        baselines(people, day, last_by_cid, seen)
    return seen


def baselines(people: list[Customer], day: int, last: dict[int, float], seen: Seen) -> None:
    """The 30/60-day and RFM rules on this week's read-back (win-backs at their flag)."""
    freq = {
        c.cid: bisect.bisect_left(c.purchases, day) - bisect.bisect_left(c.purchases, day - 365)
        for c in people
        if c.cid in last
    }
    recs = sorted(-(day - last[cid]) for cid in freq)
    freqs = sorted(freq.values())
    for c in people:
        for rule in ("30d", "60d", "rfm-r1", "rfm-r2f3"):
            status = "active"
            if c.cid in last:
                silent = day - last[c.cid]
                if rule in ("30d", "60d"):
                    flagged = silent > (30 if rule == "30d" else 60)
                else:
                    r, f = quintile(recs, -silent), quintile(freqs, freq[c.cid])
                    flagged = r == 1 if rule == "rfm-r1" else (r <= 2 and f >= 3)
                status = "at_risk" if flagged else "active"
            weeks = seen.weeks[rule][c.cid]
            if status != "active" and (not weeks or weeks[-1] == "active"):
                seen.winbacks[rule][c.cid].append(day)
            weeks.append(status)


def measure(people: list[Customer], seen: Seen, rule: str) -> dict[str, float]:
    """The metrics of one rule on one population."""
    flags = right = winbacks = to_active = 0
    episodes = caught = leavers = warned = 0
    for c in people:
        weeks = seen.weeks[rule][c.cid]
        flag_days: list[int] = []
        previous = "active"
        for i, status in enumerate(weeks):
            day = (i + 1) * WEEK
            if status != "active" and previous == "active":
                flag_days.append(day)
                flags += 1
                ahead = c.state[day : day + HORIZON + 1]
                right += int(any(x != "active" for x in ahead))
            previous = status
        for day in seen.winbacks[rule][c.cid]:
            winbacks += 1
            ahead = c.state[day : day + HORIZON + 1]
            to_active += int(all(x == "active" for x in ahead))
        for onset in c.onsets:
            episodes += 1
            caught += int(any(onset - HORIZON <= d <= onset + HORIZON for d in flag_days))
        if c.gone_at is not None:
            leavers += 1
            first = c.onsets[-1] if c.onsets else c.gone_at
            warned += int(any(first - HORIZON <= d < c.gone_at + WEEK for d in flag_days))
    months = len(people) * DAYS / 30.4
    return {
        "precision": right / flags if flags else 0.0,
        "recall": caught / episodes if episodes else 0.0,
        "false_per_100_month": 100 * (flags - right) / months,
        "leavers_warned": warned / leavers if leavers else 0.0,
        "winbacks": float(winbacks),
        "winbacks_to_active": to_active / winbacks if winbacks else 0.0,
    }


LEAVE_PER_DAY = 0.03 / 30  # the simulation's rate of starting to leave (complaints aside)
ABRUPT = 0.3  # the share of leavers who stop at once
ORACLE_CUTS = (0.5, 0.6, 0.7)
_GRID = [0.5 * (i + 1) for i in range(1600)]  # silences of 0.5 to 800 days


def oracle_curve(median: float, spread: float) -> np.ndarray:
    """P(still active | silent t) on `_GRID` for a customer known to have joined with this
    rhythm and active at their last purchase, under the simulation's own leaving process: a
    leave starts at any moment of the silence at `LEAVE_PER_DAY`, then they stop (`ABRUPT`) or
    their next gap is drawn 3× longer from that moment."""
    t = np.array(_GRID)
    log_t = np.log(t)
    z = (log_t - math.log(median)) / (spread * math.sqrt(2))
    zc = (log_t - math.log(3 * median)) / (spread * math.sqrt(2))
    survive = 0.5 * np.array([math.erfc(x) for x in z])
    survive_slow = 0.5 * np.array([math.erfc(x) for x in zc])
    # a leave starts in the half day at u (still in the ordinary gap then)
    start = LEAVE_PER_DAY * np.exp(-LEAVE_PER_DAY * t) * survive * 0.5
    drifting = ABRUPT * np.cumsum(start)
    drifting += (1 - ABRUPT) * np.convolve(start, survive_slow)[: len(t)]
    kept = np.exp(-LEAVE_PER_DAY * t) * survive
    result: np.ndarray = kept / (kept + drifting)
    return result


def oracle_rule(people: list[Customer], seen: Seen, name: str, cut: float, s: Settings) -> None:
    """The ceiling: flagged when `oracle_curve` falls below `cut` (at least `at_risk_min_days`
    after the last purchase), lapsed below `lapsed_below` (at least `lapsed_min_days`); on the
    purchases up to each week's end, like the read-back. It knows what no model can: each
    customer's true rhythm and the simulation's leaving rates (rhythm changes and complaints
    aside)."""
    seen.weeks[name] = {c.cid: [] for c in people}
    seen.winbacks[name] = {c.cid: [] for c in people}
    for c in people:
        curve = oracle_curve(c.median, c.spread)
        at_risk = max(float(s.stages.at_risk_min_days), _first_below(curve, cut))
        lapsed = max(at_risk, float(s.stages.lapsed_min_days))
        lapsed = max(lapsed, _first_below(curve, s.stages.lapsed_below))
        sent = -1
        for day in range(WEEK, DAYS, WEEK):
            k = bisect.bisect_left(c.purchases, day)
            status = "active"
            if k:
                silent = day - c.purchases[k - 1]
                if silent >= lapsed:
                    status = "lapsed"
                elif silent >= at_risk:
                    status = "at_risk"
                if status == "lapsed" and sent != k:
                    sent = k
                    seen.winbacks[name][c.cid].append(day)
            seen.weeks[name][c.cid].append(status)


def _first_below(curve: np.ndarray, cut: float) -> float:
    """The first silence on `_GRID` where `curve` is below `cut` (never: a very long one)."""
    below = np.flatnonzero(curve < cut)
    return _GRID[int(below[0])] if len(below) else 1e9


def bench_settings(work: Path, name: str) -> Settings:
    """A config for a fresh database in `work` (the shop's zone UTC, outreach off)."""
    return Settings(storage=StorageSettings(path=str(work / f"{name}.sqlite3")))


def variant(base: Settings, at_risk: float, lapsed: float) -> Settings:
    """The config with other recency cut-offs."""
    return replace(base, stages=replace(base.stages, at_risk_below=at_risk, lapsed_below=lapsed))


def pick(people: list[Customer], seen: Seen, names: dict[str, tuple[float, float]]) -> str:
    """The tune seed's choice: the best recall with precision ≥ 0.5 and at most 25% of
    win-backs to active customers (else the best F1), against the 30-day rule's recall."""
    best: tuple[float, str] | None = None
    for name in names:
        m = measure(people, seen, name)
        ok = m["precision"] >= 0.5 and m["winbacks_to_active"] <= 0.25
        p, r = m["precision"], m["recall"]
        score = r + 1.0 if ok else 2 * p * r / (p + r or 1.0)
        print(f"  {name}: {fmt(m)}")
        if best is None or score > best[0]:
            best = (score, name)
    assert best is not None
    return best[1]


def fmt(m: dict[str, float]) -> str:
    """One row of the table."""
    return (
        f"{m['precision']:9.2f} {m['recall']:6.2f} {m['false_per_100_month']:9.1f}"
        f" {m['leavers_warned']:7.2f} {int(m['winbacks']):8d} {m['winbacks_to_active']:9.2f}"
    )


async def amain() -> None:
    """Simulate, tune on one seed, report every rule on another, all through the commands."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--tune-seed", type=int, default=1)
    parser.add_argument("--no-tune", action="store_true", help="use the configured cut-offs")
    parser.add_argument(
        "--oracle", action="store_true", help="also the ceiling: a rule that knows the truth"
    )
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as tmp:
        work = Path(tmp)
        base = bench_settings(work, "tune")
        chosen = (base.stages.at_risk_below, base.stages.lapsed_below)
        if not args.no_tune:
            names = {f"carebot {a}/{b}": (a, b) for a, b in CANDIDATES}
            print(f"tuning the cut-offs (at_risk_below/lapsed_below) on seed {args.tune_seed}")
            people = simulate(args.customers, args.tune_seed)
            variants = {name: variant(base, *cut) for name, cut in names.items()}
            seen = await run_pipeline(people, base, variants, work)
            chosen = names[pick(people, seen, names)]
        print(f"chosen: at_risk_below={chosen[0]} lapsed_below={chosen[1]}")
        base = bench_settings(work, "report")
        people = simulate(args.customers, args.seed)
        total = sum(len(c.purchases) for c in people)
        old_rule = replace(base.stages, recency_model="gap", at_risk_min_days=14)
        old = replace(base, stages=old_rule)
        report = {"carebot": variant(base, *chosen), "gap-2x": old}
        seen = await run_pipeline(people, base, report, work)
    oracles = [f"oracle {cut}" for cut in ORACLE_CUTS] if args.oracle else []
    for name, cut in zip(oracles, ORACLE_CUTS, strict=True):
        oracle_rule(people, seen, name, cut, base)
    print(f"seed {args.seed}: {len(people)} customers, {total} purchases, {DAYS} days")
    print(f"{'rule':10s} precision recall false/100m warned winbacks to_active")
    for name in ("gap-2x", "30d", "60d", "rfm-r1", "rfm-r2f3", "carebot", *oracles):
        print(f"{name:10s} {fmt(measure(people, seen, name))}")
    print(f"run time {time.monotonic() - started:.0f} s")


def main() -> None:
    """Run the bench."""
    asyncio.run(amain())


if __name__ == "__main__":
    main()
