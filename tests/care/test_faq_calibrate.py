"""Thresholds calibrated on the shop's own FAQ (care.faq.calibrate), on a real temp database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from care.faq.calibrate import MAX_OOS_ANSWERED, MIN_FEEDBACK, MIN_IN_SCOPE, Feedback, calibrate
from care.faq.csv import import_faq
from care.faq.index import FaqDoc
from care.faq.live import feedback_of
from care.faq.match import FaqIndex, MatchThresholds
from care.faq.results import Unhelpful
from care.faq.service import FaqService
from care.outbox import Outbox
from care.settings import FaqSettings, StaffSettings
from care.staff import StaffService
from storage import faq as repo
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

OWNER = 42
ALICE = 1001
DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
CAFE = DATA / "cafe_faq.csv"


def _cafe_docs() -> list[FaqDoc]:
    """The café set's entries as matcher documents (question first, then alternates)."""
    with CAFE.open(encoding="utf-8", newline="") as f:
        return [
            FaqDoc(
                int(r["id"]), r["lang"], (r["question"], *filter(None, r["alternates"].split("|")))
            )
            for r in csv.DictReader(f)
        ]


def _cafe_questions() -> list[tuple[str, str, int | None]]:
    """The hand-written café questions: (text, language, entry or None for out of scope)."""
    with (DATA / "cafe_questions.tsv").open(encoding="utf-8", newline="") as f:
        return [
            (
                r["question"],
                "zh" if any("\u4e00" <= c <= "\u9fff" for c in r["question"]) else "en",
                None if r["expected"] == "none" else int(r["expected"]),
            )
            for r in csv.DictReader(f, delimiter="\t")
        ]


def _answered(
    docs: list[FaqDoc], probes: list[Feedback], th: MatchThresholds, *, right: bool = False
) -> float:
    """% of `probes` the whole FAQ answers at `th` (calibration's own rule: score and lead); with
    `right`, only those answered with their own entry."""
    index = FaqIndex.build(docs)
    answered = 0
    for f in probes:
        e = index.evidence(f.text, f.lang)
        answered += (
            e is not None
            and e[1] >= th.answer
            and e[1] - e[2] >= th.margin
            and (not right or e[0] == f.entry_id)
        )
    return 100 * answered / len(probes)


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


def test_too_little_feedback_is_reported_and_not_used() -> None:
    docs = _cafe_docs()
    few = [Feedback(q, lang, e) for q, lang, e in _cafe_questions()[:5]]
    few += [Feedback("do you sell concert tickets", "en", None)]
    alone, fed = (
        calibrate(docs, MatchThresholds()),
        calibrate(docs, MatchThresholds(), feedback=few),
    )
    assert fed.thresholds == alone.thresholds and fed.feedback_in == fed.feedback_out == 0
    assert f"it counts from {MIN_FEEDBACK} of each" in fed.reason


def test_customers_questions_are_answered_more_once_they_count() -> None:
    """Left-out phrasings are a pessimistic stand-in for real out-of-scope questions: with the
    shop's labelled traffic the thresholds answer more of its questions, and still no more than
    MAX_OOS_ANSWERED% of those that should not be answered."""
    docs, questions = _cafe_docs(), _cafe_questions()
    labelled = [Feedback(q, lang, e) for q, lang, e in questions if e is not None]
    unwanted = [Feedback(q, lang, None) for q, lang, e in questions if e is None]
    alone = calibrate(docs, MatchThresholds())
    fed = calibrate(docs, MatchThresholds(), feedback=[*labelled, *unwanted])
    assert fed.calibrated and (fed.feedback_in, fed.feedback_out) == (len(labelled), len(unwanted))
    assert "customers' questions labelled by their feedback" in fed.reason
    before = _answered(docs, labelled, alone.thresholds, right=True)
    assert _answered(docs, labelled, fed.thresholds, right=True) >= before + 3
    assert _answered(docs, unwanted, fed.thresholds) <= MAX_OOS_ANSWERED
    assert fed.answer_accuracy >= 90.0


def test_questions_customers_reject_raise_the_line() -> None:
    """If customers 👎 every answer about eight entries, the thresholds rise until no more than
    MAX_OOS_ANSWERED% of those questions are answered."""
    docs, questions = _cafe_docs(), _cafe_questions()
    rejected = set(range(1, 9))
    labelled = [Feedback(q, lang, e) for q, lang, e in questions if e and e not in rejected]
    unwanted = [Feedback(q, lang, None) for q, lang, e in questions if not e or e in rejected]
    alone = calibrate(docs, MatchThresholds())
    fed = calibrate(docs, MatchThresholds(), feedback=[*labelled, *unwanted])
    assert _answered(docs, unwanted, alone.thresholds) > MAX_OOS_ANSWERED
    assert _answered(docs, unwanted, fed.thresholds) <= MAX_OOS_ANSWERED
    assert fed.thresholds.answer > alone.thresholds.answer


