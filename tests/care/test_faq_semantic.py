"""The semantic matcher (carebot[semantic]) and the lexical fallback without it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from care.faq import live
from care.faq.index import FaqDoc
from care.faq.match import SEMANTIC_DEFAULTS, Decision, FaqIndex
from care.faq.results import Outcome
from care.faq.semantic import Encoder, SecondEncoder, VectorCache, load_encoder
from care.faq.service import FaqService
from care.outbox import Outbox
from care.settings import FaqSettings, StaffSettings
from care.staff import StaffService
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

OWNER, ALICE = 42, 1001
TOILET, BEANS, DOGS = 1, 2, 3
DOCS = [
    FaqDoc(TOILET, "en", ("Do you have a toilet?",)),
    FaqDoc(BEANS, "en", ("Do you sell coffee beans?",)),
    FaqDoc(DOGS, "en", ("Are dogs allowed?",)),
    FaqDoc(TOILET, "zh", ("有洗手间吗？",)),
]
semantic_only = pytest.mark.skipif(
    load_encoder() is None, reason="carebot[semantic] is not installed"
)


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.texts = inner, 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.encode(texts)


def semantic_index(docs: list[FaqDoc], second: SecondEncoder | None = None) -> FaqIndex:
    """An index of `docs` scored with the real encoder (and `second`'s opinion, if given)."""
    encoder = load_encoder()
    assert encoder is not None
    return FaqIndex.build(docs, vectors=VectorCache(encoder), second=second)


def _service(db: Database, clock: FakeClock, matcher: str) -> FaqService:
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER], chat_id=-77))
    outbox = Outbox(db, clock, RecordingMessenger())
    return faq_service(db, clock, FaqSettings(matcher=matcher), staff, outbox)


@semantic_only
def test_a_synonym_without_a_shared_word_is_answered_by_meaning() -> None:
    idx = semantic_index(DOCS)
    m = idx.match("can i bring my puppy", "en", SEMANTIC_DEFAULTS)
    # meaning alone is 0.7 of the score, but far ahead of every other entry: answered
    assert (m.decision, m.entry_id) == (Decision.ANSWER, DOGS), m.why
    assert "carried by: meaning" in m.why and "semantic" in m.why
    # a margin above its lead in both the blended score and the semantic part: suggested
    close = idx.match("can i bring my puppy", "en", replace(SEMANTIC_DEFAULTS, margin=40.0))
    assert (close.decision, close.suggestions) == (Decision.SUGGEST, (DOGS,)), close.why


@semantic_only
@pytest.mark.parametrize(
    "question", ["do you have sushi", "do you have a kids menu", "do you sell beer", "有寿司吗"]
)
def test_semantic_function_words_alone_neither_answer_nor_suggest(question: str) -> None:
    idx = semantic_index(DOCS)
    m = idx.match(question, "en", SEMANTIC_DEFAULTS)
    assert m.decision is Decision.FALLBACK and m.suggestions == (), m.why


SHOP_PHRASINGS = [
    ("When are you open?", "What are your opening hours?"),
    ("Is there free wifi?", "What's the wifi password?"),
    ("Can I book a table?", "How do I make a reservation?"),
    ("Do you have a toilet?",),
    ("Do you have vegan options?",),
    ("Do you sell coffee beans?",),
    ("Where can I park?",),
    ("Are dogs allowed?",),
    ("Can I pay by card?", "Do you take cash?"),
    ("Do you deliver?",),
    ("Are you hiring?", "Any jobs available?"),
    ("I left something at the café. Did you find it?", "Lost property?"),
]
LOST = len(SHOP_PHRASINGS)
SHOP_DOCS = [
    *(FaqDoc(i, "en", p) for i, p in enumerate(SHOP_PHRASINGS, start=1)),
    FaqDoc(LOST, "zh", ("我把东西落在店里了", "失物招领")),
]


