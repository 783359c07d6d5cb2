"""`carebot customers import FILE.csv [--dry-run]` and `carebot customers export FILE.csv`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.database import migrated_database
from care.clock import SystemClock
from care.customer_import import COLUMNS, CustomerTransfer, ImportReport, unknown_columns

BAR_WIDTH = 30


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the import and export subcommands to the `customers` parser."""
    sub = parser.add_subparsers(dest="customers_command", required=True)
    imp = sub.add_parser("import", help="import customers from a CSV file (header row first)")
    imp.add_argument("file", help=f"CSV with any of the columns: {', '.join(COLUMNS)}")
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    exp = sub.add_parser("export", help="export every customer to a CSV file")
    exp.add_argument("file")
    for p in (imp, exp):  # --config may also follow the subcommand
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen subcommand; 0 on success, 1 if rows were rejected, 2 on a bad file."""
    if args.customers_command == "import":
        return asyncio.run(import_file(settings, Path(args.file), dry_run=args.dry_run))
    return asyncio.run(export_file(settings, Path(args.file)))


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most every percent."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self._shown = stream, -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent == self._shown and done != total:
            return
        self._shown = percent
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self._stream.write(f"\r[{bar}] {percent:3d}% {done}/{total} rows")
        if done == total:
            self._stream.write("\n")
        self._stream.flush()


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and (row number, cells) pairs; the header is row 1."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        return header, [(number, row) for number, row in enumerate(reader, start=2)]


async def import_file(settings: Settings, path: Path, *, dry_run: bool) -> int:
    """Import a CSV file and print the report."""
    try:
        header, rows = read_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    unknown = unknown_columns(header)
    if unknown or not {"telegram_id", "phone"} & set(header):
        print(
            f"{path}: the header must name telegram_id and/or phone, and only these columns:"
            f" {', '.join(COLUMNS)} (unknown: {', '.join(unknown) or 'none'})",
            file=sys.stderr,
        )
        return 2
    async with migrated_database(settings.storage.path) as db:
        transfer = CustomerTransfer(db, SystemClock(), settings.locale)
        report = await transfer.import_rows(
            rows, dry_run=dry_run, progress=ProgressBar(sys.stderr)
        )
    print_report(path, report)
    return 1 if report.rejected else 0


def print_report(path: Path, report: ImportReport) -> None:
    """The summary on stdout, each rejected row on stderr."""
    for rejected in report.rejected:
        print(f"{path}: row {rejected.row}: {rejected.reason}", file=sys.stderr)
    suffix = " (dry run: nothing was written)" if report.dry_run else ""
    print(
        f"{path}: created {report.created}, updated {report.updated},"
        f" unchanged {report.unchanged}, rejected {len(report.rejected)}{suffix}"
    )


async def export_file(settings: Settings, path: Path) -> int:
    """Write every customer to a CSV file that `customers import` reads back unchanged."""
    async with migrated_database(settings.storage.path) as db:
        rows = await CustomerTransfer(db, SystemClock(), settings.locale).export_rows()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{path}: exported {len(rows)} customers")
    return 0
