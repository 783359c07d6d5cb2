"""The report as pictures: one PNG per idea, labelled from the catalogue in the reader's language.

Rendering is CPU work (about a tenth of a second a chart): callers run `render` in a thread
(`asyncio.to_thread`), never on the event loop. The drawing itself is in `handlers.chart_kit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from care.reports.digest import format_value
from care.reports.measures import RFM_FREQUENCY, RFM_RECENCY_DAYS, Report
from care.settings import STAGES
from handlers import chart_kit as kit
from handlers.texts import label, t, tier_label

ALBUM = ("funnel", "recency", "csat", "service", "faq", "points")
CHARTS = (
    "funnel",
    "recency",
    "value",
    "rfm",
    "csat",
    "csat_trend",
    "service",
    "faq",
    "points",
    "tiers",
    "outreach",
)


def render(report: Report, lang: str, names: Sequence[str] = CHARTS) -> list[kit.Chart]:
    """Draw the named charts of `report` with labels in `lang` (blocking: run in a thread)."""
    kit.font_family()
    builders: dict[str, Callable[[Report, str], kit.Chart]] = {
        "funnel": _funnel,
        "recency": _recency,
        "value": _value,
        "rfm": _rfm,
        "csat": _csat,
        "csat_trend": _csat_trend,
        "service": _service,
        "faq": _faq,
        "points": _points,
        "tiers": _tiers,
        "outreach": _outreach,
    }
    return [builders[name](report, lang) for name in names]


def summary(report: Report, lang: str) -> str:
    """The album's caption: the period, its size, and the three numbers that moved most."""
    if report.empty:
        return t("reports.summary_empty", lang)
    lines = [
        t(
            "reports.summary_header",
            lang,
            start=report.period.start.date().isoformat(),
            end=report.period.end.date().isoformat(),
            customers=report.totals.customers,
            purchases=report.totals.purchases,
        )
    ]
    for mover in report.movers:
        lines.append(
            t(
                "reports.mover",
                lang,
                name=t(f"reports.measure.{mover.name}", lang),
                dir=t("reports.rose" if mover.now > mover.before else "reports.fell", lang),
                was=format_value(mover.name, mover.before),
                now=format_value(mover.name, mover.now),
            )
        )
    if not report.movers:
        lines.append(t("reports.movers_none", lang))
    return "\n".join(lines)


# ---------------------------------------------------------------------- the charts


def _stage(stage: str, lang: str) -> str:
    return label(f"stages.{stage}", stage, lang)


def _funnel(report: Report, lang: str) -> kit.Chart:
    return kit.bar_chart(
        "funnel",
        lang,
        kit.Bars(
            t("reports.chart.funnel", lang),
            t("reports.axis.customers", lang),
            [_stage(s, lang) for s in STAGES],
            [
                (t("reports.label.now", lang), [report.customers_by_stage[s] for s in STAGES]),
                (
                    t("reports.label.before", lang),
                    [report.previous_by_stage[s] for s in STAGES],
                ),
            ],
            note=t("reports.moves", lang, **_moves(report)),
        ),
        empty=report.empty,
    )


def _moves(report: Report) -> dict[str, int]:
    moves = report.moves
    return {
        "up": moves.up,
        "down": moves.down,
        "lapsed": moves.lapsed,
        "came_back": moves.came_back,
    }


def _recency(report: Report, lang: str) -> kit.Chart:
    statuses = ("active", "at_risk", "lapsed")
    return kit.bar_chart(
        "recency",
        lang,
        kit.Bars(
            t("reports.chart.recency", lang),
            t("reports.axis.customers", lang),
            [t(f"reports.recency.{s}", lang) for s in statuses],
            [(t("reports.label.now", lang), [report.recency[s] for s in statuses])],
        ),
    )


def _value(report: Report, lang: str) -> kit.Chart:
    spend = [report.value_by_stage.get(s, (0, 0, 0))[1] / 100 for s in STAGES]
    return kit.bar_chart(
        "value",
        lang,
        kit.Bars(
            t("reports.chart.value", lang),
            t("reports.axis.spend", lang),
            [_stage(s, lang) for s in STAGES],
            [(t("reports.label.now", lang), spend)],
            money=True,
        ),
    )


def _rfm_labels() -> tuple[list[str], list[str]]:
    bounds = (0, *RFM_RECENCY_DAYS)
    recency = [f"{lo + 1 if lo else 0}–{hi}" for lo, hi in zip(bounds, bounds[1:], strict=False)]
    recency.append(f">{RFM_RECENCY_DAYS[-1]}")
    frequency = [
        str(lo) if hi == lo + 1 else f"{lo}–{hi - 1}"
        for lo, hi in zip(RFM_FREQUENCY, RFM_FREQUENCY[1:], strict=False)
    ]
    frequency.append(f"{RFM_FREQUENCY[-1]}+")
    return recency, frequency


def _rfm(report: Report, lang: str) -> kit.Chart:
    recency, frequency = _rfm_labels()
    grid = [[0] * len(recency) for _ in frequency]
    spend = [[0] * len(recency) for _ in frequency]
    for cell in report.rfm:
        grid[cell.frequency][cell.recency] = cell.customers
        spend[cell.frequency][cell.recency] = cell.spend_cents
    title = t("reports.chart.rfm", lang)
    header = (t("reports.axis.purchases_12m", lang), *recency)
    table: list[tuple[str, ...]] = [header] + [
        (f, *(f"{grid[i][j]} / {spend[i][j] / 100:,.0f}" for j in range(len(recency))))
        for i, f in enumerate(frequency)
    ]
    fig, ax = kit.figure(title)
    if not report.rfm:
        return kit.finish("rfm", title, kit.no_data(fig, ax, lang), table)
    ax.imshow(grid, cmap="Blues", aspect="auto", origin="lower")
    peak = max(max(row) for row in grid) or 1
    for i, row in enumerate(grid):
        for j, count in enumerate(row):
            colour = "white" if count > peak / 2 else "#203040"
            ax.text(j, i, str(count), ha="center", va="center", fontsize=22, color=colour)
    ax.set_xticks(range(len(recency)), recency)
    ax.set_yticks(range(len(frequency)), frequency)
    ax.set_xlabel(t("reports.axis.days_since", lang))
    ax.set_ylabel(t("reports.axis.purchases_12m", lang))
    return kit.finish("rfm", title, fig, table)