@semantic_only
def test_a_clear_lead_in_meaning_suggests_an_entry_no_word_carried() -> None:
    idx = semantic_index(SHOP_DOCS)
    # no content word is shared with "Lost property?", but the meaning leads every entry
    m = idx.match("i forgot my umbrella there yesterday", "en", SEMANTIC_DEFAULTS)
    assert (m.decision, m.suggestions[:1]) == (Decision.SUGGEST, (LOST,)), m.why
    assert "no content word carried it" in m.why
    # suggested, never answered, even with no answer threshold
    loose = idx.match(
        "i forgot my umbrella there yesterday", "en", replace(SEMANTIC_DEFAULTS, answer=0)
    )
    assert loose.decision is Decision.SUGGEST, loose.why
    # a shared frame leads nowhere: these still fall back
    for question in ("do you have sushi", "do you sell beer", "有寿司吗", "can i get a haircut"):
        other = idx.match(question, "en", SEMANTIC_DEFAULTS)
        assert (other.decision, other.suggestions) == (Decision.FALLBACK, ()), other.why


WHERE_DOCS = [
    FaqDoc(TOILET, "en", ("Do you have a toilet?",)),
    FaqDoc(TOILET, "zh", ("有洗手间吗？", "厕所在哪里")),
    FaqDoc(BEANS, "en", ("Where are you located?", "What is your address?")),
    FaqDoc(DOGS, "en", ("Is there parking nearby?", "Where can I park?")),
]


@semantic_only
def test_a_lead_in_meaning_answers_a_near_tie_made_by_shared_words() -> None:
    idx = semantic_index(WHERE_DOCS)
    # "where" pulls the address and parking entries close in the blended score (margin < 12),
    # but in meaning the toilet entry leads by far more than the margin: answered
    m = idx.match("where is the restroom", "en", SEMANTIC_DEFAULTS)
    assert (m.decision, m.entry_id) == (Decision.ANSWER, TOILET), m.why
    assert "semantic part's margin" in m.why
    # the calibration sees the same margin as the decision
    evidence = idx.evidence("where is the restroom", "en")
    assert evidence is not None and evidence[0] == TOILET
    assert evidence[1] - evidence[2] >= SEMANTIC_DEFAULTS.margin
    # a margin above both leads: only suggested
    strict = idx.match("where is the restroom", "en", replace(SEMANTIC_DEFAULTS, margin=30.0))
    assert strict.decision is Decision.SUGGEST and TOILET in strict.suggestions, strict.why


@semantic_only
def test_a_near_tie_in_both_scores_is_only_suggested() -> None:
    idx = semantic_index(WHERE_DOCS)
    m = idx.match("where can i pee", "en", SEMANTIC_DEFAULTS)
    assert m.decision is Decision.SUGGEST and m.entry_id is None, m.why
    assert TOILET in m.suggestions


@semantic_only
def test_an_edit_encodes_only_the_phrasings_that_changed() -> None:
    real = load_encoder()
    assert real is not None
    encoder = CountingEncoder(real)
    cache = VectorCache(encoder)
    FaqIndex.build(DOCS, vectors=cache)
    assert encoder.texts == 8  # four phrasings and their content words
    edited = [*DOCS[:2], FaqDoc(DOGS, "en", ("Are dogs allowed?", "Can I bring my dog?")), DOCS[3]]
    FaqIndex.build(edited, vectors=cache)
    assert encoder.texts == 10  # one new phrasing ("Can I bring my dog?") and "dog"


@semantic_only
async def test_the_service_answers_semantically_when_installed(
    db: Database, clock: FakeClock
) -> None:
    faq = _service(db, clock, "auto")
    await faq.add(OWNER, "en", "Do you have a toilet?", (), "Yes, at the back.")
    await faq.add(OWNER, "en", "Are dogs allowed?", (), "Dogs are welcome.")
    result = await faq.answer("can i bring my puppy", "en", asker=ALICE)
    assert result.outcome is Outcome.ANSWER, result
    assert result.entry is not None and result.entry.answer == "Dogs are welcome."
    assert faq.matcher == "semantic"
    sushi = await faq.answer("do you have sushi", "en", asker=ALICE)
    assert sushi.outcome is Outcome.FALLBACK


