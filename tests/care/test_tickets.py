"""TicketService: one transaction per use case, the outbox way out, threads, satisfaction, SLA."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite
import pytest

from care.customers import CustomerService
from care.errors import (
    ExpiredButton,
    InvalidArgument,
    NotStaff,
    TicketAlreadyResolved,
    TicketNotResolved,
    UnknownTicket,
)
from care.outbox import FIRST_RETRY, Outbox
from care.ports import Label, OutboundMessage, SendStatus
from care.settings import LocaleSettings, StaffSettings, StageSettings, TicketSettings
from care.staff import StaffService
from care.stages.service import StageService
from care.tickets.complaints import looks_like_complaint
from care.tickets.hours import counted_time
from care.tickets.results import Outcome, TicketCreated
from care.tickets.service import TicketService
from storage import audit as audit_repo
from storage import customers as customers_repo
from storage import outbox as outbox_repo
from storage import tickets as repo
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger

STAFF_CHAT = -100
OWNER = 1
ALICE_TG = 501
BOB_TG = 502


@dataclass
class Desk:
    """The ticket service with its outbox, and what reached Telegram."""

    tickets: TicketService
    outbox: Outbox
    messenger: RecordingMessenger

    async def sent(self) -> list[OutboundMessage]:
        """Drain the outbox (as the sender does after commit) and return everything sent."""
        await self.outbox.drain()
        return self.messenger.sent


def _desk(
    db: Database,
    clock: FakeClock,
    *,
    chat_id: int | None = STAFF_CHAT,
    settings: TicketSettings | None = None,
) -> Desk:
    messenger = RecordingMessenger()
    outbox = Outbox(db, clock, messenger)
    staff_settings = StaffSettings(owners=[OWNER], chat_id=chat_id)
    tickets = TicketService(
        db,
        clock,
        settings or TicketSettings(),
        LocaleSettings(),
        outbox,
        StaffService(db, clock, staff_settings),
        StageService(db, clock, StageSettings()),
    )
    return Desk(tickets, outbox, messenger)


@pytest.fixture
def desk(db: Database, clock: FakeClock) -> Desk:
    return _desk(db, clock)


@pytest.fixture
def tickets(desk: Desk) -> TicketService:
    return desk.tickets


async def _register(db: Database, clock: FakeClock, telegram_id: int, name: str) -> int:
    registration = await CustomerService(db, clock, LocaleSettings()).register(
        telegram_id, name.lower(), name, "en"
    )
    return registration.customer.id


@pytest.fixture
async def alice(db: Database, clock: FakeClock) -> int:
    return await _register(db, clock, ALICE_TG, "Alice")


def _count_writes(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every transaction the database opens (True: a write, BEGIN IMMEDIATE)."""
    opened: list[bool] = []
    original: Callable[..., AbstractAsyncContextManager[aiosqlite.Connection]] = db.transaction

    def counting(*, write: bool = True) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        opened.append(write)
        return original(write=write)

    monkeypatch.setattr(db, "transaction", counting)
    return opened


async def _ticket(db: Database, number: int) -> repo.TicketRow:
    async with db.read() as tx:
        found = await repo.find_by_number(tx, number)
    assert found is not None
    return found


