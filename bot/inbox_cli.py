"""`carebot inbox`: the updates set aside after failing, and putting one back."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict

from bot.config import Settings
from bot.database import migrated_database
from care.clock import SystemClock
from care.inbox import Inbox


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `carebot inbox`."""
    parser.add_argument("--retry", type=int, metavar="ID", help="handle this parked update again")
    parser.add_argument("--json", action="store_true", help="one JSON object per parked update")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """List parked updates (exit 1 if there are any), or put one back with --retry."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with migrated_database(settings.storage.path) as db:
        inbox = Inbox(db, SystemClock())
        if args.retry is not None:
            if not await inbox.retry(args.retry):
                print(f"update {args.retry} is not parked")
                return 2
            print(f"update {args.retry} will be handled again when the bot next starts")
            return 0
        parked = await inbox.parked()
        counts = await inbox.counts()
    if args.json:
        for row in parked:
            print(json.dumps(asdict(row), ensure_ascii=False))
        return 1 if parked else 0
    print(
        f"inbox: {counts.get('pending', 0)} pending, {counts.get('done', 0)} done,"
        f" {len(parked)} parked"
    )
    for row in parked:
        print(
            f"  {row.update_id}  {row.received_at[:19]}  {row.chat_key}  attempts={row.attempts}"
            f"  {row.summary}\n      error: {row.error or '-'}"
        )
    if parked:
        print("retry one with: carebot inbox --retry ID")
    return 1 if parked else 0
