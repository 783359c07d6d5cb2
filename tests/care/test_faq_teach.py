"""Teaching the FAQ: near-identical questions grouped, proposals decided once, the digest."""

from __future__ import annotations

import pytest

from care.errors import NotStaff
from care.faq.service import FaqService
from care.faq.teach import group_questions, near_identical
from care.outbox import Outbox
from care.settings import FaqSettings, StaffSettings
from care.staff import StaffService
from storage.db import Database
from storage.faq import UnansweredRow
from tests.fakes import FakeClock, RecordingMessenger
from tests.faq_support import faq_service

OWNER, ALICE = 1, 500


def _row(n: int, text: str, count: int = 1, lang: str = "en") -> UnansweredRow:
    return UnansweredRow(n, text, lang, text, count, "2026-11-22", "2026-11-22")


def _service(db: Database, clock: FakeClock, chat_id: int | None = -77) -> FaqService:
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER], chat_id=chat_id))
    return faq_service(db, clock, FaqSettings(), staff, Outbox(db, clock, RecordingMessenger()))


def test_near_identical_questions_are_grouped_and_counted() -> None:
    assert near_identical("can i plug in my phone charger", "can i plug my phone charger in")
    assert not near_identical("can i plug in my phone charger", "any board games to play")
    rows = [
        _row(1, "can i plug in my phone charger", 3),
        _row(2, "any board games to play", 2),
        _row(3, "can i plug my phone charger in", 1),
        _row(4, "can i plug in my phone charger", 1, "zh"),  # another language: its own
    ]
    [group] = group_questions(rows)
    assert (group.count, group.numbers, group.lang) == (4, (1, 3), "en")
    assert group.question == "can i plug in my phone charger"
    assert group.alternates == ("can i plug my phone charger in",)


async def test_a_proposal_is_decided_once_and_only_by_staff(
    db: Database, clock: FakeClock
) -> None:
    faq = _service(db, clock)
    entry = await faq.add(OWNER, "en", "How do loyalty points work?", (), "1 point per £1.")
    await faq.suggestion_pressed(entry, "en", ("my points", "en"), chat_id=ALICE, message_id=9)
    await faq.suggestion_pressed(entry, "en", ("my points", "en"), chat_id=ALICE, message_id=9)
    [proposal] = (await faq.review(OWNER)).proposals
    assert (proposal.question, proposal.count, proposal.entry_id) == ("my points", 1, entry)
    with pytest.raises(NotStaff):
        await faq.decide(ALICE, proposal.id, True)
    assert not (await faq.decide(OWNER, proposal.id, True)).already
    assert (await faq.decide(OWNER, proposal.id, False)).already  # decided: nothing changes
    [row] = await faq.show(OWNER, entry)
    assert row.alternates == ("my points",)
    answer = await faq.answer("my points", "en", asker=ALICE)
    assert answer.entry is not None and answer.entry.entry_id == entry
    await faq.suggestion_pressed(entry, "en", ("my points", "en"), chat_id=ALICE, message_id=10)
    assert (await faq.review(OWNER)).proposals == ()  # a known phrasing is not proposed


async def test_no_staff_chat_no_digest(db: Database, clock: FakeClock) -> None:
    faq = _service(db, clock, chat_id=None)
    await faq.answer("any board games to play", "en", asker=ALICE)
    assert await faq.weekly_digest() == 0