async def test_opening_a_complaint_is_one_write_transaction_with_its_post_queued(
    db: Database, desk: Desk, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _count_writes(db, monkeypatch)
    created = await desk.tickets.open_complaint(ALICE_TG, "delivery", "It arrived cold")
    assert opened.count(True) == 1  # ticket, message, stage and staff post commit together
    async with db.read() as tx:
        queued = await outbox_repo.find(tx, "ticket.post", str(created.ticket.id))
    assert [row.status for row in queued] == ["pending"] and desk.messenger.sent == []


async def test_every_ticket_use_case_is_one_write_transaction(
    db: Database, desk: Desk, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = (await desk.tickets.open_feedback(ALICE_TG, 3, "Meh")).ticket.number
    await desk.sent()
    opened = _count_writes(db, monkeypatch)
    tickets = desk.tickets
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("reply", lambda: tickets.reply(OWNER, number, "What could be better?")),
        ("take", lambda: tickets.take(OWNER, number)),
        ("resolve", lambda: tickets.resolve(OWNER, number, "Thanks")),
        ("rate", lambda: tickets.rate(ALICE_TG, number, 2)),
        ("reopen", lambda: tickets.reopen(OWNER, number)),
        ("sla check", tickets.check_sla),
    ]
    for name, step in steps:
        before = opened.count(True)
        await step()
        assert opened.count(True) == before + 1, name


async def test_numbers_start_after_1000_and_the_post_and_its_photo_reach_staff(
    desk: Desk, alice: int
) -> None:
    first = await desk.tickets.open_complaint(ALICE_TG, "delivery", "It arrived cold", "photo-1")
    second = await desk.tickets.open_feedback(ALICE_TG, 5)
    assert (first.ticket.number, second.ticket.number) == (1001, 1002)
    assert first.expect_hours == 2 and not first.business_hours
    post, _, photo = await desk.sent()  # the photo follows once its post has an id
    assert post.chat_id == STAFF_CHAT and post.key == "tickets.staff_post_complaint"
    assert post.fields["name"] == "Alice" and post.fields["stage"] == Label(
        "stages.aware", "aware"
    )
    assert post.fields["open"] == 1 and "It arrived cold" in post.fields["body"]
    assert [data for _, data in post.buttons] == ["tickets:take:1001", "tickets:resolve:1001"]
    assert photo.photo == "photo-1" and photo.reply_to_message_id == 1  # under the post
    view = await desk.tickets.find(OWNER, 1001)
    assert view.ticket.staff_message_id == 1 and view.customer_name == "Alice"
    assert [(m.author, m.body, m.photo_file_id) for m in view.messages] == [
        ("customer", "It arrived cold", "photo-1")
    ]
    assert (await desk.tickets.find(OWNER, "#1002")).messages == []  # a rating, no comment


async def _question(db: Database, desk: Desk, customer_id: int, text: str) -> TicketCreated:
    """The FAQ's "ask our team": a question ticket opened inside the caller's transaction."""
    async with db.transaction() as tx:
        return await desk.tickets.open_question_in(tx, customer_id, text)


async def test_unreachable_staff_chat_keeps_the_ticket_and_posts_it_later(
    db: Database, desk: Desk, alice: int
) -> None:
    desk.messenger.statuses[STAFF_CHAT] = SendStatus.NOT_FOUND
    created = await _question(db, desk, alice, "Do you cater weddings?")
    await _question(db, desk, alice, "And birthdays?")
    assert await desk.sent() == []
    assert (await desk.tickets.check_sla()).posted == 1  # one probe while the chat fails
    assert await desk.sent() == []
    del desk.messenger.statuses[STAFF_CHAT]
    assert (await desk.tickets.check_sla()).posted == 1
    sent = await desk.sent()  # the probe got through, and the next missed ticket followed
    assert [m.fields["number"] for m in sent] == [1001, 1002]
    assert (await _ticket(db, created.ticket.number)).staff_message_id is not None
    assert (await desk.tickets.check_sla()).posted == 0


async def test_no_staff_chat_configured_keeps_tickets_unposted(
    db: Database, clock: FakeClock, alice: int
) -> None:
    desk = _desk(db, clock, chat_id=None)
    await desk.tickets.open_complaint(ALICE_TG, "other", "Hmm")
    assert (await desk.tickets.check_sla()).posted == 0
    assert await desk.sent() == []


async def test_reply_threads_and_the_answer_goes_back_to_staff(
    db: Database, desk: Desk, alice: int
) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "service", "Rude waiter")).ticket.number
    delivery = await desk.tickets.reply(OWNER, number, "So sorry, what time was it?")
    assert delivery.outcome is Outcome.QUEUED and delivery.ticket.status == "waiting_customer"
    assert delivery.ticket.first_response_at is not None and delivery.ticket.assignee_id == OWNER
    to_customer = (await desk.sent())[-1]
    assert to_customer.chat_id == ALICE_TG and to_customer.key == "tickets.customer_reply"
    replied_id = len(desk.messenger.sent)  # the recording messenger numbers its sends
    # A reply to the bot's message finds the ticket and goes back to the staff chat.
    thread = await desk.tickets.add_customer_message(ALICE_TG, replied_id, "Around 7 pm")
    assert thread is not None and thread.number == number
    back = (await desk.sent())[-1]
    assert back.chat_id == STAFF_CHAT and back.reply_to_message_id == 1
    assert back.fields["body"] == "Around 7 pm"
    assert (await _ticket(db, number)).status == "open"
    # No longer waiting: a plain message belongs to no ticket, and nothing is written.
    assert await desk.tickets.add_customer_message(ALICE_TG, None, "hello?") is None
    # A staff member replying to that message in the staff chat answers the customer.
    staff_reply = await desk.tickets.reply_in_staff_chat(
        OWNER, STAFF_CHAT, len(desk.messenger.sent), "Thanks, we'll check"
    )
    assert staff_reply is not None and staff_reply.ticket.number == number
    assert await desk.tickets.reply_in_staff_chat(OWNER, -555, 1, "elsewhere") is None


