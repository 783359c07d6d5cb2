"""FaqService and the CSV import on a real temporary database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from care.customers import CustomerService
from care.errors import (
    ExpiredButton,
    InvalidArgument,
    NoEntryToExtend,
    NotStaff,
    UnknownFaqEntry,
    UnknownUnanswered,
)
from care.faq import live as care_faq
from care.faq import smalltalk
from care.faq.csv import export_faq, import_faq
from care.faq.index import FaqDoc
from care.faq.match import FaqIndex
from care.faq.results import Outcome, TeamAsked
from care.faq.service import FaqService
from care.faq.text import normalise
from care.outbox import Outbox
from care.settings import FaqSettings, LocaleSettings, StaffSettings
from care.staff import StaffService
from handlers.texts import catalogue
from storage import audit as audit_repo
from storage.db import Database, riding
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

OWNER = 42
ALICE = 1001

CSV = """id,question,alternates,answer
1,What are your opening hours?,When are you open?|What time do you close?,We open 8-18.
2,What is the wifi password?,Do you have wifi?,The password is beans.
3,Do you have vegan options?,vegan food|plant milk,Oat and soy milk.
"""


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


@pytest.fixture
def outbox(db: Database, clock: FakeClock, messenger: RecordingMessenger) -> Outbox:
    return Outbox(db, clock, messenger)


@pytest.fixture
async def faq(db: Database, clock: FakeClock, outbox: Outbox) -> FaqService:
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER], chat_id=-77))
    service = faq_service(db, clock, FaqSettings(), staff, outbox)
    report = await import_faq(db, clock, service, CSV, "en")
    assert report.imported == 3 and report.rejected == []
    return service


async def test_answers_a_question_with_a_typo(faq: FaqService) -> None:
    result = await faq.answer("wifi pasword?", "en", asker=ALICE)
    assert result.outcome is Outcome.ANSWER
    assert result.entry is not None and result.entry.entry_id == 2
    assert result.match is not None and "wifi" in result.match.why


async def test_unrelated_question_is_recorded_once_and_counted(faq: FaqService) -> None:
    first = await faq.answer("Who won the football yesterday?", "en", asker=ALICE)
    second = await faq.answer("who won the FOOTBALL yesterday", "en", asker=ALICE)
    assert first.outcome is second.outcome is Outcome.FALLBACK
    assert first.unanswered_id is not None and first.unanswered_id == second.unanswered_id
    [row] = await faq.unanswered(OWNER)
    assert row.count == 2 and row.example == "who won the FOOTBALL yesterday"


async def test_teach_makes_the_question_answered(faq: FaqService) -> None:
    miss = await faq.answer("can I charge my phone somewhere", "en", asker=ALICE)
    assert miss.outcome is Outcome.FALLBACK and miss.unanswered_id is not None
    await faq.add(OWNER, "en", "Do you have power sockets?", ("charging",), "Yes, by the window.")
    taught = await faq.teach(OWNER, miss.unanswered_id, 4)
    assert "can I charge my phone somewhere" in taught.alternates
    hit = await faq.answer("can i charge my phone somewhere?", "en", asker=ALICE)
    assert hit.outcome is Outcome.ANSWER and hit.entry is not None and hit.entry.entry_id == 4
    assert await faq.unanswered(OWNER) == []


async def test_chinese_question_from_an_english_customer_is_answered_in_chinese(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    zh = "id,question,alternates,answer\n1,你们的营业时间是？,几点开门？,我们 8 点开门。\n"
    await import_faq(db, clock, faq, zh, "zh")
    result = await faq.answer("你们几点开门", "en", asker=ALICE)
    assert result.outcome is Outcome.ANSWER and result.lang == "zh"
    assert result.entry is not None and result.entry.answer == "我们 8 点开门。"


async def test_bad_csv_rows_are_reported_with_line_numbers(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    text = (
        "id,question,alternates,answer\n"
        "7,Good question?,,Good answer.\n"
        "x y,Bad id?,,Answer\n"
        "8,,,No question\n"
        "9,No answer?,,\n"
        "7,Duplicate?,,Again\n"
        "10,too,few\n"
    )
    report = await import_faq(db, clock, faq, text, "en")
    assert report.imported == 1
    assert [r.line for r in report.rejected] == [3, 4, 5, 6, 7]
    assert "a text id is" in report.rejected[0].reason
    exported = await export_faq(db, "en")
    assert "7,Good question?,,Good answer." in exported
    bad_header = await import_faq(db, clock, faq, "q,a\n1,2\n", "en")
    assert bad_header.imported == 0 and bad_header.rejected[0].line == 1


async def test_export_then_import_is_lossless(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    exported = await export_faq(db, "en")
    await faq.delete(OWNER, 2)
    await import_faq(db, clock, faq, exported, "en")
    assert await export_faq(db, "en") == exported


async def test_edits_and_errors(faq: FaqService) -> None:
    edited = await faq.edit(OWNER, 3, "en", "answer", "Oat, soy and almond milk.")
    assert edited.answer == "Oat, soy and almond milk."
    with pytest.raises(UnknownFaqEntry):
        await faq.edit(OWNER, 99, "en", "answer", "x")
    with pytest.raises(InvalidArgument):
        await faq.edit(OWNER, 3, "en", "colour", "x")
    with pytest.raises(InvalidArgument):
        await faq.add(OWNER, "fr", "Q?", (), "A")
    await faq.delete(OWNER, 3)
    with pytest.raises(UnknownFaqEntry):
        await faq.show(OWNER, 3)


async def test_ask_team_posts_to_the_staff_chat_once_through_the_outbox(
    faq: FaqService, outbox: Outbox, messenger: RecordingMessenger
) -> None:
    miss = await faq.answer("is the manager in today", "en", asker=ALICE)
    assert miss.unanswered_id is not None
    press = {"telegram_id": ALICE, "name": "Alice", "chat_id": ALICE, "message_id": 7}
    first = await faq.ask_team(miss.unanswered_id, **press)
    again = await faq.ask_team(miss.unanswered_id, **press)  # a double tap
    assert (first.outcome, again.outcome) == (TeamAsked.NOTIFIED, TeamAsked.REPEAT)
    assert messenger.sent == []  # nothing is sent from inside the use case
    assert await outbox.drain() == 1
    [sent] = messenger.sent
    assert sent.chat_id == -77 and sent.key == "faq.staff_question"
    assert sent.fields["question"] == "is the manager in today"
    with pytest.raises(ExpiredButton):  # a forged or stale number
        await faq.ask_team(999, **press)


async def test_text_without_words_is_not_recorded(faq: FaqService) -> None:
    for text in ("🙂🙂", "???"):
        result = await faq.answer(text, "en", asker=ALICE)
        assert result.outcome is Outcome.NO_WORDS and result.unanswered_id is None
    assert (await faq.answer("wifi?", "en", asker=ALICE)).outcome is Outcome.ANSWER
    assert await faq.unanswered(OWNER) == []


async def test_code_is_asked_for_words_and_not_recorded(
    db: Database, clock: FakeClock, faq: FaqService
) -> None:
    tables = "id,question,alternates,answer\n4,Can I book a table?,reserve a table,Call us.\n"
    assert (await import_faq(db, clock, faq, tables, "en")).imported == 1
    code = ("'; DROP TABLE customers; --", "drop table bookings", "<script>alert(1)</script>")
    for text in code:
        result = await faq.answer(text, "en", asker=ALICE)
        assert result.outcome is Outcome.NO_WORDS and result.unanswered_id is None, text
    for text in ("can I reserve a table?", "can I select a table from the floor plan"):
        result = await faq.answer(text, "en", asker=ALICE)
        assert result.entry is not None and result.entry.entry_id == 4, text
    assert await faq.unanswered(OWNER) == []


async def test_votes_count_once_per_answer_message(faq: FaqService) -> None:
    assert (await faq.vote(2, "en", True, chat_id=5, message_id=10)).counted
    assert not (await faq.vote(2, "en", True, chat_id=5, message_id=10)).counted  # double tap
    assert not (await faq.vote(2, "en", False, chat_id=5, message_id=10)).counted  # changed mind
    assert (await faq.vote(2, "en", False, chat_id=5, message_id=11)).counted  # another answer
    assert (await faq.vote(2, "en", True, chat_id=6, message_id=10)).counted  # another chat
    with pytest.raises(ExpiredButton):  # a forged entry id
        await faq.vote(999, "en", True, chat_id=5, message_id=12)
    [row] = await faq.show(OWNER, 2)
    assert (row.helpful, row.unhelpful) == (2, 1)


async def test_generation_moves_with_entries_but_not_with_votes(faq: FaqService) -> None:
    before = await faq.generation()
    await faq.vote(1, "en", True, chat_id=5, message_id=1)
    assert await faq.generation() == before
    await faq.edit(OWNER, 1, "en", "answer", "We open 9-17.")
    after_edit = await faq.generation()
    assert after_edit > before
    await faq.delete(OWNER, 3)
    assert await faq.generation() > after_edit


GIFT_CARDS = "id,question,alternates,answer\n9,Do you sell gift cards?,gift voucher,Yes.\n"


async def test_a_change_by_another_process_is_answered_at_once(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    miss = await faq.answer("do you sell gift cards", "en", asker=None)
    assert miss.outcome is not Outcome.ANSWER
    other = await Database.open(db.path)  # e.g. `carebot faq import` while the bot runs
    try:
        assert (await import_faq(other, clock, None, GIFT_CARDS, "en")).imported == 1
    finally:
        await other.close()
    hit = await faq.answer("do you sell gift cards", "en", asker=None)
    assert hit.outcome is Outcome.ANSWER and hit.entry is not None
    assert hit.entry.entry_id == 9


async def test_a_change_during_a_rebuild_is_not_lost(
    faq: FaqService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index built from rows read before a change is never kept as current."""
    loop = asyncio.get_running_loop()
    real_build = care_faq.FaqIndex.build
    builds: list[int] = []

    def build_while_the_faq_changes(docs: list[FaqDoc], **kwargs: Any) -> FaqIndex:
        if not builds:  # first build: another process changes the FAQ, and we are told
            with sqlite3.connect(db.path) as other:
                other.execute(
                    "INSERT INTO faq (entry_id, language, question, answer, updated_at)"
                    " VALUES (9, 'en', 'Do you sell gift cards?', 'Yes.', '2026-11-22')"
                )
            other.close()
            asyncio.run_coroutine_threadsafe(faq.invalidate(), loop).result(timeout=5)
        builds.append(len(docs))
        return real_build(docs, **kwargs)

    monkeypatch.setattr(care_faq.FaqIndex, "build", build_while_the_faq_changes)
    first = await faq.answer("do you sell gift cards", "en", asker=None)
    assert first.outcome is not Outcome.ANSWER  # built from the rows before the change
    second = await faq.answer("do you sell gift cards", "en", asker=None)
    assert second.outcome is Outcome.ANSWER and second.entry is not None
    assert second.entry.entry_id == 9 and builds == [3, 4]


