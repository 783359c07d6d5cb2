"""Outreach benchmark: plan one day for 1,000,000 customers; send rate against the sandbox.

    .venv/bin/python bench/outreach_bench.py [--customers 1000000] [--messages 500] [--holiday]

Planning: a database of N customers (birthdays spread over the year, five stages, eight time
zones, a tenth lapsed with their win-back already sent, check-ins due over the next 60 days) is
generated once in a child process. A fresh process then runs the real planner every 5 minutes of
one simulated day (288 runs, writing the outbox) and the dry run for that day (`carebot outreach
plan --date`), reporting wall time and peak memory (the process's peak RSS). With `--holiday`
the shop greets a day of its own on the next day ([[outreach.shop_days]]: the same planning as
a country's holiday), so every customer with a chat also gets a holiday row.

Sending: the sandbox with Telegram's limits enforced (1/s per chat, 30/s overall), the real
TelegramMessenger over a PTB Bot, the outbox drained at the configured rate; reports the rate
achieved and the 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care.clock import Clock, iso
from care.outreach.service import OutreachService
from care.services import CareServices
from care.settings import (
    STAGES,
    BusinessSettings,
    CareSettings,
    OutreachSettings,
    ShopDaySettings,
)
from storage.db import Database
from storage.migrate import migrate

DAY = date(2026, 11, 22)
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
]


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _outreach(
    db: Database, clock: Clock, settings: OutreachSettings, messenger: Any
) -> OutreachService:
    """The outreach service as the bot wires it (with the loyalty service its bonuses use)."""
    care = CareServices.build(
        db,
        clock,
        CareSettings(outreach=settings, business=BusinessSettings(name="Bench")),
        messenger,
    )
    return care.outreach


def generate(path: Path, customers: int) -> None:
    """Write the synthetic customer base (sync sqlite3: setup, not what is measured)."""
    asyncio.run(_migrate(path))
    rng = random.Random(6)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA journal_mode = WAL")

    def rows():
        for i in range(1, customers + 1):
            doy = rng.randrange(366)
            born = date(2000, 1, 1) + timedelta(days=doy)  # 2000 is leap: 29-02 included
            birthday = (
                f"{rng.randrange(1950, 2005)}-{born:%m-%d}"
                if i % 3 and (born.month, born.day) != (2, 29)
                else f"--{born:%m-%d}"
            )
            stage = STAGES[min(4, int(rng.expovariate(0.8)))]
            created = start - timedelta(days=rng.randrange(30, 1500))
            lapsed = i % 10 == 0
            last_purchase = at_risk = checkin = winback = None
            if stage != "aware":
                if lapsed:
                    last_purchase = start - timedelta(days=rng.uniform(100, 400))
                    at_risk = last_purchase + timedelta(days=45)
                else:
                    last_purchase = start - timedelta(days=rng.uniform(0, 44))
                    at_risk = last_purchase + timedelta(days=45)
                    winback = at_risk
                    checkin = start + timedelta(days=rng.uniform(0, 60))
            yield (
                i,
                1_000_000_000 + i,
                f"Customer {i}",
                "zh" if i % 4 == 0 else "en",
                ZONES[i % len(ZONES)],
                birthday,
                stage,
                iso(created),
                int(i % 50 == 0),
                int(i % 97 != 0),
                f"M{i:07d}",
                iso(created),
                iso(start - timedelta(days=rng.randrange(0, 30))),
                iso(last_purchase) if last_purchase else None,
                iso(at_risk) if at_risk else None,
                iso(at_risk + timedelta(days=45)) if at_risk else None,
                iso(checkin) if checkin else None,
                iso(winback) if winback else None,
            )

    conn.executemany(
        "INSERT INTO customers (id, telegram_id, name, language, timezone, birthday, stage,"
        " stage_since, opted_out, reachable, member_code, created_at, last_seen_at,"
        " last_purchase_at, at_risk_at, lapsed_at, next_checkin_at, winback_due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    # The lapsed tenth already got their win-back (steady state: nothing overdue).
    conn.execute(
        "INSERT INTO outreach (customer_id, kind, occasion, status, due_at, sent_at, created_at,"
        " updated_at) SELECT id, 'winback', 'winback:' || substr(last_purchase_at, 1, 10),"
        " 'sent', at_risk_at, at_risk_at, at_risk_at, at_risk_at FROM customers"
        " WHERE id % 10 = 0 AND last_purchase_at IS NOT NULL"
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def _migrate(path: Path) -> None:
    db = await Database.open(path)
    await migrate(db)
    await db.close()


async def plan_day(path: Path, holiday: bool) -> None:
    db = await Database.open(path)
    clock = FixedClock(datetime.combine(DAY, datetime.min.time(), tzinfo=UTC))
    messenger: Any = None  # planning sends nothing
    tomorrow = f"{DAY + timedelta(days=1):%m-%d}"
    settings = OutreachSettings(
        shop_days=[ShopDaySettings("bench day", tomorrow)] if holiday else []
    )
    service = _outreach(db, clock, settings, messenger)
    began = time.perf_counter()
    first = await service.plan()
    first_s = time.perf_counter() - began
    runs = 1
    totals = dict(first)
    while clock.moment < datetime.combine(DAY + timedelta(days=1), datetime.min.time(), UTC):
        clock.moment += timedelta(minutes=5)
        for key, value in (await service.plan()).items():
            totals[key] = totals.get(key, 0) + value
        runs += 1
    day_s = time.perf_counter() - began
    plan_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    items = await service.preview(DAY + timedelta(days=1))
    dry_s = time.perf_counter() - began
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    async with db.read() as tx:
        cursor = await tx.execute("SELECT COUNT(*) FROM customers")
        customers = (await cursor.fetchone())[0]
    await db.close()
    written = {k: v for k, v in sorted(totals.items()) if v and not k.endswith("existing")}
    print(f"customers: {customers:,}")
    print(f"plan, first run of the day (birthdays {PLAN_AHEAD} days ahead): {first_s:.2f} s")
    print(f"plan, one day = {runs} runs every 5 minutes: {day_s:.2f} s in all; rows {written}")
    print(
        f"dry run for {DAY + timedelta(days=1)} (`outreach plan --date`): {dry_s:.2f} s,"
        f" {len(items):,} customers considered"
    )
    print(
        f"peak process RSS (interpreter, imports and SQLite cache included):"
        f" {plan_rss:.0f} MB after the day's planning, {rss_mb:.0f} MB after the dry run"
    )


PLAN_AHEAD = 2


async def send_rate(messages: int, rate: float, tmp: Path) -> None:
    from telegram import Bot

    from bot.messenger import TelegramMessenger
    from sandbox import Sandbox

    path = tmp / "send.sqlite3"
    path.unlink(missing_ok=True)
    db = await Database.open(path)
    await migrate(db)
    async with Sandbox() as sandbox:
        sandbox.enforce_limits()
        users = [sandbox.create_user(f"U{i}", started=True) for i in range(messages)]
        async with db.transaction() as tx:
            for i, user in enumerate(users):
                await tx.execute(
                    "INSERT INTO customers (telegram_id, name, birthday, stage, stage_since,"
                    " member_code, created_at) VALUES (?, ?, '--11-22', 'engaged', ?, ?, ?)",
                    (user.id, user.first_name, "2026-01-01", f"S{i:06d}", "2026-01-01"),
                )
        clock = FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
        bot = Bot(sandbox.token, base_url=sandbox.base_url)
        async with bot:
            settings = OutreachSettings(send_rate=rate)
            service = _outreach(db, clock, settings, TelegramMessenger(bot))
            await service.plan()
            began = time.perf_counter()
            counts = await service.drain()
            elapsed = time.perf_counter() - began
    await db.close()
    achieved = counts["sent"] / elapsed
    print(
        f"send: {counts['sent']} messages in {elapsed:.2f} s = {achieved:.2f} msg/s,"
        f" configured {rate:.0f}/s ({100 * achieved / rate:.1f}%),"
        f" 429 responses: {sandbox.stats['rate_limited']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rate", type=float, default=OutreachSettings().send_rate)
    parser.add_argument("--dir", default="bench-data")
    parser.add_argument("--generate", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plan", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--holiday", action="store_true", help="also a holiday tomorrow")
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate), args.customers)
        return
    if args.plan:
        asyncio.run(plan_day(Path(args.plan), args.holiday))
        return
    tmp = Path(args.dir)
    tmp.mkdir(exist_ok=True)
    base = tmp / f"customers-{args.customers}.sqlite3"
    if not base.exists():
        began = time.perf_counter()
        script = str(Path(__file__).resolve())
        subprocess.run(
            [sys.executable, script, "--generate", str(base), "--customers", str(args.customers)],
            check=True,
        )
        print(f"(generated {base} in {time.perf_counter() - began:.0f} s)")
    work = tmp / "plan.sqlite3"  # plan on a copy: the planner writes the outbox
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, work)  # streamed: Linux keeps the peak RSS across fork and exec
    script = str(Path(__file__).resolve())
    holiday = ["--holiday"] if args.holiday else []
    subprocess.run([sys.executable, script, "--plan", str(work), *holiday], check=True)
    asyncio.run(send_rate(args.messages, args.rate, tmp))


if __name__ == "__main__":
    main()