async def test_bad_input_raises_specific_errors(desk: Desk, alice: int) -> None:
    tickets = desk.tickets
    number = (await tickets.open_complaint(ALICE_TG, "billing", "Charged twice")).ticket.number
    with pytest.raises(UnknownTicket):
        await tickets.reply(OWNER, 999, "hello")
    with pytest.raises(InvalidArgument):
        await tickets.reply(OWNER, number, "   ")
    with pytest.raises(InvalidArgument):
        await tickets.reply(OWNER, "abc", "hello")
    with pytest.raises(TicketNotResolved):
        await tickets.reopen(OWNER, number)
    await tickets.resolve(OWNER, number)
    with pytest.raises(TicketAlreadyResolved):
        await tickets.resolve(OWNER, number)
    with pytest.raises(InvalidArgument):
        await tickets.open_complaint(ALICE_TG, "weather", "x")
    with pytest.raises(InvalidArgument):
        await tickets.list_for_staff(OWNER, "everything")
    reopened = await tickets.reopen(OWNER, number)
    assert reopened.status == "open" and reopened.resolved_at is None


async def test_staff_actions_need_a_role_and_are_audited_with_their_change(
    db: Database, desk: Desk, alice: int
) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "service", "Cold")).ticket.number
    with pytest.raises(NotStaff):
        await desk.tickets.reply(ALICE_TG, number, "Ha, got you")
    await desk.tickets.reply(OWNER, number, "Sorry!")
    taken = await desk.tickets.take(OWNER, number)
    assert taken.already  # the reply assigned it: taking it again changes nothing
    ticket = await _ticket(db, number)
    async with db.read() as tx:
        audit = [(r.actor_id, r.action, r.result) for r in await audit_repo.list_recent(tx)]
        messages = await repo.messages(tx, ticket.id)
    assert (ALICE_TG, "reply", "refused: needs staff") in audit
    assert (OWNER, "reply", "queued") in audit and (OWNER, "ticket_take", "already taken") in audit
    assert [m.body for m in messages if m.author == "staff"] == ["Sorry!"]


async def test_satisfaction_counts_once_and_a_low_score_reaches_staff(
    db: Database, clock: FakeClock, desk: Desk, alice: int
) -> None:
    tickets = desk.tickets
    await _register(db, clock, BOB_TG, "Bob")
    number = (await tickets.open_complaint(ALICE_TG, "product", "Broken cup")).ticket.number
    resolved = await tickets.resolve(OWNER, number, "Replaced it")
    assert resolved.queued and resolved.ticket.status == "resolved"
    ask = (await desk.sent())[-1]
    assert ask.key == "tickets.customer_resolved" and len(ask.buttons) == 5
    assert ask.buttons[0] == ("tickets.csat_5", f"tickets:csat:{number}:5")
    assert "Replaced it" in ask.fields["note"]
    with pytest.raises(ExpiredButton):
        await tickets.rate(BOB_TG, number, 1)  # someone else's ticket
    with pytest.raises(ExpiredButton):
        await tickets.rate(ALICE_TG, 999_999, 4)
    first = await tickets.rate(ALICE_TG, number, 2)
    second = await tickets.rate(ALICE_TG, number, 5)
    assert first.accepted and not second.accepted and second.ticket.csat == 2
    low = [m for m in await desk.sent() if m.key == "tickets.staff_low_csat"]
    assert len(low) == 1 and low[0].chat_id == STAFF_CHAT and low[0].reply_to_message_id == 1


