"""The report's charts: phone-sized PNGs, Chinese drawn as glyphs, 'no data yet' when empty."""

from __future__ import annotations

import io
import struct
import warnings

import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from PIL import Image

from care.services import CareServices
from care.settings import CareSettings
from handlers import chart_kit, report_charts
from handlers.texts import catalogue, placeholders
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.reports_support import WEEK, seed_shop


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _text_png(text: str, family: str) -> bytes:
    fig = Figure(figsize=(4, 1), dpi=100)
    fig.text(0.05, 0.3, text, fontsize=30, family=family)
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def test_the_font_has_a_glyph_for_every_chinese_label() -> None:
    font = FT2Font(str(chart_kit.font_path()))
    labels = [
        texts["zh"]
        for key, texts in catalogue().items()
        if key.startswith(("reports.", "stages.", "loyalty.tier.", "tickets.kind_"))
    ]
    missing = set()
    for text in labels:
        for name in placeholders(text):
            text = text.replace("{" + name + "}", "")
        missing |= {ch for ch in text if not ch.isspace() and font.get_char_index(ord(ch)) == 0}
    missing -= {"📊", "•", "\n"}  # the caption's, never drawn in a chart
    assert missing == set()


def test_chinese_is_drawn_as_chinese_not_as_boxes() -> None:
    family = chart_kit.font_family()
    # Without a CJK font every character is the same box: two different words look the same.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tofu = (_text_png("各阶", "DejaVu Sans"), _text_png("段顾", "DejaVu Sans"))
    assert tofu[0] == tofu[1]
    assert any("missing from font" in str(w.message) for w in caught)
    # With the shipped font they differ, and no glyph is reported missing (warnings are errors).
    drawn = (_text_png("各阶", family), _text_png("段顾", family))
    assert drawn[0] != drawn[1]
    assert drawn[0] != tofu[0]


async def test_every_chart_renders_wide_in_both_languages(db: Database, clock: FakeClock) -> None:
    await seed_shop(db)
    care = CareServices.build(db, clock, CareSettings(), RecordingMessenger())
    report = await care.reports.report(WEEK)
    for lang in ("en", "zh"):
        charts = report_charts.render(report, lang)  # a missing glyph would warn: an error here
        assert [c.name for c in charts] == list(report_charts.CHARTS)
        for chart in charts:
            width, _ = _size(chart.png)
            assert width >= 1080, chart.name
            assert len(chart.table) >= 2, chart.name
    zh = {c.name: c for c in report_charts.render(report, "zh", ["funnel"])}
    assert zh["funnel"].title == "各阶段顾客"
    assert ("信任", "1", "0") in zh["funnel"].table


def _grey_text_pixels(png: bytes) -> int:
    """Pixels of the 'No data yet' grey in the middle of a chart."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    middle = image.crop((width // 4, height // 3, 3 * width // 4, 2 * height // 3))
    pixels = numpy.asarray(middle)
    return int(numpy.all(pixels == (0x80, 0x88, 0x90), axis=-1).sum())


async def test_an_empty_shop_draws_no_data_yet(db: Database, clock: FakeClock) -> None:
    care = CareServices.build(db, clock, CareSettings(), RecordingMessenger())
    empty = await care.reports.report(WEEK)
    assert report_charts.summary(empty, "en").startswith("📊 No data yet")
    assert report_charts.summary(empty, "zh").startswith("📊 暂无数据")
    for chart in report_charts.render(empty, "zh"):
        assert _size(chart.png)[0] >= 1080
        assert _grey_text_pixels(chart.png) > 200, chart.name
    await seed_shop(db)
    seeded = await care.reports.report(WEEK)
    for chart in report_charts.render(seeded, "en", ["funnel", "csat", "faq", "points"]):
        assert _grey_text_pixels(chart.png) == 0, chart.name
