"""Drawing for the report's charts: the CJK font, phone-sized figures, bars, 'no data yet'.

Matplotlib's object API (a `Figure` with the Agg canvas, no pyplot state) is used so renders in
threads do not share figures. Every label is drawn with Noto Sans CJK SC, shipped in the
`mplfonts` wheel, so Chinese is drawn as Chinese and not as boxes; it has Latin glyphs too, so
both languages look the same. Matplotlib is imported on first use: the bot starts without it.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handlers.texts import t

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_PX, HEIGHT_PX, DPI = 1200, 800, 100
FONT_FILE = "NotoSansCJKsc-Regular.otf"
NOW_COLOUR, BEFORE_COLOUR = "#2a7ab0", "#b8d4e8"
_setup_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Chart:
    """One rendered chart: its name, title, PNG bytes and the table of what it shows."""

    name: str
    title: str
    png: bytes
    table: list[tuple[str, ...]]  # the header row first


@dataclass(frozen=True, slots=True)
class Bars:
    """What a bar chart shows: categories, one or two series, and its table."""

    title: str
    axis: str
    categories: list[str]
    series: list[tuple[str, list[float]]]
    note: str = ""
    money: bool = False


def font_path() -> Path:
    """Where the CJK font lives: inside the installed `mplfonts` package (not imported)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mplfonts package (the charts' CJK font) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / FONT_FILE


@cache
def font_family() -> str:
    """Register the CJK font with matplotlib once and return its family name."""
    with _setup_lock:
        # Imported here: the bot starts without paying for matplotlib until a report is drawn.
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import font_manager

        path = str(font_path())
        font_manager.fontManager.addfont(path)
        family = str(font_manager.FontProperties(fname=path).get_name())
        matplotlib.rcParams["font.family"] = [family]
        matplotlib.rcParams["axes.unicode_minus"] = False
        return family


def figure(title: str) -> tuple[Any, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    # Fixed margins: a layout engine would measure every label first (a third of the time).
    fig.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.2)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=28, pad=18, loc="left")
    ax.tick_params(labelsize=20)
    ax.xaxis.label.set_fontsize(20)
    ax.yaxis.label.set_fontsize(20)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def no_data(fig: Any, ax: Axes, lang: str) -> Any:
    ax.set_axis_off()
    ax.text(0.5, 0.5, t("reports.no_data", lang), ha="center", va="center", fontsize=40,
            color="#808890", transform=ax.transAxes)  # fmt: skip
    return fig


def finish(name: str, title: str, fig: Any, table: list[tuple[str, ...]]) -> Chart:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return Chart(name, title, buffer.getvalue(), table)


def bar_chart(name: str, lang: str, bars: Bars, *, empty: bool | None = None) -> Chart:
    """Vertical bars, one group per category, each bar labelled with its value."""
    header = (t("reports.col.item", lang), *(label_ for label_, _ in bars.series))
    table: list[tuple[str, ...]] = [header]
    for i, category in enumerate(bars.categories):
        table.append((category, *(shown(values[i], bars.money) for _, values in bars.series)))
    if bars.note:
        table.append((bars.note,))
    fig, ax = figure(bars.title)
    nothing = all(v == 0 for _, values in bars.series for v in values)
    if empty if empty is not None else nothing:
        return finish(name, bars.title, no_data(fig, ax, lang), table)
    width = 0.8 / len(bars.series)
    colours = (NOW_COLOUR, BEFORE_COLOUR)
    for k, (series_label, values) in enumerate(bars.series):
        xs = [i + (k - (len(bars.series) - 1) / 2) * width for i in range(len(values))]
        drawn = ax.bar(xs, values, width * 0.95, label=series_label, color=colours[k % 2])
        ax.bar_label(drawn, labels=[shown(v, bars.money) for v in values], fontsize=18, padding=4)
    ax.set_xticks(range(len(bars.categories)), bars.categories)
    ax.set_ylabel(bars.axis)
    if not bars.money:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.15)
    if len(bars.series) > 1:
        ax.legend(fontsize=18, frameon=False)
    if bars.note:
        ax.set_xlabel(bars.note, fontsize=18, labelpad=14)
    return finish(name, bars.title, fig, table)


def shown(value: float, money: bool) -> str:
    return f"{value:,.2f}" if money else number(value)


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
