"""FaqService and the CSV import on a real temporary database."""

from __future__ import annotations

import pytest

from care.errors import InvalidArgument, UnknownFaqEntry
from care.faq import FaqService
from care.faq_csv import export_faq, import_faq
from care.faq_match import Decision
from care.settings import FaqSettings, StaffSettings
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
