"""FaqService and the CSV import on a real temporary database."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from care import faq as care_faq
from care import smalltalk
from care.errors import InvalidArgument, UnknownFaqEntry, UnknownUnanswered
from care.faq import FaqService, has_words, question_language
from care.faq_csv import export_faq, import_faq
from care.faq_match import Decision, FaqDoc, FaqIndex
from care.settings import FaqSettings, StaffSettings
from handlers.texts import catalogue
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger

CSV = """id,question,alternates,answer
1,What are your opening hours?,When are you open?|What time do you close?,We open 8-18.
2,What is the wifi password?,Do you have wifi?,The password is beans.
3,Do you have vegan options?,vegan food|plant milk,Oat and soy milk.
"""


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


@pytest.fixture
async def faq(db: Database, clock: FakeClock, messenger: RecordingMessenger) -> FaqService:
    service = FaqService(db, clock, FaqSettings(), messenger, StaffSettings(chat_id=-77), "en")
    report = await import_faq(db, clock, service, CSV, "en")
    assert report.imported == 3 and report.rejected == []
    return service


async def test_answers_a_question_with_a_typo(faq: FaqService) -> None:
    result = await faq.ask("wifi pasword?", "en")
    assert result.decision is Decision.ANSWER
    assert result.entry is not None and result.entry.entry_id == 2
    assert "wifi" in result.match.why


async def test_unrelated_question_is_recorded_once_and_counted(faq: FaqService) -> None:
    first = await faq.ask("Who won the football yesterday?", "en")
    second = await faq.ask("who won the FOOTBALL yesterday", "en")
    assert first.decision is second.decision is Decision.FALLBACK
    assert first.unanswered_id == second.unanswered_id
    [row] = await faq.unanswered()
    assert row.count == 2 and row.example == "who won the FOOTBALL yesterday"


async def test_teach_makes_the_question_answered(faq: FaqService) -> None:
    miss = await faq.ask("can I charge my phone somewhere", "en")
    assert miss.decision is not Decision.ANSWER and miss.unanswered_id is not None
    await faq.save("en", "Do you have power sockets?", ("charging",), "Yes, by the window.")
    taught = await faq.teach(miss.unanswered_id, 4)
    assert "can I charge my phone somewhere" in taught.alternates
    hit = await faq.ask("can i charge my phone somewhere?", "en")
    assert hit.decision is Decision.ANSWER and hit.entry is not None and hit.entry.entry_id == 4
    assert await faq.unanswered() == []


async def test_chinese_question_from_an_english_customer_is_answered_in_chinese(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    zh = "id,question,alternates,answer\n1,你们的营业时间是？,几点开门？,我们 8 点开门。\n"
    await import_faq(db, clock, faq, zh, "zh")
    result = await faq.ask("你们几点开门", "en")
    assert result.decision is Decision.ANSWER and result.lang == "zh"
    assert result.entry is not None and result.entry.answer == "我们 8 点开门。"


async def test_bad_csv_rows_are_reported_with_line_numbers(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    text = (
        "id,question,alternates,answer\n"
        "7,Good question?,,Good answer.\n"
        "x,Bad id?,,Answer\n"
        "8,,,No question\n"
        "9,No answer?,,\n"
        "7,Duplicate?,,Again\n"
        "10,too,few\n"
    )
    report = await import_faq(db, clock, faq, text, "en")
    assert report.imported == 1
    assert [r.line for r in report.rejected] == [3, 4, 5, 6, 7]
    assert "id must be" in report.rejected[0].reason
    exported = await export_faq(db, "en")
    assert "7,Good question?,,Good answer." in exported
    bad_header = await import_faq(db, clock, faq, "q,a\n1,2\n", "en")
    assert bad_header.imported == 0 and bad_header.rejected[0].line == 1


async def test_export_then_import_is_lossless(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    exported = await export_faq(db, "en")
    await faq.delete(2)
    await import_faq(db, clock, faq, exported, "en")
    assert await export_faq(db, "en") == exported


async def test_edits_and_errors(faq: FaqService) -> None:
    edited = await faq.edit(3, "en", "answer", "Oat, soy and almond milk.")
    assert edited.answer == "Oat, soy and almond milk."
    with pytest.raises(UnknownFaqEntry):
        await faq.edit(99, "en", "answer", "x")
    with pytest.raises(InvalidArgument):
        await faq.edit(3, "en", "colour", "x")
    with pytest.raises(InvalidArgument):
        await faq.save("fr", "Q?", (), "A")
    await faq.delete(3)
    with pytest.raises(UnknownFaqEntry):
        await faq.show(3)


async def test_ask_staff_posts_to_the_staff_chat(
    faq: FaqService, messenger: RecordingMessenger
) -> None:
    miss = await faq.ask("is the manager in today", "en")
    assert miss.unanswered_id is not None
    assert await faq.ask_staff(miss.unanswered_id, "Alice")
    [sent] = messenger.sent
    assert sent.chat_id == -77 and sent.key == "faq.staff_question"
    assert sent.fields["question"] == "is the manager in today"


async def test_text_without_words_is_not_recorded(faq: FaqService) -> None:
    assert not has_words("🙂🙂") and not has_words("???") and has_words("wifi?")
    assert await faq.record_unanswered("🙂🙂", "en") is None
    result = await faq.ask("???", "en")
    assert result.decision is Decision.FALLBACK and result.unanswered_id is None
    assert await faq.unanswered() == []


async def test_votes_count_once_per_answer_message(faq: FaqService) -> None:
    assert await faq.vote(2, "en", True, chat_id=5, message_id=10)
    assert not await faq.vote(2, "en", True, chat_id=5, message_id=10)  # a double tap
    assert not await faq.vote(2, "en", False, chat_id=5, message_id=10)  # changed its mind
    assert await faq.vote(2, "en", False, chat_id=5, message_id=11)  # another answer
    assert await faq.vote(2, "en", True, chat_id=6, message_id=10)  # another chat
    [row] = await faq.show(2)
    assert (row.helpful, row.unhelpful) == (2, 1)


async def test_generation_moves_with_entries_but_not_with_votes(faq: FaqService) -> None:
    before = await faq.generation()
    await faq.vote(1, "en", True, chat_id=5, message_id=1)
    assert await faq.generation() == before
    await faq.edit(1, "en", "answer", "We open 9-17.")
    after_edit = await faq.generation()
    assert after_edit > before
    await faq.delete(3)
    assert await faq.generation() > after_edit


GIFT_CARDS = "id,question,alternates,answer\n9,Do you sell gift cards?,gift voucher,Yes.\n"


async def test_a_change_by_another_process_is_answered_at_once(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    miss = await faq.ask("do you sell gift cards", "en", record=False)
    assert miss.decision is not Decision.ANSWER
    other = await Database.open(db.path)  # e.g. `carebot faq import` while the bot runs
    try:
        assert (await import_faq(other, clock, None, GIFT_CARDS, "en")).imported == 1
    finally:
        await other.close()
    hit = await faq.ask("do you sell gift cards", "en", record=False)
    assert hit.decision is Decision.ANSWER and hit.entry is not None
    assert hit.entry.entry_id == 9


async def test_a_change_during_a_rebuild_is_not_lost(
    faq: FaqService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index built from rows read before a change is never kept as current."""
    loop = asyncio.get_running_loop()
    real_build = care_faq.FaqIndex.build
    builds: list[int] = []

    def build_while_the_faq_changes(docs: list[FaqDoc]) -> FaqIndex:
        if not builds:  # first build: another process changes the FAQ, and we are told
            with sqlite3.connect(db.path) as other:
                other.execute(
                    "INSERT INTO faq (entry_id, language, question, answer, updated_at)"
                    " VALUES (9, 'en', 'Do you sell gift cards?', 'Yes.', '2026-11-22')"
                )
            other.close()
            asyncio.run_coroutine_threadsafe(faq.invalidate(), loop).result(timeout=5)
        builds.append(len(docs))
        return real_build(docs)

    monkeypatch.setattr(care_faq.FaqIndex, "build", build_while_the_faq_changes)
    first = await faq.ask("do you sell gift cards", "en", record=False)
    assert first.decision is not Decision.ANSWER  # built from the rows before the change
    second = await faq.ask("do you sell gift cards", "en", record=False)
    assert second.decision is Decision.ANSWER and second.entry is not None
    assert second.entry.entry_id == 9 and builds == [3, 4]


