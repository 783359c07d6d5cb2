"""How long a customer waits for the menu after /start, through the real Application and sandbox.

Run: .venv/bin/python bench/start_latency.py [--users 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.app import build_application, start_embedded, stop_embedded
from bot.config import settings_from_mapping
from sandbox import Sandbox


async def measure(users: int) -> None:
    """Send /start from `users` new customers one after another; print reply latency."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Sandbox() as sandbox:
            settings = settings_from_mapping(
                {
                    "telegram": {
                        "token": sandbox.token,
                        "base_url": sandbox.base_url,
                        "poll_timeout": 10,
                    },
                    "storage": {"path": str(Path(tmp) / "bench.sqlite3")},
                },
                environ={},
            )
            app = build_application(settings)
            await start_embedded(app, poll_timeout=10)
            try:
                for lang in ("en", "zh"):
                    waits = []
                    for i in range(users):
                        user = sandbox.create_user(f"U{i}", language_code=lang)
                        started = time.perf_counter()
                        await user.send("/start")
                        await user.next_message(timeout=10)
                        waits.append((time.perf_counter() - started) * 1000)
                    waits.sort()
                    p50 = statistics.median(waits)
                    p99 = waits[int(len(waits) * 0.99) - 1]
                    print(
                        f"/start → menu ({lang}, new customer, {users} users): "
                        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {waits[-1]:.1f} ms"
                    )
            finally:
                await stop_embedded(app)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    asyncio.run(measure(parser.parse_args().users))


if __name__ == "__main__":
    main()