async def test_without_the_extra_auto_is_lexical_and_semantic_refuses(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "load_encoder", lambda: None)  # as if not installed
    faq = _service(db, clock, "auto")
    await faq.add(OWNER, "en", "Do you have a toilet?", (), "Yes, at the back.")
    result = await faq.answer("do you have a toilet", "en", asker=ALICE)
    assert result.outcome is Outcome.ANSWER and faq.matcher == "lexical"
    assert (await faq.answer("do you have sushi", "en", asker=ALICE)).outcome is Outcome.FALLBACK
    strict = _service(db, clock, "semantic")
    with pytest.raises(RuntimeError, match=r"carebot\[semantic\]"):
        await strict.answer("do you have a toilet", "en", asker=ALICE)


async def test_lexical_is_used_when_asked_for_even_if_installed(
    db: Database, clock: FakeClock
) -> None:
    faq = _service(db, clock, "lexical")
    await faq.add(OWNER, "en", "Do you have a toilet?", (), "Yes, at the back.")
    result = await faq.answer("do you have a toilet", "en", asker=ALICE)
    assert result.match is not None and "(semantic)" not in result.match.why
    assert faq.matcher == "lexical"


VEGETARIAN = 4
MEANING_DOCS = [*DOCS, FaqDoc(VEGETARIAN, "zh", ("有素食选择吗？", "素食"))]


@semantic_only
def test_the_meaning_of_the_content_words_carries_an_entry_without_a_shared_word() -> None:
    idx = semantic_index(MEANING_DOCS)
    m = idx.match("is there a bathroom?", "en", SEMANTIC_DEFAULTS)
    assert m.decision is not Decision.FALLBACK and TOILET in (m.entry_id, *m.suggestions), m.why
    assert "carried by: meaning of 'bathroom'" in m.why


@semantic_only
def test_a_content_word_close_only_to_another_languages_phrasing_carries_nothing() -> None:
    encoder = load_encoder()
    assert encoder is not None
    # "sushi" sounds like 素食 (vegetarian food) to the encoder (cosine 0.47): an English
    # question's content words are weighed against English phrasings only
    idx = FaqIndex.build(MEANING_DOCS, vectors=VectorCache(encoder))
    m = idx.match("do you have sushi", "en", SEMANTIC_DEFAULTS)
    assert m.decision is Decision.FALLBACK and m.suggestions == (), m.why
    assert "only function words matched" in m.why


GIFT, PRICE, CAKE, GLUTEN, DECAF = 11, 12, 13, 14, 15
MIXED_DOCS = [
    FaqDoc(GIFT, "en", ("Do you sell gift cards?",)),
    FaqDoc(GIFT, "zh", ("有礼品卡吗？",)),
    FaqDoc(PRICE, "en", ("How much is a latte?",)),
    FaqDoc(PRICE, "zh", ("拿铁多少钱？",)),
    FaqDoc(CAKE, "en", ("Can I order a whole cake?",)),
    FaqDoc(CAKE, "zh", ("可以订整个蛋糕吗？",)),
    FaqDoc(GLUTEN, "en", ("Do you have gluten-free food?",)),
    FaqDoc(GLUTEN, "zh", ("有无麸质的食物吗？",)),
    FaqDoc(DECAF, "en", ("Do you have decaf?",)),
    FaqDoc(DECAF, "zh", ("有低因咖啡吗？",)),
]


@semantic_only
def test_a_question_mixing_chinese_and_english_is_matched_in_both_languages_words() -> None:
    idx = semantic_index(MIXED_DOCS)
    # detected Chinese, but its English word is what names the entry
    decaf = idx.match("decaf 有吗", "zh", SEMANTIC_DEFAULTS)
    assert (decaf.decision, decaf.entry_id) == (Decision.ANSWER, DECAF), decaf.why
    assert "carried by: decaf" in decaf.why
    # "gluten free" now counts beside 蛋糕: a near-tie, not the cake entry answered
    cake = idx.match("有gluten free的蛋糕吗", "zh", SEMANTIC_DEFAULTS)
    assert cake.decision is Decision.SUGGEST and GLUTEN in cake.suggestions, cake.why
