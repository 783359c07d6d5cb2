"""`carebot purchases import FILE.csv [--dry-run] [--earn]`: purchase history in."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path

from bot.config import Settings
from bot.customers_cli import ProgressBar, read_rows
from bot.database import migrated_database
from bot.messenger import OfflineMessenger
from care.clock import Clock, SystemClock
from care.purchase_import import COLUMNS, PurchaseImport, PurchaseReport, missing_columns
from care.services import CareServices


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the import subcommand to the `purchases` parser."""
    sub = parser.add_subparsers(dest="purchases_command", required=True)
    imp = sub.add_parser("import", help="import purchase history from a CSV file")
    imp.add_argument("file", help=f"CSV with the header {','.join(COLUMNS)}")
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imp.add_argument("--earn", action="store_true", help="also give the points a live earn would")
    imp.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """0 on success, 1 if rows were rejected, 2 on a file that cannot be read."""
    return asyncio.run(
        import_file(settings, Path(args.file), dry_run=args.dry_run, earn=args.earn)
    )


async def import_file(
    settings: Settings,
    path: Path,
    *,
    dry_run: bool = False,
    earn: bool = False,
    clock: Clock | None = None,
    quiet: bool = False,
) -> int:
    """Import a purchases CSV and print the report (`clock`: the moment the import runs at)."""
    from bot.app import care_settings

    try:
        csv_rows = read_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    missing = missing_columns(csv_rows.header)
    if missing:
        print(
            f"{path}: the header must be {','.join(COLUMNS)} (missing: {', '.join(missing)})",
            file=sys.stderr,
        )
        return 2
    async with migrated_database(settings.storage.path) as db:
        care = CareServices.build(
            db, clock or SystemClock(), care_settings(settings), OfflineMessenger()
        )
        importer = PurchaseImport(db, care.clock, care.settings.locale, care.stages, care.loyalty)
        report = await importer.import_rows(
            csv_rows.rows,
            dry_run=dry_run,
            earn=earn,
            progress=None if quiet else ProgressBar(sys.stderr),
        )
    print_report(path, report, csv_rows.lines, quiet=quiet)
    return 1 if report.rejected else 0


def print_report(
    path: Path, report: PurchaseReport, lines: dict[int, int], *, quiet: bool = False
) -> None:
    """Each rejected row on stderr as `FILE:LINE: row N: reason`, the summary on stdout."""
    for rejected in report.rejected:
        line = lines.get(rejected.row, rejected.row)
        print(f"{path}:{line}: row {rejected.row}: {rejected.reason}", file=sys.stderr)
    if quiet:
        return
    points = f", {report.points} points" if report.earn else " (no points: --earn not given)"
    suffix = " (dry run: nothing was written)" if report.dry_run else ""
    print(
        f"{path}: recorded {report.recorded} purchases for {report.customers} customers{points},"
        f" already imported {report.already}, rejected {len(report.rejected)},"
        f" stages changed {report.stages_changed}{suffix}"
    )
