"""A campaign to 10,000 customers through the sandbox: planning, pace, memory, a kill -9.

Run: .venv/bin/python bench/campaign_bench.py [--customers 10000] [--rate 25] [--kill-at 0.5]
                                             [--plan-only]

1. A database of N customers (every tenth Chinese-speaking, eight time zones, a fiftieth opted
   out, a ninety-seventh unreachable) is written with sqlite3 (set-up, not measured).
2. Planning, measured in this process: the dry run (`carebot campaign send --dry-run`'s code
   path) and the real send (`carebot campaign send`: the segment evaluated, every recipient's
   outbox row written in one transaction); wall time and this process's peak RSS.
3. Sending: `python -m bot run` (a subprocess, as shipped: AIORateLimiter, the outbox's pacer at
   `[outreach] send_rate = --rate`) against the sandbox with Telegram's limits enforced (1/s per
   chat, 30/s overall: a send above them is a 429). When `--kill-at` of the recipients have their
   message, the bot gets SIGKILL and is started again; it finishes the rest.
4. Figures: the send rate against the configured one (first process, first to last send), 429s,
   the bot's peak RSS, and from the sandbox's record of what each chat received: duplicates and
   messages never sent (a send the kill interrupted is never repeated: it is counted lost if the
   sandbox did not get it).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from e2e_support import BotProcess, Sandbox, ledger_rows, write_config

from care.campaigns.spec import CampaignSpec
from care.clock import SystemClock, iso
from care.services import CareServices
from care.settings import CareSettings, OutreachSettings
from storage.db import Database
from storage.migrate import migrate

FIRST_ID = 1_000_000_000
ZONES = ("UTC", "Europe/London", "Asia/Shanghai", "America/New_York", "Asia/Tokyo",
         "Europe/Berlin", "Australia/Sydney", "America/Los_Angeles")  # fmt: skip
TEXTS = {"en": "Our autumn menu is here: pumpkin latte and apple cake.",
         "zh": "秋季菜单上新了：南瓜拿铁和苹果蛋糕。"}  # fmt: skip
NO_QUIET = 'quiet_start = "00:00"\nquiet_end = "00:00"\n'  # start == end: no quiet hours


class Offline:
    """Planning sends nothing."""

    async def send(self, message: object) -> object:
        """Never called: planning only writes the outbox."""
        raise AssertionError("planning must not send")


async def generate(path: Path, customers: int) -> None:
    """The customer base (sync sqlite3 after migrating: set-up, not what is measured)."""
    db = await Database.open(path)
    await migrate(db)
    await db.close()
    now = iso(datetime.now(UTC))
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO customers (id, telegram_id, name, language, timezone, stage, stage_since,"
        " opted_out, reachable, member_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (i, FIRST_ID + i, f"Customer {i}", "zh" if i % 10 == 0 else "en",
             ZONES[i % len(ZONES)], "engaged" if i % 3 else "aware", now, int(i % 50 == 0),
             int(i % 97 != 0), f"M{i:07d}", now)
            for i in range(1, customers + 1)
        ],
    )  # fmt: skip
    conn.commit()
    conn.close()


async def plan(path: Path, rate: float) -> tuple[float, float, int, dict[str, int], int]:
    """Dry run and real send; (dry s, send s, recipients, excluded, campaign id)."""
    db = await Database.open(path)
    outreach = OutreachSettings(send_rate=rate, quiet_start="00:00", quiet_end="00:00")
    care = CareServices.build(db, SystemClock(), CareSettings(outreach=outreach), Offline())  # type: ignore[arg-type]
    spec = CampaignSpec("autumn-menu", "stage>=aware", TEXTS)
    started = time.perf_counter()
    await care.campaigns.send_spec(spec, dry_run=True)
    dry = time.perf_counter() - started
    started = time.perf_counter()
    preview = await care.campaigns.send_spec(spec, dry_run=False)
    real = time.perf_counter() - started
    await db.close()
    assert preview.campaign_id is not None
    return dry, real, preview.recipients, preview.excluded, preview.campaign_id


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="carebot-campaign-") as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        await generate(db_path, args.customers)
        dry, real, recipients, excluded, campaign_id = await plan(db_path, args.rate)
        peak_plan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"customers: {args.customers:,}")
        print(f"plan, dry run: {dry:.2f} s; send (segment + {recipients:,} outbox rows, one"
              f" transaction): {real:.2f} s; excluded {excluded}")  # fmt: skip
        print(f"peak RSS of the planning process (sandbox not started yet): {peak_plan:.0f} MiB")
        if args.plan_only:
            return
        async with Sandbox() as sandbox:
            users = [
                sandbox.create_user(f"Customer {i}", user_id=FIRST_ID + i, started=True)
                for i in range(1, args.customers + 1)
            ]
            sandbox.enforce_limits(per_chat_per_second=1.0, global_per_second=30.0)
            extra = f"[outreach]\nsend_rate = {args.rate}\n{NO_QUIET}"
            config = write_config(Path(tmp) / "bot.toml", sandbox, db_path, extra=extra)
            bot = BotProcess.carebot(config, Path(tmp) / "bot.log")
            await bot.start(sandbox)
            kill_after = int(recipients * args.kill_at)
            samples: list[tuple[float, int]] = []
            peak_rss = 0
            while True:
                sent = sandbox.stats.get("sent", 0)
                samples.append((time.monotonic(), sent))
                peak_rss = max(peak_rss, bot.rss_kib() or 0)
                if sent >= kill_after or not bot.alive:
                    break
                await asyncio.sleep(0.05)
            bot.kill()
            await bot.wait()
            first_part = [s for s in samples if s[1] > 0]
            t0, n0 = first_part[0]
            t1, n1 = first_part[-1]
            rate1 = (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")
            limited_before = sandbox.stats.get("rate_limited", 0)
            print(f"killed with SIGKILL after {n1:,} sends")
            await bot.start(sandbox)
            restarted = time.monotonic()
            base = sandbox.stats.get("sent", 0)
            while True:
                peak_rss = max(peak_rss, bot.rss_kib() or 0)
                status = ledger_rows(db_path, "SELECT status FROM campaigns WHERE id = ?",
                                     (campaign_id,))[0][0]  # fmt: skip
                if status == "done" or not bot.alive:
                    break
                await asyncio.sleep(0.5)
            rate2 = (sandbox.stats.get("sent", 0) - base) / (time.monotonic() - restarted)
            await bot.stop()
            received = [
                sum(1 for m in user.inbox() if (m.text or m.caption) in TEXTS.values())
                for user in users
            ]
            due = {
                int(chat) - FIRST_ID
                for (chat,) in ledger_rows(
                    db_path, "SELECT chat_id FROM outbox WHERE kind = 'campaign' AND ref = ?",
                    (str(campaign_id),))
            }  # fmt: skip
            duplicates = sum(max(0, n - 1) for n in received)
            lost = sum(1 for i in due if received[i - 1] == 0)
            strangers = sum(1 for i, n in enumerate(received, start=1) if n and i not in due)
            outcome = dict(ledger_rows(
                db_path, "SELECT status, COUNT(*) FROM outbox WHERE kind = 'campaign'"
                " GROUP BY status"))  # fmt: skip
            print(f"send rate, first process: {rate1:.2f} msg/s, configured {args.rate:g}/s"
                  f" ({100 * rate1 / args.rate:.1f}%); after the restart {rate2:.2f} msg/s"
                  " (includes start-up)")  # fmt: skip
            print(f"429 responses: {sandbox.stats.get('rate_limited', 0)}"
                  f" ({limited_before} before the kill)")  # fmt: skip
            print(f"peak RSS of the bot process: {peak_rss / 1024:.0f} MiB")
            print(f"recipients {len(due):,}: duplicates {duplicates}, never sent {lost},"
                  f" sent to someone not a recipient {strangers}; outbox {outcome}")  # fmt: skip
            print("targets: planning 10,000 < 2 s; rate >= 95% of configured with 0 x 429;"
                  " 0 duplicates, 0 lost")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="[outreach] send_rate")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share sent before SIGKILL")
    parser.add_argument("--plan-only", action="store_true", help="measure planning, send nothing")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
