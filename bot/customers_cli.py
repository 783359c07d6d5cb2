"""`carebot customers import FILE.csv [--dry-run]`, `export FILE.csv`, and a customer's data
rights: `erase <customer> [--json]` and `export-one <customer>` (JSON)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot import status_cli
from bot.config import Settings
from bot.database import migrated_database
from care.clock import SystemClock
from care.customer_import import COLUMNS, CustomerTransfer, ImportReport, unknown_columns
from care.customers import CustomerService
from care.errors import UnknownCustomer
from storage.db import Database

BAR_WIDTH = 30


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the import and export subcommands to the `customers` parser."""
    sub = parser.add_subparsers(dest="customers_command", required=True)
    imp = sub.add_parser("import", help="import customers from a CSV file (header row first)")
    imp.add_argument("file", help=f"CSV with any of the columns: {', '.join(COLUMNS)}")
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    exp = sub.add_parser("export", help="export every customer to a CSV file")
    exp.add_argument("file")
    erase = sub.add_parser(
        "erase", help="erase a customer's personal data from every table (as /forget does)"
    )
    erase.add_argument("customer", help="member code, @username, Telegram id or phone")
    erase.add_argument("--json", action="store_true", help="one JSON object on stdout")
    one = sub.add_parser("export-one", help="everything stored about one customer, as JSON")
    one.add_argument("customer", help="member code, @username, Telegram id or phone")
    for p in (imp, exp, erase, one):  # --config may also follow the subcommand
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    status_cli.configure(sub)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen subcommand; 0 on success, 1 if rows were rejected, 2 on a bad file."""
    if args.customers_command == "status":
        return status_cli.run(args, settings)
    if args.customers_command == "import":
        return asyncio.run(import_file(settings, Path(args.file), dry_run=args.dry_run))
    if args.customers_command == "erase":
        return asyncio.run(erase_customer(settings, args.customer, as_json=args.json))
    if args.customers_command == "export-one":
        return asyncio.run(export_one(settings, args.customer))
    return asyncio.run(export_file(settings, Path(args.file)))


def _service(db: Database, settings: Settings) -> CustomerService:
    return CustomerService(db, SystemClock(), settings.locale, settings.business.name)


async def erase_customer(settings: Settings, reference: str, *, as_json: bool) -> int:
    """Erase one customer everywhere; 1 if no such customer (or already erased)."""
    async with migrated_database(settings.storage.path) as db:
        try:
            erasure = await _service(db, settings).erase(reference)
        except UnknownCustomer:
            print(f"no customer {reference!r} (or already erased)", file=sys.stderr)
            return 1
    if as_json:
        print(json.dumps({"customer_id": erasure.customer_id, "changed": erasure.changed}))
    else:
        rows = ", ".join(f"{table} {n}" for table, n in sorted(erasure.changed.items()))
        print(f"customer #{erasure.customer_id} erased; rows changed: {rows}")
    return 0


async def export_one(settings: Settings, reference: str) -> int:
    """Print everything stored about one customer as one JSON object; 1 if no such customer."""
    async with migrated_database(settings.storage.path) as db:
        try:
            found = await _service(db, settings).export_one(reference)
        except UnknownCustomer:
            print(f"no customer {reference!r} (or already erased)", file=sys.stderr)
            return 1
    print(json.dumps(found, ensure_ascii=False, indent=2))
    return 0


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


@dataclass(frozen=True, slots=True)
class CsvRows:
    """A customer CSV as read: the header, (row number, cells) pairs and where each row starts."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    lines: dict[int, int]  # row number -> its first line in the file (a quoted cell may span more)


def read_rows(path: Path) -> CsvRows:
    """Read the file; rows are numbered as a spreadsheet shows them (the header is row 1)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows: list[tuple[int, dict[str, str]]] = []
        lines: dict[int, int] = {}
        start = reader.line_num + 1
        for number, record in enumerate(reader, start=2):
            lines[number], start = start, reader.line_num + 1
            if record:  # a blank line is an empty row
                rows.append((number, dict(zip(header, record, strict=False))))
        return CsvRows(header, rows, lines)


async def import_file(settings: Settings, path: Path, *, dry_run: bool) -> int:
    """Import a CSV file and print the report."""
    try:
        csv_rows = read_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    unknown = unknown_columns(csv_rows.header)
    if unknown or not {"telegram_id", "phone"} & set(csv_rows.header):
        print(
            f"{path}: the header must name telegram_id and/or phone, and only these columns:"
            f" {', '.join(COLUMNS)} (unknown: {', '.join(unknown) or 'none'})",
            file=sys.stderr,
        )
        return 2
    async with migrated_database(settings.storage.path) as db:
        transfer = CustomerTransfer(db, SystemClock(), settings.locale)
        report = await transfer.import_rows(
            csv_rows.rows, dry_run=dry_run, progress=ProgressBar(sys.stderr)
        )
    print_report(path, report, csv_rows.lines)
    return 1 if report.rejected else 0


def print_report(path: Path, report: ImportReport, lines: dict[int, int]) -> None:
    """The summary on stdout, each rejected row on stderr as `FILE:LINE: row N: reason`."""
    for rejected in report.rejected:
        line = lines.get(rejected.row, rejected.row)
        print(f"{path}:{line}: row {rejected.row}: {rejected.reason}", file=sys.stderr)
    suffix = " (dry run: nothing was written)" if report.dry_run else ""
    print(
        f"{path}: created {report.created}, updated {report.updated},"
        f" unchanged {report.unchanged}, rejected {len(report.rejected)}{suffix}"
    )


async def export_file(settings: Settings, path: Path) -> int:
    """Write every customer to a CSV file that `customers import` reads back unchanged.

    Cells that start like a formula carry a leading `'` (care/csv_cells.py), so a spreadsheet
    opens them as text.
    """
    async with migrated_database(settings.storage.path) as db:
        rows = await CustomerTransfer(db, SystemClock(), settings.locale).export_rows()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{path}: exported {len(rows)} customers")
    return 0
