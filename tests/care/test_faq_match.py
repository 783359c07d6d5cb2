"""Tests for care.faq.match: normalisation, language detection and the matching decisions."""

from __future__ import annotations

import pytest

from care.faq import match as faq_match
from care.faq.index import FaqDoc
from care.faq.match import Decision, FaqIndex, Match, MatchThresholds
from care.faq.text import content_text, detect_language, normalise, words

HOURS, WIFI, VEGAN, GLUTEN, PARKING, POINTS, PETS = 1, 2, 3, 4, 5, 6, 7

CAFE_EN: list[FaqDoc] = [
    FaqDoc(HOURS, "en", ("What are your opening hours?", "When are you open?")),
    FaqDoc(WIFI, "en", ("What is the wifi password?", "Do you have free wifi?")),
    FaqDoc(VEGAN, "en", ("Do you have vegan options?", "Is there vegan food?")),
    FaqDoc(GLUTEN, "en", ("Do you have gluten-free options?", "Is there gluten free food?")),
    FaqDoc(PARKING, "en", ("Is there parking nearby?", "Where can I park my car?")),
    FaqDoc(POINTS, "en", ("How do loyalty points work?", "How can I redeem my points?")),
    FaqDoc(PETS, "en", ("Are pets allowed inside?",)),
]
CAFE_ZH: list[FaqDoc] = [
    FaqDoc(HOURS, "zh", ("你们的营业时间是什么？", "你们几点开门？")),
    FaqDoc(WIFI, "zh", ("无线网密码是多少？",)),
    FaqDoc(VEGAN, "zh", ("有素食吗？",)),
    FaqDoc(PARKING, "zh", ("附近有停车场吗？",)),
    FaqDoc(POINTS, "zh", ("积分怎么用？", "会员积分怎么兑换？")),
]


@pytest.fixture(scope="module")
def cafe() -> FaqIndex:
    return FaqIndex.build(CAFE_EN + CAFE_ZH)


# --- normalisation ------------------------------------------------------------------------------


def test_normalise_full_width_to_half_width() -> None:
    assert normalise("ＷＩＦＩ　ｐａｓｓｗｏｒｄ１２３") == "wifi password123"


def test_normalise_casefold_and_punctuation() -> None:
    assert normalise("Opening HOURS?!... (today)") == "opening hours today"
    assert normalise("Straße") == "strasse"


def test_normalise_strips_emoji_and_collapses_whitespace() -> None:
    assert normalise("  wifi 🙂🙂   password \n\t please 👍🏽 ") == "wifi password please"


def test_normalise_apostrophes_join_words() -> None:
    assert normalise("What’s your café's wifi?") == "whats your cafés wifi"


def test_chat_spellings_read_as_the_words_they_stand_for() -> None:
    # "where's" without its apostrophe is a function word, not a topic; "ppl" is "people"; the
    # everyday "loo" is the FAQ's "toilet"
    assert content_text(normalise("wheres the loo")) == "where toilet"
    assert content_text(normalise("do u take visa")) == "card"
    assert content_text(normalise("can 6 ppl book tmrw")) == "people book tomorrow"
    assert content_text(normalise("theres no milk")) == "milk"


def test_normalise_chinese_punctuation() -> None:
    assert normalise("你们几点开门？！") == "你们几点开门"


def test_normalise_nothing_left() -> None:
    assert normalise("?!… 🙂 ") == ""


