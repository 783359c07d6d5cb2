"""Ledger benchmark: 100,000 customers, 1,000,000 entries; lookup latency, earn throughput, size.

Run: .venv/bin/python bench/ledger_bench.py [--customers N] [--entries M] [--keep DIR]

The data is bulk-loaded with the stdlib sqlite3 module (set-up, not measured); every measured
operation goes through the real code path: LoyaltyService over one aiosqlite connection.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care.clock import iso
from care.customers import MEMBER_CODE_ALPHABET
from care.loyalty.service import EarnRequest, LoyaltyService
from care.outbox import Outbox
from care.settings import LocaleSettings, LoyaltySettings, StaffSettings, StageSettings
from care.staff import StaffService
from care.stages.service import StageService
from storage import points as points_repo
from storage.db import Database
from storage.migrate import migrate
from storage.points import NewEntry
from tests.fakes import FakeClock, RecordingMessenger

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LOOKUPS = 20_000
SINGLE_EARNS = 5_000
BATCHES, BATCH_SIZE = 20, 1_000
RAW_ENTRIES = 100_000


def member_code(index: int) -> str:
    digits = []
    for _ in range(6):
        index, rest = divmod(index, len(MEMBER_CODE_ALPHABET))
        digits.append(MEMBER_CODE_ALPHABET[rest])
    return "".join(digits)


def populate(path: Path, customers: int, entries: int) -> float:
    """Bulk-load customers and ledger entries (10 per customer on average over 18 months)."""
    started = time.perf_counter()
    rng = random.Random(4)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    created = iso(NOW - timedelta(days=600))
    conn.executemany(
        "INSERT INTO customers (id, telegram_id, name, language, member_code, stage,"
        " stage_since, created_at) VALUES (?, ?, ?, 'en', ?, 'aware', ?, ?)",
        ((i, 10_000_000 + i, f"Customer {i}", member_code(i), created, created)
         for i in range(1, customers + 1)),
    )  # fmt: skip

    def rows():  # earns, with a redemption of part of the balance now and then
        balances = [0] * (customers + 1)
        for n in range(entries):
            cid = rng.randint(1, customers)
            at = iso(NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 540)))
            if balances[cid] > 50 and rng.random() < 0.2:
                delta, kind = -rng.randint(1, balances[cid] // 2), "redeem"
            else:
                delta, kind = rng.randint(1, 300), "earn"
            balances[cid] += delta
            yield cid, delta, kind, f"bench:{n}", at

    conn.executemany(
        "INSERT INTO points_ledger (customer_id, delta, kind, reference, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        rows(),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def measure(path: Path, customers: int) -> None:
    db = await Database.open(path)
    clock = FakeClock(NOW)
    settings = LoyaltySettings()
    service = LoyaltyService(
        db, clock, settings, LocaleSettings(),
        staff=StaffService(db, clock, StaffSettings()),
        stages=StageService(db, clock, StageSettings()),
        outbox=Outbox(db, clock, RecordingMessenger()),
    )  # fmt: skip
    rng = random.Random(7)
    try:
        for cid in rng.sample(range(1, customers + 1), 500):  # warm the page cache
            await service.standing(cid)
        samples = []
        for cid in (rng.randint(1, customers) for _ in range(LOOKUPS)):
            started = time.perf_counter()
            await service.standing(cid)
            samples.append((time.perf_counter() - started) * 1000)
        print(
            f"balance+tier lookup ({LOOKUPS:,} random customers): "
            f"p50 {statistics.median(samples):.3f} ms, p99 {percentile(samples, 99):.3f} ms, "
            f"max {max(samples):.3f} ms"
        )

        started = time.perf_counter()
        for n in range(SINGLE_EARNS):
            await service.earn(rng.randint(1, customers), rng.randint(100, 10_000), f"single:{n}")
        elapsed = time.perf_counter() - started
        print(
            f"earn, one transaction each: {SINGLE_EARNS:,} earns in {elapsed:.2f} s = "
            f"{SINGLE_EARNS / elapsed:,.0f} earns/s (each earn = 1 ledger entry + 1 purchase)"
        )

        started = time.perf_counter()
        for b in range(BATCHES):
            await service.earn_many(
                [EarnRequest(rng.randint(1, customers), rng.randint(100, 10_000),
                             f"batch:{b}:{n}") for n in range(BATCH_SIZE)]
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        total = BATCHES * BATCH_SIZE
        print(
            f"earn, batched ({BATCH_SIZE:,} per transaction): {total:,} earns in {elapsed:.2f} s"
            f" = {total / elapsed:,.0f} earns/s"
        )
        entries = [
            NewEntry(rng.randint(1, customers), rng.randint(1, 300), "earn", f"raw:{n}", iso(NOW))
            for n in range(RAW_ENTRIES)
        ]
        started = time.perf_counter()
        async with db.transaction() as tx:
            await points_repo.append_many(tx, entries)
        elapsed = time.perf_counter() - started
        print(
            f"ledger append only (storage.points.append_many, one transaction): {RAW_ENTRIES:,}"
            f" entries in {elapsed:.2f} s = {RAW_ENTRIES / elapsed:,.0f} entries/s"
        )
        await db.scalar("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.close()


async def prepare(path: Path) -> None:
    db = await Database.open(path)
    try:
        await migrate(db)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--keep", help="directory for the database (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or tmp) / "ledger_bench.sqlite3"
        path.unlink(missing_ok=True)
        asyncio.run(prepare(path))
        seconds = populate(path, args.customers, args.entries)
        size = path.stat().st_size
        print(
            f"data: {args.customers:,} customers, {args.entries:,} ledger entries"
            f" (bulk load {seconds:.1f} s); database {size / 2**20:.1f} MiB"
            f" ({size / args.entries:.0f} bytes per entry incl. indexes)"
        )
        asyncio.run(measure(path, args.customers))
        print(f"database after the earns: {path.stat().st_size / 2**20:.1f} MiB")
        print(f"sqlite {sqlite3.sqlite_version}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
