"""Report benchmark: 100,000 customers, 1,000,000 ledger entries, 20,000 tickets.

Run: .venv/bin/python bench/report_bench.py [--customers N] [--entries M] [--tickets T]
     [--keep DIR]

The shop is bulk-loaded with the stdlib sqlite3 module in a child process (set-up, not
measured, and not in this process's peak RSS); then this process opens it the way the bot does
and measures the real code path: ReportService.report over one aiosqlite connection (the
weekly and the monthly report), the six album charts and all eleven charts in zh, and the peak
RSS of the whole run. Targets (issue 14): the weekly report in < 3 s, < 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care.clock import iso
from care.services import CareServices
from care.settings import STAGES, CareSettings
from handlers import report_charts
from storage.db import Database
from storage.migrate import migrate
from tests.fakes import FakeClock, RecordingMessenger

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DAYS = 720  # the shop's history
TARGET_SECONDS, TARGET_MB = 3.0, 200.0


def _stamp(rng: random.Random, days: int = DAYS) -> str:
    return iso(NOW - timedelta(seconds=rng.randrange(days * 86400)))


def populate(path: Path, customers: int, entries: int, tickets: int) -> None:
    """Bulk-load a shop: customers with stages and stored recency moments, purchases, the
    ledger (60% earns with a purchase each, then redeems, bonuses, expiries), stage history,
    tickets, FAQ counters, votes, unanswered questions and outreach."""
    rng = random.Random(14)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    rows = []
    for cid in range(1, customers + 1):
        created = _stamp(rng)
        last = _stamp(rng, 400) if rng.random() < 0.8 else None
        at_risk = lapsed = None
        if last is not None:
            at_risk = iso(datetime.fromisoformat(last) + timedelta(days=rng.randrange(14, 60)))
            lapsed = iso(datetime.fromisoformat(last) + timedelta(days=rng.randrange(90, 200)))
        stage = rng.choices(STAGES, weights=(30, 35, 20, 10, 5))[0]
        rows.append((cid, cid, f"C{cid}", stage, created, f"M{cid:07d}", created, last,
                     at_risk, lapsed))  # fmt: skip
    conn.executemany(
        "INSERT INTO customers (id, telegram_id, name, stage, stage_since, member_code,"
        " created_at, last_purchase_at, at_risk_at, lapsed_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    earns = int(entries * 0.6)
    ledger, purchases = [], []
    for i in range(entries):
        cid = rng.randrange(1, customers + 1)
        at = _stamp(rng)
        if i < earns:
            amount = rng.randrange(300, 5000)
            ledger.append((cid, amount // 100, "earn", f"r{i}", at))
            purchases.append((cid, amount, at))
        else:
            kind = rng.choices(("redeem", "bonus", "expire", "adjust"), weights=(5, 2, 2, 1))[0]
            delta = {"redeem": -50, "bonus": 20, "expire": -10, "adjust": 5}[kind]
            ledger.append((cid, delta, kind, f"r{i}", at))
    conn.executemany(
        "INSERT INTO points_ledger (customer_id, delta, kind, reference, created_at)"
        " VALUES (?,?,?,?,?)",
        ledger,
    )
    conn.executemany(
        "INSERT INTO purchases (customer_id, amount_cents, created_at) VALUES (?,?,?)", purchases
    )
    history = []
    for _ in range(customers * 2):
        a, b = rng.sample(STAGES, 2)
        history.append((rng.randrange(1, customers + 1), a, b, _stamp(rng)))
    conn.executemany(
        "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, created_at)"
        " VALUES (?,?,?,'rule: bench',?)",
        history,
    )
    ticket_rows = []
    for number in range(1, tickets + 1):
        created = datetime.fromisoformat(_stamp(rng))
        first = created + timedelta(hours=rng.expovariate(1 / 3))
        resolved = first + timedelta(hours=rng.expovariate(1 / 20))
        done = resolved < NOW and rng.random() < 0.97
        ticket_rows.append((
            number, rng.randrange(1, customers + 1),
            rng.choice(("feedback", "complaint", "question")),
            "resolved" if done else "open", rng.randrange(1, 6) if done else None,
            iso(created), iso(first) if first < NOW else None, iso(resolved) if done else None,
            iso(created),
        ))  # fmt: skip
    conn.executemany(
        "INSERT INTO tickets (number, customer_id, kind, status, csat, created_at,"
        " first_response_at, resolved_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        ticket_rows,
    )
    hours = {}
    for _ in range(DAYS * 24 * 3):
        key = (_stamp(rng)[:13], rng.choice(("answer", "suggest", "fallback")))
        hours[key] = hours.get(key, 0) + rng.randrange(1, 5)
    conn.executemany(
        "INSERT INTO faq_outcomes (hour, outcome, count) VALUES (?,?,?)",
        [(h, o, n) for (h, o), n in hours.items()],
    )
    conn.executemany(
        "INSERT INTO faq_votes (chat_id, message_id, entry_id, language, helpful, voted_at)"
        " VALUES (?,?,1,'en',?,?)",
        [(1, i, rng.randrange(2), _stamp(rng)) for i in range(20_000)],
    )
    conn.executemany(
        "INSERT INTO unanswered (normalised, language, example, count, first_seen_at,"
        " last_seen_at) VALUES (?,'en',?,?,?,?)",
        [(f"q{i}", f"question {i}?", rng.randrange(1, 30), _stamp(rng), _stamp(rng, 30))
         for i in range(2_000)],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO outreach (customer_id, kind, occasion, status, reason, due_at, sent_at,"
        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (cid, "checkin", "c", s, "blocked" if s == "failed" else None, at, at, at, at)
            for cid in range(1, customers + 1, 2)
            for s, at in [(rng.choice(("sent", "sent", "failed", "skipped")), _stamp(rng))]
        ],
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


async def measure(path: Path) -> dict[str, float]:
    """Open the shop as the bot does; time the weekly and monthly reports and the charts."""
    db = await Database.open(path)
    await migrate(db)
    care = CareServices.build(db, FakeClock(NOW), CareSettings(), RecordingMessenger())
    figures: dict[str, float] = {}
    for name in ("week", "month"):
        started = time.perf_counter()
        report = await care.reports.report(care.reports.period(name))
        figures[f"compute_{name}_s"] = time.perf_counter() - started
    weekly = await care.reports.report(care.reports.period("week"))
    started = time.perf_counter()
    report_charts.render(weekly, "en", ["funnel"])  # matplotlib imported, the font registered
    figures["first_chart_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.to_thread(report_charts.render, weekly, "zh", report_charts.ALBUM)
    figures["render_album_s"] = time.perf_counter() - started
    started = time.perf_counter()
    charts = report_charts.render(report, "zh")
    figures["render_all_s"] = time.perf_counter() - started
    figures["charts"] = len(charts)
    figures["customers"] = weekly.totals.customers
    await db.close()
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    """Build the shop (in a child process), then measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--keep", default=None, help="build into (or reuse) this directory")
    parser.add_argument("--build-only", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        path = Path(args.build_only)
        asyncio.run(_migrated(path))
        populate(path, args.customers, args.entries, args.tickets)
        return
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--build-only", str(path), "--customers",
             str(args.customers), "--entries", str(args.entries), "--tickets", str(args.tickets)],
            check=True,
        )  # fmt: skip
        print(f"built {path} in {time.perf_counter() - started:.0f} s")
    figures = asyncio.run(measure(path))
    print(
        f"report bench: {int(figures['customers']):,} customers, {args.entries:,} ledger"
        f" entries, {args.tickets:,} tickets"
    )
    week, month = figures["compute_week_s"], figures["compute_month_s"]
    album, every = figures["render_album_s"], figures["render_all_s"]
    print(f"  compute weekly report   {week:6.2f} s")
    print(f"  compute monthly report  {month:6.2f} s")
    print(f"  first chart after start {figures['first_chart_s']:6.2f} s   (imports, font; once)")
    print(f"  render album (6 charts) {album:6.2f} s")
    print(f"  render all {int(figures['charts'])} charts   {every:6.2f} s")
    print(f"  weekly report, total    {week + album:6.2f} s   (target < {TARGET_SECONDS:.0f} s)")
    rss = figures["peak_rss_mb"]
    print(f"  peak RSS                {rss:6.0f} MB  (target < {TARGET_MB:.0f} MB)")


async def _migrated(path: Path) -> None:
    db = await Database.open(path)
    await migrate(db)
    await db.close()


if __name__ == "__main__":
    main()