async def test_blocked_customer_marks_the_ticket_and_staff_are_told(
    db: Database, desk: Desk, alice: int
) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "delivery", "Late again")).ticket.number
    desk.messenger.statuses[ALICE_TG] = SendStatus.BLOCKED
    delivery = await desk.tickets.reply(OWNER, number, "We are on it")
    assert delivery.queued
    notice = (await desk.sent())[-1]
    assert notice.chat_id == STAFF_CHAT and notice.key == "tickets.staff_undelivered"
    assert notice.fields["reason"] == Label("tickets.undelivered_because_blocked", "blocked")
    assert notice.reply_to_message_id == 1
    ticket = await _ticket(db, number)
    assert ticket.customer_unreachable and ticket.status == "open"
    view = await desk.tickets.find(OWNER, number)
    assert [m.author for m in view.messages] == ["customer", "staff", "system"]
    async with db.read() as tx:
        customer = await customers_repo.get(tx, alice)
    assert not customer.reachable


async def test_a_relay_whose_send_failed_is_retried_not_reported_blocked(
    db: Database, clock: FakeClock, desk: Desk, alice: int
) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "service", "Slow")).ticket.number
    desk.messenger.statuses[ALICE_TG] = SendStatus.FAILED  # e.g. a timeout
    await desk.tickets.reply(OWNER, number, "Sorry, on it")
    sent = await desk.sent()
    assert [m.key for m in sent] == ["tickets.staff_post_complaint"]  # no "blocked" notice
    ticket = await _ticket(db, number)
    assert not ticket.customer_unreachable and ticket.status == "waiting_customer"
    del desk.messenger.statuses[ALICE_TG]
    clock.advance(FIRST_RETRY)
    relay = (await desk.sent())[-1]
    assert relay.chat_id == ALICE_TG and relay.fields["text"] == "Sorry, on it"
    thread = await desk.tickets.add_customer_message(ALICE_TG, len(desk.messenger.sent), "ok")
    assert thread is not None and thread.number == number  # the retried relay threads too


async def test_a_customer_who_used_forget_cannot_get_the_reply_and_staff_hear_why(
    db: Database, clock: FakeClock, desk: Desk, alice: int
) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "service", "Rude")).ticket.number
    people = CustomerService(db, clock, LocaleSettings())
    await people.confirm_forget(ALICE_TG, await people.ask_forget(ALICE_TG))
    delivery = await desk.tickets.reply(OWNER, number, "Sorry about that")
    assert delivery.outcome is Outcome.FORGOTTEN
    assert [m.chat_id for m in await desk.sent()] == [STAFF_CHAT]  # only the ticket's post
    resolved = await desk.tickets.resolve(OWNER, number)
    assert resolved.outcome is Outcome.FORGOTTEN


async def test_a_long_staff_reply_goes_as_its_own_message(desk: Desk, alice: int) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "other", "Long story")).ticket.number
    text = "word " * 800  # 4000 characters: over the customers' limit, within Telegram's
    delivery = await desk.tickets.reply(OWNER, number, text)
    assert delivery.queued
    header, body = (await desk.sent())[-2:]
    assert header.key == "tickets.customer_reply_header" and body.key == "tickets.customer_text"
    assert body.fields["text"] == text.strip()
    with pytest.raises(InvalidArgument):
        await desk.tickets.reply(OWNER, number, "x" * 4097)


async def test_sla_reminder_and_escalation_fire_once(
    desk: Desk, alice: int, clock: FakeClock
) -> None:
    tickets = desk.tickets
    number = (await tickets.open_complaint(ALICE_TG, "service", "Waited")).ticket.number
    await desk.sent()  # the post is in the staff chat
    clock.advance(hours=1, minutes=59)
    assert (await tickets.check_sla()).reminders == 0
    clock.advance(minutes=1)
    report = await tickets.check_sla()
    assert (report.reminders, report.escalations) == (1, 0)
    reminder = (await desk.sent())[-1]
    assert reminder.key == "tickets.sla_first_response" and reminder.fields["hours"] == "2"
    assert reminder.fields["number"] == number and reminder.reply_to_message_id == 1
    assert (await tickets.check_sla()).reminders == 0
    clock.advance(hours=22)
    assert (await tickets.check_sla()).escalations == 1
    escalation = (await desk.sent())[-1]
    assert escalation.chat_id == OWNER and escalation.key == "tickets.sla_resolution"
    clock.advance(hours=5)
    assert await tickets.check_sla() == (await tickets.check_sla())
    assert len([m for m in await desk.sent() if m.key.startswith("tickets.sla_")]) == 2


