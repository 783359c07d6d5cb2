"""`carebot customers status [--at ISO-8601] [--json]`: every customer's stage and recency."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import TextIO

from bot.config import Settings
from bot.database import migrated_database
from bot.messenger import OfflineMessenger, rendered
from bot.outreach_cli import OffsetClock
from care.clock import Clock, SystemClock, iso
from care.ports import Text
from care.services import CareServices
from care.stages.status import CustomerStatus


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status` to the `customers` subcommands."""
    status = sub.add_parser("status", help="every customer's stage and recency, writing nothing")
    status.add_argument("--at", default=None, help="ISO-8601 moment with offset (default: now)")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """0, or 2 on a bad --at."""
    try:
        at = parse_at(args.at)
    except ValueError as exc:
        print(f"--at: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(show(settings, at, as_json=args.json))


def parse_at(text: str | None) -> datetime | None:
    """An ISO-8601 moment with its offset; ValueError without one."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not an ISO-8601 moment: {text!r} (e.g. 2026-11-22T10:00+00:00)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"needs a UTC offset, e.g. {text}+00:00")
    return moment


async def statuses(
    settings: Settings, at: datetime | None
) -> tuple[datetime, list[CustomerStatus]]:
    """Every customer as of `at` (default now), by the bot's own evaluation; writes nothing."""
    from bot.app import care_settings

    clock: Clock = SystemClock() if at is None else OffsetClock(at)
    async with migrated_database(settings.storage.path) as db:
        care = CareServices.build(db, clock, care_settings(settings), OfflineMessenger())
        moment = clock.now()
        return moment, await care.status.everyone(moment)


async def show(
    settings: Settings, at: datetime | None, *, as_json: bool, out: TextIO | None = None
) -> int:
    """Print the status of every customer, as a table or as one JSON object."""
    out = out or sys.stdout
    moment, found = await statuses(settings, at)
    lang = settings.locale.default_language
    if as_json:
        document = {"at": iso(moment), "customers": [c.as_json() for c in found]}
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        return 0
    for c in found:
        chance = "" if c.probability is None else f"{100 * c.probability:3.0f}%"
        reason = rendered(Text(c.reason.key or "", c.reason.values()), lang)
        out.write(
            f"{c.member_code:8} {c.stage:13} {c.recency:8} {chance:>4}"
            f" last {(c.last_purchase_at or '–')[:10]:10}"
            f" win-back {(c.winback_due_at or '–')[:16]:16} {reason}\n"
        )
    counts = {r: sum(1 for c in found if c.recency == r) for r in ("active", "at_risk", "lapsed")}
    out.write(
        f"{iso(moment)}: {len(found)} customers, {counts['active']} active,"
        f" {counts['at_risk']} at risk, {counts['lapsed']} lapsed\n"
    )
    return 0