def _csat(report: Report, lang: str) -> kit.Chart:
    average = "–" if report.csat.average is None else f"{report.csat.average:.1f}"
    return kit.bar_chart(
        "csat",
        lang,
        kit.Bars(
            t("reports.chart.csat", lang, average=average),
            t("reports.axis.tickets", lang),
            [str(score) for score in range(1, 6)],
            [(t("reports.label.now", lang), [report.csat.distribution[s] for s in range(1, 6)])],
        ),
    )


def _csat_trend(report: Report, lang: str) -> kit.Chart:
    title = t("reports.chart.csat_trend", lang)
    weeks = report.csat.weekly
    table: list[tuple[str, ...]] = [
        (t("reports.col.item", lang), t("reports.axis.score", lang), t("reports.col.count", lang))
    ]
    table += [(w, "–" if a is None else f"{a:.1f}", str(n)) for w, a, n in weeks]
    fig, ax = kit.figure(title)
    points = [(i, a) for i, (_, a, _) in enumerate(weeks) if a is not None]
    if not points:
        return kit.finish("csat_trend", title, kit.no_data(fig, ax, lang), table)
    ax.plot(
        [i for i, _ in points],
        [a for _, a in points],
        marker="o",
        lw=4,
        ms=12,
        color=kit.NOW_COLOUR,
    )
    ax.set_ylim(0.8, 5.2)
    ax.set_xticks(range(len(weeks)), [w[5:] for w, _, _ in weeks])
    ax.set_ylabel(t("reports.axis.score", lang))
    return kit.finish("csat_trend", title, fig, table)


def _service(report: Report, lang: str) -> kit.Chart:
    tickets = report.tickets
    first, resolution = tickets.first_response, tickets.resolution
    names = [t("reports.service.first_response", lang), t("reports.service.resolution", lang)]
    notes = [
        t("reports.service.counts", lang, opened=tickets.opened, resolved=tickets.resolved,
          overdue=tickets.overdue)
    ]  # fmt: skip
    for name, times in zip(names, (first, resolution), strict=True):
        if times.within_target is not None:
            share = f"{100 * times.within_target:.0f}%"
            notes.append(t("reports.service.within", lang, label=name, share=share))
    return kit.bar_chart(
        "service",
        lang,
        kit.Bars(
            t("reports.chart.service", lang),
            t("reports.axis.hours", lang),
            names,
            [
                (t("reports.service.median", lang),
                 [first.median_hours or 0.0, resolution.median_hours or 0.0]),
                (t("reports.service.p90", lang),
                 [first.p90_hours or 0.0, resolution.p90_hours or 0.0]),
            ],
            note="\n".join([notes[0], "  ·  ".join(notes[1:])]) if len(notes) > 1 else notes[0],
        ),
        empty=first.count == 0 and resolution.count == 0,
    )  # fmt: skip


def _faq(report: Report, lang: str) -> kit.Chart:
    faq = report.faq
    votes = t("reports.faq.votes", lang, helpful=faq.helpful, unhelpful=faq.unhelpful)
    return kit.bar_chart(
        "faq",
        lang,
        kit.Bars(
            t("reports.chart.faq", lang),
            t("reports.axis.questions", lang),
            [t(f"reports.faq.{o}", lang) for o in ("answer", "suggest", "fallback")],
            [(t("reports.label.now", lang), [faq.answered, faq.suggested, faq.fallback])],
            note=votes,
        ),
    )


def _points(report: Report, lang: str) -> kit.Chart:
    points = report.points
    return kit.bar_chart(
        "points",
        lang,
        kit.Bars(
            t("reports.chart.points", lang, outstanding=f"{points.outstanding:,}"),
            t("reports.axis.points", lang),
            [t(f"reports.points.{k}", lang) for k in ("issued", "redeemed", "expired")],
            [(t("reports.label.now", lang), [points.issued, points.redeemed, points.expired])],
        ),
        empty=report.empty,
    )


def _tiers(report: Report, lang: str) -> kit.Chart:
    tiers = list(report.members_by_tier)
    return kit.bar_chart(
        "tiers",
        lang,
        kit.Bars(
            t("reports.chart.tiers", lang),
            t("reports.axis.customers", lang),
            [tier_label(tier, lang) for tier in tiers],
            [(t("reports.label.now", lang), [report.members_by_tier[x] for x in tiers])],
        ),
    )


def _outreach(report: Report, lang: str) -> kit.Chart:
    o = report.outreach
    chart = kit.bar_chart(
        "outreach",
        lang,
        kit.Bars(
            t("reports.chart.outreach", lang),
            t("reports.axis.messages", lang),
            [t(f"reports.outreach.{k}", lang) for k in ("sent", "failed", "replies", "won_back")],
            [(t("reports.label.now", lang),
              [o.sent, sum(o.failed.values()), o.replies, o.won_back])],
        ),
    )  # fmt: skip
    reasons: list[tuple[str, ...]] = [
        (t("reports.col.failed_reason", lang, reason=r), str(n)) for r, n in o.failed.items()
    ]
    return kit.Chart(chart.name, chart.title, chart.png, chart.table + reasons)
