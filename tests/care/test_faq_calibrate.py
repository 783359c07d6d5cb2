"""Thresholds calibrated on the shop's own FAQ (care.faq.calibrate), on a real temp database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from care.faq.calibrate import MIN_IN_SCOPE, calibrate
from care.faq.csv import import_faq
from care.faq.index import FaqDoc
from care.faq.match import MatchThresholds
from care.faq.service import FaqService
from care.outbox import Outbox
from care.settings import FaqSettings, StaffSettings
from care.staff import StaffService
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

OWNER = 42
CAFE = Path(__file__).resolve().parents[2] / "bench" / "data" / "cafe_faq.csv"


def _cafe_csv(lang: str) -> str:
    """The café set's entries of one language as an import CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "question", "alternates", "answer"])
    with CAFE.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["lang"] == lang:
                writer.writerow([row["id"], row["question"], row["alternates"], row["answer"]])
    return out.getvalue()


def _service(db: Database, clock: FakeClock, settings: FaqSettings) -> FaqService:
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER], chat_id=-77))
    return faq_service(db, clock, settings, staff, Outbox(db, clock, RecordingMessenger()))


@pytest.fixture
async def cafe(db: Database, clock: FakeClock) -> FaqService:
    faq = _service(db, clock, FaqSettings(calibrate=True))
    for lang in ("en", "zh"):
        report = await import_faq(db, clock, faq, _cafe_csv(lang), lang)
        assert report.rejected == []
    return faq


def test_a_small_faq_keeps_the_defaults_and_says_why() -> None:
    docs = [
        FaqDoc(1, "en", ("What are your opening hours?", "When are you open?")),
        FaqDoc(2, "en", ("What is the wifi password?",)),
    ]
    defaults = MatchThresholds(answer=44, suggest=30, margin=9)
    c = calibrate(docs, defaults)
    assert not c.calibrated and c.thresholds == defaults
    assert "too few phrasings" in c.reason and f"need {MIN_IN_SCOPE}" in c.reason


async def test_the_cafe_faq_is_calibrated_by_the_rule(cafe: FaqService) -> None:
    c = await cafe.calibration()
    assert c.calibrated and c.applied
    assert c.in_scope >= MIN_IN_SCOPE and c.out_of_scope >= MIN_IN_SCOPE
    assert c.answer_accuracy >= 90.0 and c.oos_answered <= 10.0
    assert c.thresholds.suggest <= c.thresholds.answer
    assert c.thresholds != MatchThresholds()  # this FAQ's own numbers, not the shipped ones


async def test_answers_use_the_calibrated_thresholds(cafe: FaqService) -> None:
    c = await cafe.calibration()
    result = await cafe.answer("is there free wifi here?", "en", asker=None)
    assert result.match is not None
    assert f"thresholds answer {c.thresholds.answer:g} /" in result.match.why


async def test_recalibrates_when_a_phrasing_changes_and_only_then(
    cafe: FaqService, clock: FakeClock
) -> None:
    first = await cafe.calibration()
    await cafe.edit(OWNER, 2, "en", "answer", "Network CafeGuest, ask for the password.")
    assert await cafe.calibration() is first  # same phrasings: not recalibrated
    for entry in range(1, 16):
        await cafe.edit(OWNER, entry, "en", "alternates", "")
    changed = await cafe.calibration()
    assert changed is not first and changed.in_scope < first.in_scope


async def test_with_calibration_off_the_configured_thresholds_answer(
    db: Database, clock: FakeClock
) -> None:
    configured = FaqSettings(answer_threshold=45, suggest_threshold=30, margin=7)
    faq = _service(db, clock, configured)
    for lang in ("en", "zh"):
        await import_faq(db, clock, faq, _cafe_csv(lang), lang)
    c = await faq.calibration()
    assert not c.applied and (c.thresholds.answer, c.thresholds.margin) == (45, 7)
    assert "would choose" in c.reason
    result = await faq.answer("is there free wifi here?", "en", asker=None)
    assert result.match is not None and "thresholds answer 45 / suggest 30 / margin 7" in (
        result.match.why
    )
