"""`carebot campaign send FILE.toml [--dry-run] [--json]`, `carebot campaign status ID [--json]`.

`send` validates the file, writes the campaign and its outbox rows in one transaction and exits;
the running bot sends them. Exit 0 on success, 2 on a bad file or filter, 1 for an unknown id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tomllib
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.database import migrated_database
from bot.messenger import OfflineMessenger
from care.campaigns.results import CampaignStats, Preview, UnknownCampaign
from care.campaigns.spec import spec_from_mapping
from care.clock import SystemClock
from care.errors import CareError
from care.services import CareServices
from handlers.common import error_text


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `send` and `status` to the `campaign` parser."""
    sub = parser.add_subparsers(dest="campaign_command", required=True)
    send = sub.add_parser("send", help="validate a campaign file and queue its messages")
    send.add_argument("file", help="the campaign TOML (name, segment, at, [text] en/zh)")
    send.add_argument("--dry-run", action="store_true", help="write nothing; print the counts")
    status = sub.add_parser("status", help="queued, sent, failed and skipped messages")
    status.add_argument("id", type=int)
    for p in (send, status):
        p.add_argument("--json", action="store_true", help="one JSON object")
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Run the chosen subcommand."""
    out = out or sys.stdout
    if args.campaign_command == "send":
        path = Path(args.file)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            return 2
        return asyncio.run(send(settings, path, text, args.dry_run, args.json, out))
    return asyncio.run(status(settings, args.id, args.json, out))


async def send(
    settings: Settings, path: Path, text: str, dry_run: bool, as_json: bool, out: TextIO
) -> int:
    """Queue (or with `dry_run` only count) the campaign the file's `text` describes."""
    from bot.app import care_settings

    try:
        spec = spec_from_mapping(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    except CareError as exc:
        print(f"error: {path}: {error_text(exc, 'en')}", file=sys.stderr)
        return 2
    async with migrated_database(settings.storage.path) as db:
        care = CareServices.build(db, SystemClock(), care_settings(settings), OfflineMessenger())
        try:
            preview = await care.campaigns.send_spec(spec, dry_run=dry_run)
        except CareError as exc:
            print(f"error: {path}: {error_text(exc, 'en')}", file=sys.stderr)
            return 2
    out.write(json.dumps(preview.as_json()) + "\n" if as_json else _summary(preview, dry_run))
    return 0


async def status(settings: Settings, campaign_id: int, as_json: bool, out: TextIO) -> int:
    """Print where the campaign's messages stand."""
    from bot.app import care_settings

    async with migrated_database(settings.storage.path) as db:
        care = CareServices.build(db, SystemClock(), care_settings(settings), OfflineMessenger())
        try:
            stats = await care.campaigns.status(campaign_id)
        except UnknownCampaign:
            print(f"error: no campaign {campaign_id}", file=sys.stderr)
            return 1
    out.write(json.dumps(stats.as_json()) + "\n" if as_json else _status_line(stats))
    return 0


def _summary(p: Preview, dry_run: bool) -> str:
    excluded = ", ".join(f"{reason} {n}" for reason, n in p.excluded.items()) or "none"
    head = "dry run" if dry_run else f"campaign {p.campaign_id} queued"
    missing = f"; no text in {', '.join(p.missing)} (default used)" if p.missing else ""
    held = f"; {p.quiet_hours} held past quiet hours" if p.quiet_hours else ""
    return f"{head}: {p.recipients} recipients; excluded: {excluded}{held}{missing}\n"


def _status_line(s: CampaignStats) -> str:
    return (
        f"campaign {s.campaign_id} {s.name} ({s.status}): queued {s.queued}, sent {s.sent},"
        f" failed {s.failed}, skipped {s.skipped}\n"
    )
