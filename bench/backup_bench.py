"""Online backup of a big database while the bot serves: backup time, FAQ answer p99 during the
backup vs. idle, restore time, and what `carebot status` and one metrics scrape cost.

    .venv/bin/python bench/backup_bench.py --customers 100000 --ledger 10000000   # ~1 GB
    .venv/bin/python bench/backup_bench.py                                        # smaller

FAQ answers are asked on the bot's event loop (its one connection, as handlers do) and a writer
commits a ledger entry every few milliseconds, both while the backup runs in its thread.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bot import backup, health
from bot.config import settings_from_mapping
from bot.messenger import OfflineMessenger
from bot.metrics import DatabaseCollector
from care.clock import SystemClock, iso
from care.faq.csv import import_faq
from care.services import CareServices
from care.settings import CareSettings
from storage.db import Database
from storage.migrate import migrate

FAQ_CSV = Path(__file__).resolve().parents[1] / "bot" / "data" / "faq_en.csv"
QUESTIONS = ["what time do you open", "do you have wifi", "can I pay by card", "where are you"]


def fill(path: Path, customers: int, ledger: int) -> None:
    """Customers and ledger rows, written fast with plain sqlite3."""
    now = iso(SystemClock().now())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.executemany(
            "INSERT INTO customers (telegram_id, name, stage_since, member_code, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            ((10_000 + i, f"Customer {i}", now, f"M{i:07d}", now) for i in range(customers)),
        )
    batch = 200_000
    for start in range(0, ledger, batch):
        with conn:
            conn.executemany(
                "INSERT INTO points_ledger (customer_id, delta, kind, reason, reference,"
                " created_at) VALUES (?, ?, 'earn', 'purchase', ?, ?)",
                (
                    (1 + i % customers, 10, f"r{i}", now)
                    for i in range(start, min(start + batch, ledger))
                ),
            )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def p99(samples: list[float]) -> float:
    """The 99th percentile in milliseconds."""
    if len(samples) < 2:
        return samples[0] * 1000 if samples else float("nan")
    return statistics.quantiles(samples, n=100)[98] * 1000


async def ask_while(care: CareServices, done: asyncio.Event) -> list[float]:
    """FAQ answers, one after another, until `done`."""
    took: list[float] = []
    i = 0
    while not done.is_set():
        start = time.perf_counter()
        await care.faq.answer(QUESTIONS[i % len(QUESTIONS)], "en", asker=None)
        took.append(time.perf_counter() - start)
        i += 1
        await asyncio.sleep(0.002)
    return took


async def write_while(db: Database, done: asyncio.Event) -> int:
    """One ledger entry per transaction until `done`; returns how many."""
    count = 0
    now = iso(SystemClock().now())
    while not done.is_set():
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO points_ledger (customer_id, delta, kind, reference, created_at)"
                " VALUES (1, 1, 'earn', ?, ?)",
                (f"bench-{time.perf_counter_ns()}", now),
            )
        count += 1
        await asyncio.sleep(0.005)
    return count


async def main(customers: int, ledger: int, faq_text: str) -> None:
    """Build, measure, print."""
    folder = Path(tempfile.mkdtemp(prefix="carebot-backup-bench-"))
    path = folder / "care.sqlite3"
    db = await Database.open(path)
    await migrate(db)
    await db.close()
    start = time.perf_counter()
    fill(path, customers, ledger)
    size = path.stat().st_size
    print(f"database: {customers} customers, {ledger} ledger rows, {size / 1e6:.0f} MB"
          f" (built in {time.perf_counter() - start:.0f} s)")  # fmt: skip

    db = await Database.open(path)
    clock = SystemClock()
    care = CareServices.build(db, clock, CareSettings(), OfflineMessenger())
    await import_faq(db, clock, care.faq, faq_text, "en")

    for question in QUESTIONS:  # the first answers build the FAQ index: not part of "idle"
        await care.faq.answer(question, "en", asker=None)
    idle_done = asyncio.Event()
    asker = asyncio.create_task(ask_while(care, idle_done))
    await asyncio.sleep(3)
    idle_done.set()
    idle = await asker

    done = asyncio.Event()
    asker = asyncio.create_task(ask_while(care, done))
    writer = asyncio.create_task(write_while(db, done))
    start = time.perf_counter()
    outcome = await backup.take(care, folder / "copy.sqlite3")
    backup_s = time.perf_counter() - start
    done.set()
    during, writes = await asker, await writer
    assert outcome.ok, outcome.error
    print(f"backup: {backup_s:.1f} s (integrity_check and row counts included),"
          f" {writes} writes committed meanwhile")  # fmt: skip
    print(f"FAQ answer p99: idle {p99(idle):.1f} ms ({len(idle)} asked),"
          f" during the backup {p99(during):.1f} ms ({len(during)} asked)")  # fmt: skip

    settings = settings_from_mapping({"storage": {"path": str(path)}}, require_token=False)
    start = time.perf_counter()
    for _ in range(20):
        await health.checks(settings, clock.now())
    status_ms = (time.perf_counter() - start) / 20 * 1000
    collector = DatabaseCollector(str(path), clock)
    start = time.perf_counter()
    for _ in range(20):
        list(collector.collect())
    scrape_ms = (time.perf_counter() - start) / 20 * 1000
    print(f"carebot status checks: {status_ms:.1f} ms; one metrics scrape: {scrape_ms:.1f} ms")
    await db.close()

    start = time.perf_counter()
    backup.restore(Path(outcome.path), str(folder / "restored.sqlite3"), clock.now())
    print(f"restore: {time.perf_counter() - start:.1f} s")
    print(f"(files in {folder}; delete it when done)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--ledger", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.ledger, FAQ_CSV.read_text("utf-8")))