# --- language detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What are your opening hours?", "en"),
        ("你们几点开门？", "zh"),
        ("wifi 密码是多少", "zh"),
        ("Is the 咖啡 good today my friend", "en"),
        ("12345", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_detect_language_default_when_no_letters() -> None:
    assert detect_language("123 !!", default="zh") == "zh"
    assert detect_language("", default="en") == "en"


# --- matching -----------------------------------------------------------------------------------


def test_len_counts_distinct_entries(cafe: FaqIndex) -> None:
    assert len(cafe) == 7


def test_exact_question_is_answered(cafe: FaqIndex) -> None:
    m = cafe.match("What are your opening hours?", "en")
    assert m.decision is Decision.ANSWER
    assert m.entry_id == HOURS
    assert m.query_lang == "en"
    assert m.suggestions == ()
    assert m.score > 80


def test_typo_question_is_answered(cafe: FaqIndex) -> None:
    m = cafe.match("wat are ur opning hours", "en")
    assert m.decision is Decision.ANSWER
    assert m.entry_id == HOURS


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("wifi pasword", WIFI),
        ("Where do I park?", PARKING),
        ("can I redeem loyalty points", POINTS),
        ("DO YOU HAVE VEGAN FOOD???", VEGAN),
    ],
)
def test_paraphrases_are_answered(cafe: FaqIndex, query: str, entry: int) -> None:
    m = cafe.match(query, "en")
    assert (m.decision, m.entry_id) == (Decision.ANSWER, entry)


def test_question_close_to_two_entries_gets_suggestions(cafe: FaqIndex) -> None:
    # (words the FAQ does not know, like "special diets", count against a match: issue 11)
    m = cafe.match("any food options", "en")
    assert m.decision is Decision.SUGGEST
    assert m.entry_id is None
    assert set(m.suggestions[:2]) == {VEGAN, GLUTEN}
    assert len(m.suggestions) <= 3


def test_unrelated_question_falls_back(cafe: FaqIndex) -> None:
    m = cafe.match("what is the capital of France", "en")
    assert m.decision is Decision.FALLBACK
    assert m.entry_id is None
    assert m.suggestions == ()
    assert m.score < MatchThresholds().suggest


def test_chinese_question_from_english_customer(cafe: FaqIndex) -> None:
    m = cafe.match("你们几点开门", "en")
    assert m.decision is Decision.ANSWER
    assert m.entry_id == HOURS
    assert m.query_lang == "zh"
    assert m.candidates[0].lang == "zh"


def test_english_question_from_chinese_customer(cafe: FaqIndex) -> None:
    m = cafe.match("What is the wifi password?", "zh")
    assert (m.decision, m.entry_id, m.query_lang) == (Decision.ANSWER, WIFI, "en")


def test_chinese_paraphrase_is_answered(cafe: FaqIndex) -> None:
    m = cafe.match("积分如何兑换", "zh")
    assert (m.decision, m.entry_id) == (Decision.ANSWER, POINTS)


def test_query_language_without_entries_uses_other_language() -> None:
    idx = FaqIndex.build(CAFE_EN)
    m = idx.match("你们几点开门", "zh")
    assert m.query_lang == "zh"
    assert all(c.lang == "en" for c in m.candidates)
    assert m.decision is Decision.FALLBACK  # no lexical overlap across scripts


@pytest.mark.parametrize("query", ["", "   ", "?!?", "🙂👍"])
def test_empty_query_falls_back(cafe: FaqIndex, query: str) -> None:
    m = cafe.match(query, "en")
    assert m.decision is Decision.FALLBACK
    assert m.score == 0.0
    assert m.candidates == ()
    assert m.why


def test_empty_index_falls_back() -> None:
    idx = FaqIndex.build([])
    assert len(idx) == 0
    m = idx.match("opening hours", "en")
    assert (m.decision, m.score, m.entry_id) == (Decision.FALLBACK, 0.0, None)
    assert idx.rank("opening hours", "en") == []


def test_why_names_phrasing_terms_and_scores(cafe: FaqIndex) -> None:
    m = cafe.match("when do you open", "en")
    assert m.decision is Decision.ANSWER and m.entry_id == HOURS
    assert "'When are you open?'" in m.why
    assert "open" in m.why.split("terms:")[1]
    assert f"{m.score:.1f}" in m.why
    assert "margin" in m.why


