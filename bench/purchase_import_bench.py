"""Purchase import benchmark: 100,000 rows of history through `carebot purchases import`, timed.

Run: .venv/bin/python bench/purchase_import_bench.py [--rows N] [--customers N] [--earn-rows N]

A seeded shop (10,000 customers by `customers import`) and a CSV of purchases over a year,
customers named by member code, phone or Telegram id, times with an offset or in the shop's
local time. Timed through the command's own function (`bot.purchases_cli.import_file`): a dry
run, the import, the same file again (every receipt already there), and `--earn` on a fresh file
(points as live earns give them, row by row through LoyaltyService).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import customers_cli, purchases_cli
from bot.config import Settings, StorageSettings
from bot.outreach_cli import OffsetClock
from care.clock import iso
from care.settings import LocaleSettings

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def code(i: int) -> str:
    """A member code for customer i."""
    out = []
    for _ in range(6):
        i, digit = divmod(i, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


def write_files(work: Path, customers: int, rows: int, prefix: str) -> tuple[Path, Path]:
    """The customer list and `rows` purchases over the last year."""
    rng = random.Random(12)
    people = work / "customers.csv"
    with people.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member_code", "phone", "telegram_id", "name"])
        for i in range(customers):
            writer.writerow([code(i), f"+44 7{i:09d}", 200_000_000 + i, f"Guest {i}"])
    history = work / f"purchases-{prefix}.csv"
    with history.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer", "at", "amount", "receipt"])
        for n in range(rows):
            i = rng.randrange(customers)
            who = rng.choice((code(i), f"07{i:09d}", str(200_000_000 + i)))
            at = NOW - timedelta(days=rng.uniform(1, 365))
            when = (
                iso(at)
                if rng.random() < 0.5
                else at.replace(tzinfo=None).isoformat("T", "seconds")
            )
            writer.writerow([who, when, f"{rng.uniform(2, 40):.2f}", f"{prefix}-{n}"])
    return people, history


async def timed(label: str, settings: Settings, path: Path, **flags: bool) -> None:
    """Run the import once and print its time and report line."""
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        await purchases_cli.import_file(settings, path, clock=OffsetClock(NOW), **flags)
    seconds = time.perf_counter() - started
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    print(f"{label}: {seconds:.2f} s, {rows / seconds:,.0f} rows/s; {out.getvalue().strip()}")


async def amain() -> None:
    """Generate, import, time."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--earn-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="purchase-bench-") as tmp:
        work = Path(tmp)
        settings = Settings(
            storage=StorageSettings(path=str(work / "bench.sqlite3")),
            locale=LocaleSettings(timezone="Europe/London"),
        )
        people, history = write_files(work, args.customers, args.rows, "P")
        _, earn_history = write_files(work, args.customers, args.earn_rows, "E")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            await customers_cli.import_file(settings, people, dry_run=False)
        print(f"{args.customers} customers; {args.rows} purchases")
        await timed("dry run", settings, history, dry_run=True)
        await timed("import", settings, history)
        await timed("re-import", settings, history)
        await timed("import --earn (other receipts)", settings, earn_history, earn=True)


if __name__ == "__main__":
    asyncio.run(amain())
