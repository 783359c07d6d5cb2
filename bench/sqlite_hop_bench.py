"""What one call to aiosqlite's thread costs, next to the same statement run inline.

Run: .venv/bin/python bench/sqlite_hop_bench.py [--calls 5000]

The bot runs every statement through aiosqlite, which hands it to a thread and wakes the event
loop with the result. This prints the CPU and wall time per `SELECT 1` both ways on one file, so
the round trips an update makes (`bench/throughput_bench.py` counts statements) can be priced.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import aiosqlite


async def through_aiosqlite(path: Path, calls: int) -> tuple[float, float]:
    """CPU and wall microseconds per call through aiosqlite's thread."""
    async with aiosqlite.connect(path) as db:
        await db.execute_fetchall("SELECT 1")
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            await db.execute_fetchall("SELECT 1")
        return _per_call(cpu, wall, calls)


def inline(path: Path, calls: int) -> tuple[float, float]:
    """CPU and wall microseconds per call with sqlite3 on the calling thread."""
    conn = sqlite3.connect(path)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            conn.execute("SELECT 1").fetchall()
        return _per_call(cpu, wall, calls)
    finally:
        conn.close()


def _per_call(cpu: float, wall: float, calls: int) -> tuple[float, float]:
    return (
        (time.process_time() - cpu) / calls * 1e6,
        (time.perf_counter() - wall) / calls * 1e6,
    )


def main() -> None:
    """Measure both ways and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hop.sqlite3"
        hop = asyncio.run(through_aiosqlite(path, args.calls))
        direct = inline(path, args.calls)
    print(f"| way | CPU µs per call | wall µs per call |   ({args.calls} × SELECT 1)")
    print("|---|---|---|")
    print(f"| aiosqlite (a thread hop) | {hop[0]:.1f} | {hop[1]:.1f} |")
    print(f"| sqlite3 inline (baseline) | {direct[0]:.1f} | {direct[1]:.1f} |")


if __name__ == "__main__":
    main()
