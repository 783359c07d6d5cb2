"""TicketService: numbering, staff posts, threads, satisfaction, SLA alerts, detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.customers import CustomerService
from care.errors import InvalidArgument, TicketAlreadyResolved, TicketNotResolved, UnknownTicket
from care.ports import Label, SendStatus
from care.settings import LocaleSettings, StaffSettings, TicketSettings
from care.sla import counted_time
from care.tickets import TicketService, looks_like_complaint
from storage import customers as customers_repo
from storage import tickets as repo
from storage.db import Database
from tests.fakes import FakeClock, RecordingMessenger

STAFF_CHAT = -100
OWNER = 1
ALICE_TG = 501


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


def _service(
    db: Database,
    clock: FakeClock,
    messenger: RecordingMessenger,
    *,
    chat_id: int | None = STAFF_CHAT,
    settings: TicketSettings | None = None,
) -> TicketService:
    return TicketService(
        db,
        clock,
        settings or TicketSettings(),
        StaffSettings(owners=[OWNER], chat_id=chat_id),
        LocaleSettings(),
        messenger,
    )


@pytest.fixture
def tickets(db: Database, clock: FakeClock, messenger: RecordingMessenger) -> TicketService:
    return _service(db, clock, messenger)


@pytest.fixture
async def alice(db: Database, clock: FakeClock) -> int:
    registration = await CustomerService(db, clock, LocaleSettings()).register(
        ALICE_TG, "alice", "Alice", "en"
    )
    return registration.customer.id


async def test_numbers_start_after_1000_and_the_ticket_is_posted_with_a_card(
    tickets: TicketService, alice: int, messenger: RecordingMessenger
) -> None:
    first = await tickets.open_complaint(alice, "delivery", "It arrived cold", "photo-1")
    second = await tickets.open_feedback(alice, 5)
    assert (first.ticket.number, second.ticket.number) == (1001, 1002)
    assert first.posted and first.expect_hours == 2
    post = messenger.sent[0]
    assert post.chat_id == STAFF_CHAT and post.key == "tickets.staff_post_complaint"
    assert post.fields["name"] == "Alice" and post.fields["stage"] == Label(
        "stages.aware", "aware"
    )
    assert post.fields["open"] == 1 and "It arrived cold" in post.fields["body"]
    assert [data for _, data in post.buttons] == ["tickets:take:1001", "tickets:resolve:1001"]
    view = await tickets.find(1001)
    assert view.ticket.staff_message_id == 1
    assert [(m.author, m.body, m.photo_file_id) for m in view.messages] == [
        ("customer", "It arrived cold", "photo-1")
    ]
    assert (await tickets.find(1002)).messages == []  # a rating without a comment


async def test_unreachable_staff_chat_keeps_the_ticket_and_posts_it_later(
    tickets: TicketService, alice: int, messenger: RecordingMessenger
) -> None:
    messenger.statuses[STAFF_CHAT] = SendStatus.NOT_FOUND
    created = await tickets.open_question(alice, "Do you cater weddings?")
    assert not created.posted and created.ticket.staff_message_id is None
    assert (await tickets.check_sla()).posted == 0
    del messenger.statuses[STAFF_CHAT]
    assert (await tickets.check_sla()).posted == 1
    assert (await tickets.find(created.ticket.number)).ticket.staff_message_id is not None
    assert (await tickets.check_sla()).posted == 0


async def test_no_staff_chat_configured_keeps_tickets_unposted(
    db: Database, clock: FakeClock, messenger: RecordingMessenger, alice: int
) -> None:
    service = _service(db, clock, messenger, chat_id=None)
    created = await service.open_complaint(alice, "other", "Hmm")
    assert not created.posted and messenger.sent == []


async def test_reply_threads_and_answer_goes_back_to_staff(
    tickets: TicketService, alice: int, messenger: RecordingMessenger
) -> None:
    number = (await tickets.open_complaint(alice, "service", "Rude waiter")).ticket.number
    delivery = await tickets.reply(OWNER, number, "So sorry, what time was it?")
    assert delivery.delivered and delivery.ticket.status == "waiting_customer"
    assert delivery.ticket.first_response_at is not None and delivery.ticket.assignee_id == OWNER
    to_customer = messenger.sent[-1]
    assert to_customer.chat_id == ALICE_TG and to_customer.key == "tickets.customer_reply"
    # A reply to the bot's message, and a plain message while waiting, both find the ticket.
    replied = await tickets.thread_for_customer(ALICE_TG, len(messenger.sent))
    waiting = await tickets.thread_for_customer(ALICE_TG, None)
    assert replied is not None and waiting is not None and replied.number == number
    assert await tickets.add_customer_message(waiting, "Around 7 pm")
    back = messenger.sent[-1]
    assert back.chat_id == STAFF_CHAT and back.reply_to_message_id == 1
    assert back.fields["body"] == "Around 7 pm"
    assert (await tickets.find(number)).ticket.status == "open"
    assert await tickets.thread_for_customer(ALICE_TG, None) is None  # no longer waiting
    staff_thread = await tickets.ticket_for_staff_message(STAFF_CHAT, len(messenger.sent))
    assert staff_thread is not None and staff_thread.number == number


async def test_bad_input_raises_specific_errors(tickets: TicketService, alice: int) -> None:
    number = (await tickets.open_complaint(alice, "billing", "Charged twice")).ticket.number
    with pytest.raises(UnknownTicket):
        await tickets.reply(OWNER, 999, "hello")
    with pytest.raises(InvalidArgument):
        await tickets.reply(OWNER, number, "   ")
    with pytest.raises(TicketNotResolved):
        await tickets.reopen(OWNER, number)
    await tickets.resolve(OWNER, number)
    with pytest.raises(TicketAlreadyResolved):
        await tickets.resolve(OWNER, number)
    with pytest.raises(InvalidArgument):
        await tickets.open_complaint(alice, "weather", "x")
    reopened = await tickets.reopen(OWNER, number)
    assert reopened.status == "open" and reopened.resolved_at is None


async def test_satisfaction_counts_once_and_a_low_score_reaches_staff(
    tickets: TicketService, alice: int, messenger: RecordingMessenger
) -> None:
    number = (await tickets.open_complaint(alice, "product", "Broken cup")).ticket.number
    resolved = await tickets.resolve(OWNER, number, "Replaced it")
    assert resolved.delivered and resolved.ticket.status == "resolved"
    ask = messenger.sent[-1]
    assert ask.key == "tickets.customer_resolved" and len(ask.buttons) == 5
    assert "Replaced it" in ask.fields["note"]
    first = await tickets.rate(ALICE_TG, number, 2)
    second = await tickets.rate(ALICE_TG, number, 5)
    assert first.accepted and not second.accepted and second.ticket.csat == 2
    low = [m for m in messenger.sent if m.key == "tickets.staff_low_csat"]
    assert len(low) == 1 and low[0].chat_id == STAFF_CHAT
    with pytest.raises(UnknownTicket):
        await tickets.rate(999_999, number, 4)  # someone else's ticket


async def test_blocked_customer_marks_the_ticket_and_keeps_the_reply(
    tickets: TicketService, alice: int, messenger: RecordingMessenger, db: Database
) -> None:
    number = (await tickets.open_complaint(alice, "delivery", "Late again")).ticket.number
    messenger.statuses[ALICE_TG] = SendStatus.BLOCKED
    delivery = await tickets.reply(OWNER, number, "We are on it")
    assert not delivery.delivered and delivery.ticket.customer_unreachable
    assert delivery.ticket.status == "open"
    view = await tickets.find(number)
    assert [m.author for m in view.messages] == ["customer", "staff", "system"]
    async with db.read() as tx:
        customer = await customers_repo.get(tx, alice)
    assert not customer.reachable


async def test_sla_reminder_and_escalation_fire_once(
    tickets: TicketService, alice: int, messenger: RecordingMessenger, clock: FakeClock
) -> None:
    number = (await tickets.open_complaint(alice, "service", "Waited 40 minutes")).ticket.number
    clock.advance(hours=1, minutes=59)
    assert (await tickets.check_sla()).reminders == 0
    clock.advance(minutes=1)
    report = await tickets.check_sla()
    assert (report.reminders, report.escalations) == (1, 0)
    reminder = messenger.sent[-1]
    assert reminder.key == "tickets.sla_first_response" and reminder.fields["hours"] == "2"
    assert reminder.fields["number"] == number
    assert (await tickets.check_sla()).reminders == 0
    clock.advance(hours=22)
    assert (await tickets.check_sla()).escalations == 1
    assert messenger.sent[-1].chat_id == OWNER
    assert messenger.sent[-1].key == "tickets.sla_resolution"
    clock.advance(hours=5)
    assert await tickets.check_sla() == (await tickets.check_sla())
    assert len([m for m in messenger.sent if m.key.startswith("tickets.sla_")]) == 2


async def test_a_staff_reply_stops_the_first_response_reminder(
    tickets: TicketService, alice: int, clock: FakeClock
) -> None:
    number = (await tickets.open_complaint(alice, "service", "Rude")).ticket.number
    clock.advance(hours=1)
    await tickets.reply(OWNER, number, "Sorry!")
    clock.advance(hours=3)
    assert (await tickets.check_sla()).reminders == 0


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


async def test_stats_for_the_stage_engine(
    tickets: TicketService, alice: int, clock: FakeClock
) -> None:
    since = clock.now()
    complaint = (await tickets.open_complaint(alice, "product", "Broken")).ticket.number
    await tickets.open_feedback(alice, 4, "Nice")
    assert await tickets.open_complaints(alice) == 1
    await tickets.resolve(OWNER, complaint)
    await tickets.rate(ALICE_TG, complaint, 1)
    assert await tickets.open_complaints(alice) == 0
    assert sorted(await tickets.recent_ratings(alice, since)) == [1, 4]
    assert await tickets.recent_ratings(alice, clock.advance(days=1)) == []


async def test_number_allocation_is_max_plus_one(db: Database, clock: FakeClock) -> None:
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
    ],
)
def test_ordinary_questions_are_not_complaints(text: str) -> None:
    assert not looks_like_complaint(text)