async def test_teaching_an_unknown_question_names_it(faq: FaqService) -> None:
    with pytest.raises(UnknownUnanswered) as raised:
        await faq.teach(OWNER, 99, 1)
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
async def test_small_talk_is_recognised_in_its_language(
    faq: FaqService, text: str, key: str, lang: str
) -> None:
    assert smalltalk.reply_key(normalise(text)) == key
    reply = await faq.answer(text, "zh" if lang == "en" else "en", asker=ALICE)
    assert (reply.outcome, reply.small_talk, reply.lang) == (Outcome.SMALL_TALK, key, lang)


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
    assert smalltalk.reply_key(normalise(text)) is None


def test_every_small_talk_reply_is_in_the_catalogue() -> None:
    texts = catalogue()
    for key in smalltalk.KEYS:
        assert set(texts[key]) == {"en", "zh"}, key


# --- one call, one decision, at most one write -------------------------------------------------


@pytest.fixture
async def statements(db: Database) -> AsyncIterator[list[str]]:
    """Every SQL statement the database runs from now on (sqlite3's trace callback)."""
    seen: list[str] = []
    await db._conn.set_trace_callback(seen.append)
    yield seen
    await db._conn.set_trace_callback(None)


def _writes(statements: list[str]) -> int:
    return sum(1 for sql in statements if sql.startswith("BEGIN IMMEDIATE"))