def test_candidates_sorted_and_scores_bounded(cafe: FaqIndex) -> None:
    m: Match = cafe.match("vegan gluten free food", "en")
    scores = [c.score for c in m.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 100.0 for s in scores)
    assert m.score == scores[0]


def test_rank_returns_best_first(cafe: FaqIndex) -> None:
    ranked = cafe.rank("is there somewhere to park", "en", limit=3)
    assert len(ranked) == 3
    assert ranked[0].entry_id == PARKING
    assert ranked[0].phrasing in CAFE_EN[4].phrasings


def test_thresholds_drive_the_decision(cafe: FaqIndex) -> None:
    strict = MatchThresholds(answer=99.0, suggest=10.0, margin=0.0)
    m = cafe.match("wifi pasword", "en", strict)
    assert m.decision is Decision.SUGGEST
    assert m.suggestions[0] == WIFI
    none = MatchThresholds(answer=99.0, suggest=99.0, margin=0.0)
    assert cafe.match("wifi pasword", "en", none).decision is Decision.FALLBACK


def test_rebuild_with_new_alternate_answers_the_query() -> None:
    query = "can I bring my dog"
    before = FaqIndex.build(CAFE_EN).match(query, "en")
    assert before.decision is not Decision.ANSWER
    docs = [
        FaqDoc(d.entry_id, d.lang, (*d.phrasings, "Can I bring my dog?"))
        if d.entry_id == PETS
        else d
        for d in CAFE_EN
    ]
    after = FaqIndex.build(docs).match(query, "en")
    assert (after.decision, after.entry_id) == (Decision.ANSWER, PETS)
    assert "Can I bring my dog?" in after.why


def test_same_entry_id_in_both_languages(cafe: FaqIndex) -> None:
    en = cafe.match("parking nearby", "en")
    zh = cafe.match("附近有停车场吗", "en")
    assert en.entry_id == zh.entry_id == PARKING
    assert (en.query_lang, zh.query_lang) == ("en", "zh")


# --- Chinese mixed with Latin words -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WiFi密码是多少", ["wifi", "密", "码", "是", "多", "少"]),
        ("有wifi吗", ["有", "wifi", "吗"]),
        ("可以用Apple Pay吗？", ["可", "以", "用", "apple", "pay", "吗"]),
        ("wifi 密码", ["wifi", "密", "码"]),
        ("wifi password", ["wifi", "password"]),
    ],
)
def test_words_split_chinese_characters_from_latin_words(text: str, expected: list[str]) -> None:
    assert words(normalise(text)) == expected


@pytest.mark.parametrize("text", ["WiFi密码是多少", "wifi密码", "有wifi吗", "可以用apple pay吗"])
def test_chinese_with_latin_words_is_detected_as_chinese(text: str) -> None:
    assert detect_language(normalise(text), default="en") == "zh"


MIXED_ZH: list[FaqDoc] = [
    FaqDoc(HOURS, "zh", ("你们的营业时间是？", "几点开门？")),
    FaqDoc(WIFI, "zh", ("WiFi 密码是多少？", "有无线网吗？", "有免费 WiFi 吗？")),
    FaqDoc(8, "zh", ("可以刷卡吗？", "支持 Apple Pay 吗？", "只收现金吗？")),
    FaqDoc(VEGAN, "zh", ("有素食选择吗？", "有植物奶吗？")),
]


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("WiFi密码是多少", WIFI),
        ("wifi密码", WIFI),
        ("有wifi吗", WIFI),
        ("可以用apple pay吗", 8),
    ],
)
def test_chinese_with_latin_words_is_answered(query: str, entry: int) -> None:
    m = FaqIndex.build(MIXED_ZH).match(query, "en")
    assert (m.decision, m.entry_id, m.query_lang) == (Decision.ANSWER, entry, "zh")


# --- the explanation is worked out only when read -----------------------------------------------


