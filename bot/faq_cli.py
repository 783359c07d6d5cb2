"""`carebot faq import|export|ask|calibrate`: the FAQ from the command line, as the bot runs it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.config import Settings
from bot.database import migrated_database
from bot.messenger import OfflineMessenger
from care.clock import SystemClock
from care.faq.calibrate import Calibration
from care.faq.csv import export_faq, import_faq
from care.faq.results import Outcome
from care.faq.service import FaqService
from care.services import CareServices
from handlers.texts import t


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:  # type: ignore[type-arg]
    """Register `carebot faq …`."""
    faq = sub.add_parser("faq", help="import, export or try the FAQ")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    for name, help_text in (
        ("import", "upsert entries from a CSV file (id,question,alternates,answer)"),
        ("export", "write the entries of one language to a CSV file"),
    ):
        p = faq_sub.add_parser(name, help=help_text)
        p.add_argument("file")
        p.add_argument("--lang", choices=("en", "zh"), required=True)
        p.add_argument("--config", default=None, help=config_help)
    ask = faq_sub.add_parser(
        "ask", help="what the bot would answer (TEXT, or one query per stdin line)"
    )
    ask.add_argument("text", nargs="?")
    ask.add_argument("--lang", choices=("en", "zh"), default="en", help="the customer's language")
    ask.add_argument("--json", action="store_true", help="one JSON object per query")
    ask.add_argument("--config", default=None, help=config_help)
    cal = faq_sub.add_parser(
        "calibrate", help="the thresholds the bot answers this FAQ with, and how they were chosen"
    )
    cal.add_argument("--json", action="store_true", help="one JSON object")
    cal.add_argument("--config", default=None, help=config_help)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `carebot faq` subcommand (file and terminal I/O here, the work in `_run`)."""
    text = ""
    if args.faq_command == "import":
        try:
            text = Path(args.file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"cannot read {args.file}: {exc}", file=sys.stderr)
            return 1
    queries: list[str] = []
    if args.faq_command == "ask":
        queries = (
            [args.text] if args.text is not None else [line.rstrip("\n") for line in sys.stdin]
        )
    code, output = asyncio.run(_run(args, settings, text, queries))
    if args.faq_command == "export":
        try:
            Path(args.file).write_text(output, "utf-8")
        except OSError as exc:
            print(f"cannot write {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"exported {args.lang} entries to {args.file}")
    return code


async def _run(
    args: argparse.Namespace, settings: Settings, text: str, queries: list[str]
) -> tuple[int, str]:
    from bot.app import care_settings  # bot.app imports the handlers: only when run

    async with migrated_database(settings.storage.path) as db:
        clock = SystemClock()
        faq = CareServices.build(db, clock, care_settings(settings), OfflineMessenger()).faq
        if args.faq_command == "import":
            report = await import_faq(db, clock, faq, text, args.lang)
            for rejected in report.rejected:
                print(f"{args.file}:{rejected.line}: {rejected.reason}", file=sys.stderr)
            print(
                f"imported {report.imported} {args.lang} entries, rejected {len(report.rejected)}"
            )
            return (1 if report.rejected else 0), ""
        if args.faq_command == "export":
            return 0, await export_faq(db, args.lang)
        if args.faq_command == "calibrate":
            print(_calibration(await faq.calibration(), as_json=args.json))
            return 0, ""
        for query in queries:
            print(await _explain(faq, query, args.lang, as_json=args.json))
        return 0, ""


def _calibration(c: Calibration, *, as_json: bool) -> str:
    """What `carebot faq calibrate` prints: the thresholds in force and why."""
    if as_json:
        return json.dumps(c.as_dict(), ensure_ascii=False)
    th = c.thresholds
    lines = [
        f"{c.matcher} matcher: answer >= {th.answer:g} with a margin of >= {th.margin:g}, "
        f"suggest >= {th.suggest:g}",
        f"{'calibrated' if c.calibrated and c.applied else 'configured'}: {c.reason}",
    ]
    if c.in_scope and c.out_of_scope and c.answered_right:
        labelled = " and customers' labelled questions" if c.feedback_in else ""
        lines.append(
            f"{'' if c.applied else 'calibration '}on the held-out phrasings{labelled}: "
            f"{c.answered_right:g}% answered right "
            f"({c.answer_accuracy:g}% of answers right), {c.helped:g}% answered or suggested; "
            f"out of scope: {c.oos_answered:g}% answered, {c.oos_fallback:g}% plain fallback"
        )
    return "\n".join(lines)


async def _explain(faq: FaqService, query: str, lang: str, *, as_json: bool) -> str:
    """One line of JSON, or a readable decision with its why: the bot's decision, unrecorded."""
    result = await faq.answer(query, lang, asker=None)
    match = result.match
    if as_json:
        return json.dumps(
            {
                "query": query,
                "decision": result.outcome.value,
                "id": result.entry.entry_id if result.entry else None,
                "score": match.score if match else None,
                "suggestions": [row.entry_id for row in result.suggestions],
                "lang": result.lang,
                "matcher": await faq.matcher_in_use(),  # small talk included
            },
            ensure_ascii=False,
        )
    if result.outcome is Outcome.ANSWER and result.entry is not None:
        said = result.entry.answer
    elif result.outcome is Outcome.SMALL_TALK and result.small_talk is not None:
        said = t(result.small_talk, result.lang)
    else:
        said = "-"
    why = match.why if match else result.outcome.value
    if result.outcome is Outcome.COMPLAINT and match is not None:
        why = f"reads like a complaint (no outright answer); the matcher: {match.why}"
    return f"{query}\n  → {result.outcome.value}: {said}\n  why: {why}"
