"""The durable inbox: stored once per bot, done with the handler's change, failures parked."""

from __future__ import annotations

import pytest

from care.inbox import MAX_ATTEMPTS, Inbox, chat_key
from care.outbox import Outbox
from storage import inbox as repo
from storage.db import Database, Rider, riding
from tests.fakes import FakeClock, RecordingMessenger

BOT, OTHER_BOT = 111, 222


def _message(update_id: int, chat_id: int = 5, text: str = "hi") -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": {"id": chat_id}, "text": text},
    }


async def _statuses(db: Database) -> dict[str, int]:
    async with db.read() as tx:
        return await repo.counts(tx)


async def test_an_update_is_stored_once_per_bot(db: Database, clock: FakeClock) -> None:
    inbox = Inbox(db, clock)
    assert [r.update_id for r in await inbox.store(BOT, [_message(1), _message(2)])] == [1, 2]
    assert [r.update_id for r in await inbox.store(BOT, [_message(2), _message(3)])] == [3]
    # A database reused by another bot token: its update 1 is not "already processed".
    assert [r.update_id for r in await inbox.store(OTHER_BOT, [_message(1)])] == [1]


async def test_done_commits_with_the_handlers_change_or_not_at_all(
    db: Database, clock: FakeClock
) -> None:
    inbox = Inbox(db, clock)
    await inbox.store(BOT, [_message(1), _message(2)])
    with pytest.raises(RuntimeError), riding():
        inbox.mark_done_with_change(BOT, 1)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO audit_log VALUES (NULL, 1, 'a', '', 'ok', 'now')")
            raise RuntimeError("the handler failed")
    assert await _statuses(db) == {"pending": 2}
    with riding() as rider:
        inbox.mark_done_with_change(BOT, 1)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO audit_log VALUES (NULL, 1, 'a', '', 'ok', 'now')")
        assert rider.committed
    with riding() as rider:  # a handler that changed nothing: settled on its own
        inbox.mark_done_with_change(BOT, 2)
        await db.settle([rider])
    assert await _statuses(db) == {"done": 2}
    assert await db.scalar("SELECT count(*) FROM audit_log") == 1


async def test_recovery_hands_back_unfinished_updates_and_parks_repeat_offenders(
    db: Database, clock: FakeClock
) -> None:
    inbox = Inbox(db, clock)
    await inbox.store(BOT, [_message(1), _message(2)])
    await inbox.mark_done(BOT, 1)
    for attempt in range(1, MAX_ATTEMPTS):
        recovered = await inbox.recover(BOT)
        assert [(r.update_id, r.attempts) for r in recovered] == [(2, attempt)]
    assert await inbox.recover(BOT) == []  # crashed every time: parked, not retried forever
    (parked,) = await inbox.parked()
    assert (parked.update_id, parked.summary) == (2, "message: hi")
    assert await inbox.retry(2)
    assert [r.update_id for r in await inbox.recover(BOT)] == [2]


async def test_failures_park_after_the_last_attempt(db: Database, clock: FakeClock) -> None:
    inbox = Inbox(db, clock)
    await inbox.store(BOT, [_message(1)])
    assert not await inbox.failed(BOT, 1, "KeyError: x", attempts=1)
    assert await inbox.failed(BOT, 1, "KeyError: x", attempts=MAX_ATTEMPTS)
    assert [p.error for p in await inbox.parked()] == ["KeyError: x"]


async def test_done_updates_are_pruned_after_two_days(db: Database, clock: FakeClock) -> None:
    inbox = Inbox(db, clock)
    await inbox.store(BOT, [_message(1), _message(2)])
    await inbox.mark_done(BOT, 1)
    clock.advance(days=3)
    assert await inbox.prune() == 1
    assert await _statuses(db) == {"pending": 1}


async def test_a_change_committed_without_its_reply_is_told_once_in_the_senders_language(
    db: Database, clock: FakeClock
) -> None:
    inbox, messenger = Inbox(db, clock), RecordingMessenger()
    outbox = Outbox(db, clock, messenger)
    zh_sender = _message(1, chat_id=5, text="/earn @alice 12")
    sender = {"id": 5, "is_bot": False, "first_name": "Wei", "language_code": "zh-hans"}
    zh_sender["message"]["from"] = sender  # type: ignore[index]
    await inbox.store(BOT, [zh_sender, _message(2, chat_id=6), _message(3, chat_id=7)])
    for update_id in (1, 2):  # both changed something; only 2's reply went out
        with riding() as rider:
            mark = inbox.mark_done_with_change(BOT, update_id)
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO audit_log VALUES (NULL, 1, 'a', '', 'ok', 'now')")
            if update_id == 2:
                mark.answered = True
                answered = Rider()
                answered.works.append(mark.answer)
                await db.settle([answered])
    with riding() as rider:  # 3 changed nothing: its mark settles as answered
        mark = inbox.mark_done_with_change(BOT, 3)
        mark.answered = True
        await db.settle([rider])

    assert await inbox.tell_unanswered(BOT, outbox, "en") == 1
    assert await inbox.tell_unanswered(BOT, outbox, "en") == 0  # told once
    await outbox.drain()
    [notice] = messenger.sent
    assert (notice.chat_id, notice.key, notice.lang) == (5, "common.done_before_restart", "zh")
    assert notice.fields == {"what": "/earn @alice 12"} and notice.reply_to_message_id == 1


def test_chat_key_orders_by_chat_then_sender() -> None:
    assert chat_key(_message(1, chat_id=-100)) == "c-100"
    query = {"update_id": 1, "callback_query": {"id": "q", "from": {"id": 7}, "data": "x"}}
    assert chat_key(query) == "u7"
    assert chat_key({"update_id": 1, "poll": {"id": "p"}}) == "-"


async def test_a_done_photo_is_told_without_a_quote_and_a_button_press_as_a_tap(
    db: Database, clock: FakeClock
) -> None:
    inbox, messenger = Inbox(db, clock), RecordingMessenger()
    outbox = Outbox(db, clock, messenger)
    photo = {
        "update_id": 1,
        "message": {"message_id": 3, "date": 0, "chat": {"id": 5}, "photo": [{"file_id": "p"}]},
    }
    press = {
        "update_id": 2,
        "callback_query": {
            "id": "q",
            "from": {"id": 6, "is_bot": False, "first_name": "Bo"},
            "message": {"message_id": 9, "date": 0, "chat": {"id": 6}},
            "data": "x",
        },
    }
    await inbox.store(BOT, [photo, press])
    for update_id in (1, 2):
        with riding():
            inbox.mark_done_with_change(BOT, update_id)
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO audit_log VALUES (NULL, 1, 'a', '', 'ok', 'now')")
    assert await inbox.tell_unanswered(BOT, outbox, "en") == 2
    await outbox.drain()
    assert {(m.chat_id, m.key, m.reply_to_message_id) for m in messenger.sent} == {
        (5, "common.done_before_restart_message", 3),
        (6, "common.done_before_restart_button", 9),
    }
