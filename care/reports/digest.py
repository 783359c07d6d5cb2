"""The weekly digest's words: the three numbers that moved most, as a catalogue message."""

from __future__ import annotations

from care.ports import Label, OutboundMessage
from care.reports.measures import Report


def digest_message(chat_id: int, lang: str, report: Report, week: str) -> OutboundMessage:
    """The weekly digest for one owner: the three numbers that moved most, or 'no data yet'."""
    if report.empty or not report.movers:
        key = "reports.digest_empty" if report.empty else "reports.digest_still"
        return OutboundMessage(chat_id, key, lang, {"week": week})
    fields: dict[str, object] = {"week": week}
    for i, mover in enumerate(report.movers, start=1):
        rose = mover.now > mover.before
        fields[f"name{i}"] = Label(f"reports.measure.{mover.name}", mover.name)
        fields[f"dir{i}"] = Label("reports.rose" if rose else "reports.fell", "")
        fields[f"now{i}"] = format_value(mover.name, mover.now)
        fields[f"was{i}"] = format_value(mover.name, mover.before)
    return OutboundMessage(chat_id, f"reports.digest_{len(report.movers)}", lang, fields)


def format_value(name: str, value: float) -> str:
    """A headline number as people read it: money with two decimals, averages with one."""
    if name == "spend_cents":
        return f"{value / 100:,.2f}"
    if name == "csat_average":
        return f"{value:.1f}"
    return f"{int(value):,}"