async def test_an_answered_question_writes_nothing_and_a_fallback_one_transaction(
    faq: FaqService, statements: list[str]
) -> None:
    await faq.answer("warm-up: build the index", "en", asker=None)
    for text, outcome, writes in (
        ("wifi pasword?", Outcome.ANSWER, 0),
        ("hi", Outcome.SMALL_TALK, 0),
        ("🙂", Outcome.NO_WORDS, 0),
        ("who won the football yesterday", Outcome.FALLBACK, 1),
    ):
        statements.clear()
        with riding() as rider:  # as in the bot: an update's own commit carries the count
            result = await faq.answer(text, "en", asker=ALICE)
        assert result.outcome is outcome, text
        assert _writes(statements) == writes, (text, statements)
        # The report's outcome counter rides along with an answer (the fallback's is in its
        # own transaction); small talk and empty messages are not questions.
        assert len(rider.works) == (outcome is Outcome.ANSWER), text


async def test_follow_up_buttons_write_once_and_a_double_tap_nothing_new(
    faq: FaqService, statements: list[str]
) -> None:
    question = ("do you do catering", "en")
    first = await faq.none_of_these(question, chat_id=ALICE, message_id=3)
    again = await faq.none_of_these(question, chat_id=ALICE, message_id=3)
    assert not first.repeat and first.unanswered_id is not None and again.repeat
    [row] = await faq.unanswered(OWNER)
    assert row.count == 1  # the double tap was not counted again
    statements.clear()
    voted = await faq.vote(2, "en", False, chat_id=ALICE, message_id=4, question=question)
    assert voted.counted and voted.unanswered_id == first.unanswered_id
    assert _writes(statements) == 1  # the vote and the recorded question together


