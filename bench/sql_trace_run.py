"""Run the `carebot` command with every SQLite statement written to a file, for the benches.

Run: .venv/bin/python bench/sql_trace_run.py TRACE_FILE run --config FILE

Each line of TRACE_FILE is `<unix time> <statement>`, from `sqlite3`'s trace callback installed
on every connection the process opens (aiosqlite opens them with `sqlite3.connect`), so the bot's
own code is unchanged. bench/throughput_bench.py uses it to count transactions per update.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any


def main() -> int:
    """Install the trace, then hand the remaining arguments to `carebot`."""
    trace = open(sys.argv[1], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - process-long
    connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(
            lambda sql: trace.write(f"{time.time():.6f} {' '.join(sql.split())}\n")
        )
        return conn

    sqlite3.connect = traced_connect  # type: ignore[assignment]
    from bot.cli import main as carebot

    return carebot(sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