def test_why_is_built_on_first_access_only(
    cafe: FaqIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = faq_match._carrying_terms

    def counting(*args: object) -> list[str]:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(faq_match, "_carrying_terms", counting)
    m = cafe.match("when do you open", "en")
    assert (m.decision, m.entry_id) == (Decision.ANSWER, HOURS)
    assert calls == []  # answering does not pay for the explanation
    first = m.why
    assert "'When are you open?'" in first and "terms: open" in first
    assert m.why is first and calls == [1]  # computed once, then kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,\tWorld!! 123_abc", "hello world 123 abc"),
        ("  what's   UP?\n", "whats up"),
        ("\x00\x1fa-b~c\x7f", "a b c"),
        ("", ""),
    ],
)
def test_ascii_normalisation(text: str, expected: str) -> None:
    assert normalise(text) == expected


# --- no answer from function words (issue 11, part 3) --------------------------------------------

TOILET, BEANS, BOOKING = 11, 12, 13
FUNCTION_TRAPS: list[FaqDoc] = [
    FaqDoc(TOILET, "en", ("Do you have a toilet?",)),
    FaqDoc(BEANS, "en", ("Do you sell coffee beans?",)),
    FaqDoc(BOOKING, "en", ("Can I book a table?",)),
    FaqDoc(TOILET, "zh", ("有洗手间吗？",)),
]


@pytest.fixture(scope="module")
def traps() -> FaqIndex:
    return FaqIndex.build(CAFE_EN + FUNCTION_TRAPS)


@pytest.mark.parametrize(
    "question",
    [
        "do you have sushi",
        "do you have a kids menu",
        "do you have a high chair",
        "do you sell beer",
        "有寿司吗",
        "有没有儿童餐",
    ],
)
def test_function_words_alone_neither_answer_nor_suggest(traps: FaqIndex, question: str) -> None:
    m = traps.match(question, "en", MatchThresholds(answer=20, suggest=10, margin=0))
    assert m.decision is Decision.FALLBACK, m.why
    assert m.suggestions == ()
    assert "only function words" in m.why


def test_sql_injection_does_not_get_the_bookings_answer(traps: FaqIndex) -> None:
    m = traps.match("'; DROP TABLE customers; --", "en")
    assert m.decision is not Decision.ANSWER, m.why


def test_a_content_word_carries_the_answer_and_the_why_names_it(traps: FaqIndex) -> None:
    m = traps.match("do you have a toilet i could use", "en")
    assert (m.decision, m.entry_id) == (Decision.ANSWER, TOILET)
    assert "carried by: toilet" in m.why


def test_a_misspelt_content_word_still_carries_it(traps: FaqIndex) -> None:
    m = traps.match("do u have a toilett", "en")
    assert (m.decision, m.entry_id) == (Decision.ANSWER, TOILET)
    assert "toilett~" in m.why


def test_a_chinese_content_character_carries_it(traps: FaqIndex) -> None:
    m = traps.match("洗手间在哪", "zh")
    assert (m.decision, m.entry_id) == (Decision.ANSWER, TOILET), m.why
    assert "carried by: 洗, 手, 间" in m.why


def test_the_answer_words_carry_its_entry() -> None:
    halal = "Yes, all our meat is halal and we serve no pork."
    docs = [*CAFE_EN, FaqDoc(8, "en", ("Is your food halal?",), halal)]
    with_answers = FaqIndex.build(docs).match("do you serve pork", "en")
    assert (with_answers.decision, with_answers.suggestions) == (Decision.SUGGEST, (8,))
    assert "via phrasing '(answer) Yes, all our meat" in with_answers.why
    assert "carried by: pork" in with_answers.why
    # the question alone shares no content word with "do you serve pork"
    without = FaqIndex.build([*CAFE_EN, FaqDoc(8, "en", ("Is your food halal?",))])
    assert without.match("do you serve pork", "en").decision is Decision.FALLBACK