async def test_teaching_an_unknown_question_names_it(faq: FaqService) -> None:
    with pytest.raises(UnknownUnanswered) as raised:
        await faq.teach(99, 1)
    assert raised.value.key == "faq.unknown_unanswered"
    assert raised.value.fields == {"number": 99}


# --- small talk -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "lang"),
    [
        ("hi", smalltalk.HELLO, "en"),
        ("Hello!", smalltalk.HELLO, "en"),
        ("hi there 👋", smalltalk.HELLO, "en"),
        ("Good morning", smalltalk.HELLO, "en"),
        ("thanks", smalltalk.THANKS, "en"),
        ("Thank you!!", smalltalk.THANKS, "en"),
        ("ok thanks", smalltalk.THANKS, "en"),
        ("bye", smalltalk.BYE, "en"),
        ("Goodbye 👋", smalltalk.BYE, "en"),
        ("你好", smalltalk.HELLO, "zh"),
        ("您好！", smalltalk.HELLO, "zh"),
        ("你好呀", smalltalk.HELLO, "zh"),
        ("谢谢", smalltalk.THANKS, "zh"),
        ("好的，谢谢！", smalltalk.THANKS, "zh"),
        ("再见", smalltalk.BYE, "zh"),
        ("拜拜", smalltalk.BYE, "zh"),
    ],
)
def test_small_talk_is_recognised_in_its_language(text: str, key: str, lang: str) -> None:
    assert smalltalk.reply_key(text) == key
    assert question_language(text, "zh" if lang == "en" else "en") == lang


@pytest.mark.parametrize(
    "text",
    [
        "hi, what time do you open?",
        "thanks, but where can I park?",
        "wifi",
        "ok",
        "",
        "🙂",
        "你们几点开门",
        "早餐几点开始",
        "拜托帮我看看",
    ],
)
def test_questions_are_not_small_talk(text: str) -> None:
    assert smalltalk.reply_key(text) is None


def test_every_small_talk_reply_is_in_the_catalogue() -> None:
    texts = catalogue()
    for key in smalltalk.KEYS:
        assert set(texts[key]) == {"en", "zh"}, key
