"""Customer import benchmark: a realistic 100,000-row CSV, dry run and real import, timed.

Run: .venv/bin/python bench/import_bench.py [--rows N] [--keep DIR]

The CSV is generated in a temporary directory (seeded, so every run imports the same file) and
goes through the code path of `carebot customers import`: `read_rows`, then
`CustomerTransfer.import_rows` over one aiosqlite connection into a fresh, migrated database.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.customers_cli import read_rows
from care.clock import iso
from care.customer_import import COLUMNS, CustomerTransfer
from care.customers import MEMBER_CODE_ALPHABET
from care.settings import STAGES, LocaleSettings
from storage.db import Database
from storage.migrate import migrate
from tests.fakes import FakeClock

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LOCALE = LocaleSettings(default_language="en", timezone="Europe/London")
# Seconds on the code before batching (commit 9a39c15), two runs on the same shared 2-core
# machine (the lower figures while it was less loaded): row by row, ~12 queries per row.
BASELINE = {"dry run": (158.6, 231.7), "import": (152.3, 209.2), "re-import": (105.8, 200.2)}
FIRST = ("Anna", "Ben", "Chloé", "David", "Émile", "Fatima", "George", "伟", "芳", "O'Neil")
LAST = ("Smith", "Jones", "Müller", "García", "Wang", "Li", "Brown, Jr.", 'Say "Hi"', "Nowak")
ZONES = ("Europe/London", "Europe/Paris", "Asia/Shanghai", "America/New_York", "Asia/Tokyo")


def write_csv(path: Path, rows: int) -> None:
    """A shop's customer list: most rows have a phone, some a Telegram id, half a card code."""
    rng = random.Random(10)
    codes: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for i in range(rows):
            has_phone = rng.random() < 0.9
            cells = {column: "" for column in COLUMNS}
            if has_phone:
                cells["phone"] = f"+44 7{i:09d}"
            if not has_phone or rng.random() < 0.3:
                cells["telegram_id"] = str(100_000_000 + i)
            cells["name"] = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if rng.random() < 0.6:
                day = NOW.date() - timedelta(days=rng.randrange(18 * 365, 80 * 365))
                yearless = rng.random() < 0.2
                cells["birthday"] = day.strftime("--%m-%d") if yearless else day.isoformat()
            cells["language"] = "zh" if rng.random() < 0.2 else "en"
            if rng.random() < 0.3:
                cells["timezone"] = rng.choice(ZONES)
            if rng.random() < 0.8:
                cells["points"] = str(rng.randrange(0, 5000))
            if rng.random() < 0.5:
                cells["last_purchase_at"] = iso(NOW - timedelta(minutes=rng.randrange(1, 10**6)))
            if rng.random() < 0.3:
                cells["stage"] = rng.choice(STAGES)
            if rng.random() < 0.5:
                while (code := "".join(rng.choices(MEMBER_CODE_ALPHABET, k=8))) in codes:
                    pass
                codes.add(code)
                cells["member_code"] = code
            writer.writerow(cells)


async def timed_import(db: Database, csv_path: Path, *, dry_run: bool) -> tuple[float, str]:
    """Seconds for one import of the file, and its counts."""
    started = time.perf_counter()
    rows = read_rows(csv_path).rows
    report = await CustomerTransfer(db, FakeClock(NOW), LOCALE).import_rows(rows, dry_run=dry_run)
    elapsed = time.perf_counter() - started
    counts = (
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged},"
        f" rejected {len(report.rejected)}"
    )
    return elapsed, counts


async def main() -> None:
    """Generate the file, then time the dry run, the import and a second import of the same."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the CSV and database here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, db_path = folder / "customers.csv", folder / "import.sqlite3"
        db_path.unlink(missing_ok=True)
        write_csv(csv_path, args.rows)
        size = csv_path.stat().st_size / 2**20
        print(f"rows: {args.rows:,} ({size:.1f} MiB CSV)")
        db = await Database.open(db_path)
        try:
            await migrate(db)
            for label, dry_run in (("dry run", True), ("import", False), ("re-import", False)):
                elapsed, counts = await timed_import(db, csv_path, dry_run=dry_run)
                low, high = BASELINE[label]
                was = f" (before: {low:.0f}–{high:.0f} s)" if args.rows == 100_000 else ""
                rate = args.rows / elapsed
                print(f"{label}: {elapsed:.2f} s{was}, {rate:,.0f} rows/s; {counts}")
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