async def test_customers_feedback_labels_their_questions(db: Database, clock: FakeClock) -> None:
    faq = _service(db, clock, FaqSettings())
    await import_faq(db, clock, faq, _cafe_csv("en"), "en")
    await faq.vote(2, "en", True, chat_id=ALICE, message_id=1, question=("free wifi?", "en"))
    await faq.vote(3, "en", False, chat_id=ALICE, message_id=2, question=("any oat milk", "en"))
    missed = ("got soy milk?", "en")
    await faq.vote(3, "en", False, chat_id=ALICE, message_id=3, question=missed)
    after = Unhelpful(*missed, 3, ALICE, 3)  # ...and then another entry: the question is its
    await faq.suggestion_pressed(
        5, "en", missed, chat_id=ALICE, message_id=4, after_unhelpful=after
    )
    await faq.suggestion_pressed(4, "en", ("cakes today", "en"), chat_id=ALICE, message_id=5)
    await faq.suggestion_pressed(4, "en", ("Cakes today?", "en"), chat_id=ALICE, message_id=6)
    done = await faq.none_of_these(("do you sell stamps", "en"), chat_id=ALICE, message_id=7)
    assert done.unanswered_id is not None
    clock.advance(hours=1)
    await faq.dismiss(OWNER, done.unanswered_id)
    await faq.none_of_these(("do you repair bikes", "en"), chat_id=ALICE, message_id=8)
    await faq.vote(2, "en", True, chat_id=ALICE, message_id=9)  # the question was forgotten
    async with db.read() as tx:
        feedback = feedback_of(await repo.labelled_questions(tx, 100))
        latest = await repo.labelled_questions(tx, 1)
    assert [q.text for q in latest] == ["do you sell stamps"]  # the window keeps the newest
    assert {(f.text.casefold(), f.entry_id) for f in feedback} == {
        ("free wifi?", 2),
        ("any oat milk", None),  # 👎 and nothing after it
        ("got soy milk?", 5),  # not also "should not be answered"
        ("cakes today?", 4),  # pressed twice: one proposal, its latest wording
        ("do you sell stamps", None),  # dismissed by staff; "bikes" is still open
    }


def test_a_question_asked_again_is_one_probe() -> None:
    rows = [
        repo.LabelledQuestion("Cakes today?", "en", 4),
        repo.LabelledQuestion("cakes today", "en", 4),  # the same, normalised
        repo.LabelledQuestion("cakes  today!", "en", None),  # 👎 once, but also labelled 4
        repo.LabelledQuestion("cakes today", "zh", None),  # another language: another probe
        repo.LabelledQuestion("???", "en", None),  # no words: nothing to score
    ]
    assert feedback_of(rows) == (
        Feedback("Cakes today?", "en", 4),
        Feedback("cakes today", "zh", None),
    )


async def test_new_feedback_recalibrates_without_an_faq_change(cafe: FaqService) -> None:
    first = await cafe.calibration()
    assert await cafe.recalibrate() is first  # nothing new: nothing recomputed
    questions = _cafe_questions()
    for n, (q, lang, entry) in enumerate([x for x in questions if x[2]][:MIN_FEEDBACK]):
        assert entry is not None
        await cafe.vote(entry, lang, True, chat_id=ALICE, message_id=n, question=(q, lang))
    for n, (q, lang, _) in enumerate([x for x in questions if not x[2]][:MIN_FEEDBACK]):
        done = await cafe.none_of_these((q, lang), chat_id=ALICE, message_id=1000 + n)
        assert done.unanswered_id is not None
        await cafe.dismiss(OWNER, done.unanswered_id)
    fed = await cafe.recalibrate()
    assert fed is not first and fed.calibrated
    assert (fed.feedback_in, fed.feedback_out) == (MIN_FEEDBACK, MIN_FEEDBACK)
    assert await cafe.calibration() is fed  # the bot answers with it from now on
    result = await cafe.answer("is there free wifi here?", "en", asker=None)
    assert result.match is not None
    assert f"thresholds answer {fed.thresholds.answer:g} /" in result.match.why