async def test_ask_team_opens_a_registered_customers_ticket_in_one_transaction(
    faq: FaqService,
    db: Database,
    clock: FakeClock,
    outbox: Outbox,
    messenger: RecordingMessenger,
    statements: list[str],
) -> None:
    await CustomerService(db, clock, LocaleSettings(), "Cafe").register(ALICE, None, "Alice", "en")
    miss = await faq.answer("is the manager in today", "en", asker=ALICE)
    assert miss.unanswered_id is not None
    statements.clear()
    press = {"telegram_id": ALICE, "name": "Alice", "chat_id": ALICE, "message_id": 8}
    asked = await faq.ask_team(miss.unanswered_id, **press)
    assert asked.outcome is TeamAsked.TICKET and asked.ticket is not None
    assert _writes(statements) == 1  # the press, the ticket, its stage and its staff card
    assert await outbox.drain() == 1
    [card] = messenger.sent
    assert card.chat_id == -77 and card.fields["number"] == asked.ticket.ticket.number


async def test_complaint_wording_is_a_complaint_before_any_suggestion(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    beans = (
        "id,question,alternates,answer\n"
        "10,Do you sell coffee beans?,coffee beans to take home,Yes.\n"
        "11,Do you have decaf?,decaf coffee,Yes.\n"
    )
    await import_faq(db, clock, faq, beans, "en")
    text = "my coffee was cold and the waiter was rude"
    result = await faq.answer(text, "en", asker=ALICE)
    assert result.outcome is Outcome.COMPLAINT  # offered first, the suggestions after it
    assert [row.entry_id for row in result.suggestions][:1] == [10]
    assert await faq.unanswered(OWNER) == []  # a complaint is not an FAQ gap


async def test_a_complaint_about_what_an_entry_answers_is_still_a_complaint(
    faq: FaqService, db: Database, clock: FakeClock
) -> None:
    milk = (
        "id,question,alternates,answer\n12,What milk do you use?,which milk,Organic whole milk.\n"
    )
    await import_faq(db, clock, faq, milk, "en")
    assert (await faq.answer("which milk do you use", "en", asker=ALICE)).outcome is Outcome.ANSWER
    result = await faq.answer("the milk was sour", "en", asker=ALICE)
    # not answered with the milk entry: the complaint first, the entry offered after it
    assert result.outcome is Outcome.COMPLAINT and result.entry is None
    assert [row.entry_id for row in result.suggestions] == [12]


async def test_add_with_an_unknown_id_is_refused_and_creates_nothing(
    faq: FaqService, db: Database
) -> None:
    with pytest.raises(NoEntryToExtend) as raised:
        await faq.add(OWNER, "en", "Do you sell cake?", (), "Yes.", entry_id=999)
    assert raised.value.key == "faq.no_entry_to_extend" and raised.value.fields["entry_id"] == 999
    with pytest.raises(UnknownFaqEntry):
        await faq.show(OWNER, 999)
    assert await faq.add(OWNER, "zh", "有无线网吗？", (), "有。", entry_id=2) == 2  # a language
    assert [r.language for r in await faq.show(OWNER, 2)] == ["en", "zh"]


async def test_staff_changes_are_audited_with_them_and_customers_refused(
    faq: FaqService, db: Database
) -> None:
    with pytest.raises(NotStaff):
        await faq.delete(ALICE, 2)
    await faq.delete(OWNER, 2)
    async with db.read() as tx:
        audit = await audit_repo.list_recent(tx, 10)
    assert [(r.actor_id, r.arguments, r.result) for r in audit[:2]] == [
        (OWNER, "del 2", "deleted 2"),
        (ALICE, "del 2", "refused: needs staff"),
    ]
    with pytest.raises(UnknownFaqEntry):
        await faq.show(OWNER, 2)


async def test_function_words_alone_fall_back_and_are_recorded(faq: FaqService) -> None:
    await faq.add(OWNER, "en", "Do you have a toilet?", (), "Yes, at the back.")
    for question in ("do you have sushi", "do you have a kids menu", "do you sell beer"):
        result = await faq.answer(question, "en", asker=ALICE)
        assert result.outcome is Outcome.FALLBACK and not result.suggestions, question
        assert result.match is not None
        why = result.match.why
        # the toilet entry may top the ranking only as the function words' match
        if "'Do you have a toilet?'" in why.split("; top:")[0]:
            assert "only function words" in why, why
    assert {row.example for row in await faq.unanswered(OWNER)} == {
        "do you have sushi",
        "do you have a kids menu",
        "do you sell beer",
    }
    toilet = await faq.answer("do you have a toilet", "en", asker=ALICE)
    assert toilet.outcome is Outcome.ANSWER and toilet.match is not None
    assert "carried by: toilet" in toilet.match.why
