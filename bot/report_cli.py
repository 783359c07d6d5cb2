"""`carebot report`: the owner's report as one self-contained HTML file, or as JSON."""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import json
import sys
from datetime import timedelta
from pathlib import Path

from bot.app import care_settings
from bot.config import Settings
from bot.database import migrated_database
from bot.messenger import OfflineMessenger
from care.clock import SystemClock
from care.errors import InvalidArgument
from care.reports.measures import Report
from care.services import CareServices
from handlers import report_charts
from handlers.chart_kit import Chart
from handlers.texts import label, t
from storage.reports import CustomerValue

DEFAULT_DAYS = 7


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `carebot report`."""
    parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (default: a week ago)")
    parser.add_argument(
        "--to", dest="last", help="last day, YYYY-MM-DD, included (default: today)"
    )
    parser.add_argument("--out", help="write the HTML report to this file")
    parser.add_argument("--lang", choices=("en", "zh"), default=None, help="the report's language")
    parser.add_argument("--json", action="store_true", help="print the measures as one object")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Compute the report; write the HTML file and/or print the JSON (exit 2 on bad dates)."""
    if not args.out and not args.json:
        print("report: give --out FILE, --json, or both", file=sys.stderr)
        return 2
    clock = SystemClock()
    today = clock.now().astimezone(settings.locale.zone).date()
    last = args.last or today.isoformat()
    first = args.first or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    try:
        report = asyncio.run(_compute(settings, first, last))
    except InvalidArgument:
        print(f"report: not a pair of dates: --from {first} --to {last}", file=sys.stderr)
        return 2
    if args.out:
        lang = args.lang or settings.locale.default_language
        charts = report_charts.render(report, lang)
        Path(args.out).write_text(html_report(report, charts, lang, first, last), "utf-8")
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(f"report: wrote {args.out} ({len(charts)} charts)")
    return 0


async def _compute(settings: Settings, first: str, last: str) -> Report:
    async with migrated_database(settings.storage.path) as db:
        care = CareServices.build(db, SystemClock(), care_settings(settings), OfflineMessenger())
        return await care.reports.report(care.reports.dates(first, last))


STYLE = """
body { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; margin: 2em auto;
       max-width: 1200px; color: #203040; }
h1 { font-size: 2em; margin-bottom: 0; } .period { color: #607080; margin-top: .2em; }
section { page-break-inside: avoid; break-inside: avoid; margin: 2em 0; }
img { width: 100%; max-width: 1200px; height: auto; border: 1px solid #e0e6ea; }
table { border-collapse: collapse; margin-top: .6em; font-size: 1.05em; }
td, th { border: 1px solid #d0d8de; padding: .3em .8em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
@media print { body { margin: 0; } section { margin: 1em 0; } }
"""


def html_report(report: Report, charts: list[Chart], lang: str, first: str, last: str) -> str:
    """One printable HTML page: every chart embedded as a data URI, its table under it."""
    title = t("reports.html_title", lang)
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="period">{html.escape(t("reports.period", lang, start=first, end=last))}</p>',
        f"<p>{html.escape(report_charts.summary(report, lang)).replace(chr(10), '<br>')}</p>",
    ]
    for chart in charts:
        data = base64.b64encode(chart.png).decode("ascii")
        parts.append(
            f"<section><h2>{html.escape(chart.title)}</h2>"
            f'<img alt="{html.escape(chart.title)}" src="data:image/png;base64,{data}">'
            f"{_table(chart.table)}</section>"
        )
    parts.append(_customers(t("reports.top_customers", lang), report.top_customers, lang))
    total = f"{report.at_risk_value_cents / 100:,.2f}"
    at_risk = t("reports.at_risk_top", lang, total=total)
    parts.append(_customers(at_risk, report.at_risk_top, lang))
    questions: list[tuple[str, ...]] = [
        (t("reports.col.question", lang), t("reports.col.count", lang))
    ]
    questions += [(question, str(count)) for question, count in report.faq.top_unanswered]
    parts.append(
        f"<section><h2>{html.escape(t('reports.top_unanswered', lang))}</h2>"
        f"{_table(questions)}</section>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _customers(heading: str, rows: list[CustomerValue], lang: str) -> str:
    table: list[tuple[str, ...]] = [
        tuple(t(f"reports.col.{c}", lang) for c in ("customer", "stage", "spend", "visits"))
    ]
    for row in rows:
        table.append(
            (
                row.name or row.member_code,
                label(f"stages.{row.stage}", row.stage, lang),
                f"{row.spend_cents / 100:,.2f}",
                str(row.visits),
            )
        )
    return f"<section><h2>{html.escape(heading)}</h2>{_table(table)}</section>"


def _table(rows: list[tuple[str, ...]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