async def test_an_owner_who_never_started_the_bot_is_asked_once_in_the_staff_chat(
    desk: Desk, alice: int, clock: FakeClock
) -> None:
    desk.messenger.statuses[OWNER] = SendStatus.BLOCKED  # 403: can't initiate conversation
    await desk.tickets.open_complaint(ALICE_TG, "service", "First")
    await desk.tickets.open_complaint(ALICE_TG, "service", "Second")
    clock.advance(hours=25)
    assert (await desk.tickets.check_sla()).escalations == 2
    staff = [m for m in await desk.sent() if m.chat_id == STAFF_CHAT]
    alerts = [m for m in staff if m.key == "tickets.sla_resolution"]
    asks = [m for m in staff if m.key == "tickets.owner_start_bot"]
    assert sorted(m.fields["number"] for m in alerts) == [1001, 1002]  # still learned of
    assert len(asks) == 1 and asks[0].fields["owner"] == OWNER


async def test_a_staff_reply_stops_the_first_response_reminder(
    desk: Desk, alice: int, clock: FakeClock
) -> None:
    number = (await desk.tickets.open_complaint(ALICE_TG, "service", "Rude")).ticket.number
    clock.advance(hours=1)
    await desk.tickets.reply(OWNER, number, "Sorry!")
    clock.advance(hours=3)
    assert (await desk.tickets.check_sla()).reminders == 0


async def test_staff_lists_name_the_customer(desk: Desk, alice: int) -> None:
    await desk.tickets.open_complaint(ALICE_TG, "service", "One")
    listing = await desk.tickets.list_for_staff(OWNER, "open")
    assert [(line.ticket.number, line.customer_name) for line in listing.lines] == [
        (1001, "Alice")
    ]
    assert listing.truncated_at is None
    assert (await desk.tickets.list_for_staff(OWNER, "mine")).lines == []


def test_business_hours_only_count_inside_opening_times() -> None:
    settings = TicketSettings(business_hours="09:00-18:00", business_days=[1, 2, 3, 4, 5])
    zone = LocaleSettings(timezone="Europe/London").zone
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    monday_morning = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    assert counted_time(friday_evening, monday_morning, settings, zone) == timedelta(hours=2)
    always = TicketSettings()
    assert counted_time(friday_evening, monday_morning, always, zone) == timedelta(hours=65)


def test_ticket_settings_validate() -> None:
    with pytest.raises(ValueError, match="business_hours"):
        TicketSettings(business_hours="nine to five")
    with pytest.raises(ValueError, match="first_response_hours"):
        TicketSettings(first_response_hours={"gripe": 1})
    assert (
        TicketSettings(first_response_hours={"complaint": 1}).target_hours(
            "first_response", "feedback"
        )
        == 24
    )


async def test_number_allocation_is_max_plus_one(db: Database) -> None:
    async with db.transaction() as tx:
        assert await repo.next_number(tx) == 1001


@pytest.mark.parametrize(
    "text",
    [
        "I want a refund",
        "The cup was broken",
        "Your cashier was rude to me",
        "I waited 40 minutes!",
        "My coffee arrived cold",
        "You gave me the wrong order",
        "我要投诉",
        "请给我退款",
        "服务太差了",
        # what was served, what was in it, what it did
        "the milk was sour",
        "my latte tasted burnt",
        "found a hair in my sandwich",
        "the sandwich made me sick",
        # waiting, orders, money, loyalty
        "i ordered 40 min ago and still nothing",
        "the delivery was an hour late",
        "ordered a cappuccino got a latte",
        "you forgot the cookies in my order",
        "the receipt is wrong, you charged me for 3 cakes",
        "my points were not added",
        "the app wont show my stamps",
        "not happy at all with how i was treated",
        "牛奶变质了",
        "三明治里有头发",
        "外卖送晚了一个小时",
        "积分没有到账",
    ],
)
def test_complaint_wording_is_detected(text: str) -> None:
    assert looks_like_complaint(text)


@pytest.mark.parametrize(
    "text",
    [
        "Do you have cold brew?",
        "When do you open?",
        "我想预订座位",
        "Is the chocolate cake vegan?",
        "Are you open late on Friday?",
        # the same words in questions
        "is the cake dry or moist",
        "do you have sour cherry juice",
        "are you closed on mondays",
        "i forgot my umbrella yesterday",
        "can i get my latte extra hot",
        "how long is the wait for a table on saturday",
        "你们的咖啡苦吗",
        "我把伞忘在店里了",
    ],
)
def test_ordinary_questions_are_not_complaints(text: str) -> None:
    assert not looks_like_complaint(text)
