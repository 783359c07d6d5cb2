"""End to end through the sandbox: feedback, complaints, the staff chat, satisfaction and SLA."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.jobs import job_ticket_sla
from sandbox import SandboxChat, SandboxUser, SentMessage
from storage import audit as audit_repo
from storage import customers as customers_repo
from storage import tickets as tickets_repo
from storage.tickets import TicketRow
from tests.conftest import Harness, HarnessFactory

T = TypeVar("T")


async def _register(harness: Harness, name: str = "Alice", lang: str = "en") -> SandboxUser:
    user = harness.customer(name, language_code=lang)
    await user.send("/start")
    await user.next_message()
    return user


async def _until(
    party: SandboxUser | SandboxChat, needle: str, chat: SandboxChat | None = None
) -> SentMessage:
    """The next bot message (skipping at most four others) whose content contains `needle`."""
    seen = []
    for _ in range(5):
        message = await party.next_message(chat=chat)
        if needle in message.content:
            return message
        seen.append(message.content[:60])
    raise AssertionError(f"no message with {needle!r}; saw {seen}")


async def _eventually(
    read: Callable[[], Awaitable[T]], check: Callable[[T], bool], seconds: float = 3.0
) -> T:
    """What `read` returns once `check` holds (the sender records an outcome just after the
    send the test saw)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await read()
        if check(value) or asyncio.get_running_loop().time() > deadline:
            assert check(value), value
            return value
        await asyncio.sleep(0.02)


async def _ticket(harness: Harness, number: int) -> TicketRow:
    async with harness.care.db.read() as tx:
        ticket = await tickets_repo.find_by_number(tx, number)
    assert ticket is not None
    return ticket


async def _complain(harness: Harness, user: SandboxUser, text: str) -> SentMessage:
    """File a complaint through the flow (category service, no photo); return the confirmation."""
    await user.send("/complaint")
    await user.press(await user.next_message(), "tickets:category:service")
    await _until(user, "describe")
    await user.send(text)
    await user.press(await _until(user, "photo"), "tickets:skip:photo")
    return await _until(user, "logged as")


async def test_complaint_round_trip(harness: Harness) -> None:
    alice, owner, staff = await _register(harness), harness.owner, harness.staff_chat
    await alice.send("/complaint")
    categories = await alice.next_message()
    assert ("Delivery", "tickets:category:delivery") in categories.buttons()
    await alice.press(categories, "Delivery")
    await _until(alice, "describe what happened")
    await alice.send("My order arrived cold and an hour late")
    await alice.send_photo()
    done = await _until(alice, "#1001")
    assert "within 2 h" in done.content

    post = await staff.next_message()
    assert "Complaint #1001 · Delivery" in post.content and "tier: Member" in post.content
    assert "Alice" in post.content and "stage: aware" in post.content
    assert "arrived cold" in post.content and "open tickets: 1" in post.content
    assert [data for _, data in post.buttons()] == ["tickets:take:1001", "tickets:resolve:1001"]
    photo = await staff.next_message()
    assert photo.photo is not None and photo.reply_to_message_id == post.message_id

    await owner.send("So sorry! Was it the 7 pm order?", chat=staff, reply_to=post)
    answer = await alice.next_message()
    assert "#1001" in answer.content and "Was it the 7 pm order?" in answer.content
    assert "On its way to Alice" in (await staff.next_message()).content
    assert (await _ticket(harness, 1001)).status == "waiting_customer"

    await alice.send("Yes, the 7 pm one", reply_to=answer)
    assert "Added to ticket #1001" in (await alice.next_message()).content
    back = await staff.next_message()
    assert "Yes, the 7 pm one" in back.content and back.reply_to_message_id == post.message_id

    await owner.send("/resolve 1001 We refunded the delivery fee.", chat=staff)
    resolved = await alice.next_message()
    assert "#1001 is resolved" in resolved.content and "refunded" in resolved.content
    assert len(resolved.buttons()) == 5
    assert "asked to rate" in (await staff.next_message()).content
    first = await alice.press(resolved, "tickets:csat:1001:5")
    late = await alice.press(resolved, "tickets:csat:1001:1")  # a second press, before the edit
    assert "5/5" in (await _until(alice, "Thank you for rating")).content
    assert "already rated" in (await alice.wait_callback_answer(late)).get("text", "")
    await alice.wait_callback_answer(first)
    ticket = await _ticket(harness, 1001)
    assert (ticket.status, ticket.csat, ticket.assignee_id) == ("resolved", 5, owner.id)

    await owner.send("/ticket 1001", chat=staff)
    transcript = (await staff.next_message()).content
    for expected in ("arrived cold", "📷", "7 pm order", "the 7 pm one", "refunded", "5/5"):
        assert expected in transcript
    async with harness.care.db.read() as tx:
        actions = [row.action for row in await audit_repo.list_recent(tx)]
    assert {"reply", "resolve"} <= set(actions)


async def test_feedback_with_and_without_comment(harness: Harness) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    await alice.send("/feedback")
    await alice.press(await alice.next_message(), "tickets:rating:4")
    assert "⭐⭐⭐⭐" in (await alice.next_message()).content
    await alice.send("Lovely flat white")
    assert "#1001" in (await _until(alice, "feedback is logged")).content
    post = await staff.next_message()
    assert "Feedback #1001 · ★★★★☆" in post.content and "Lovely flat white" in post.content

    await alice.send("/start")
    await alice.press(await alice.next_message(), "menu:open:feedback")
    await alice.press(await alice.next_message(), "tickets:rating:5")
    await alice.press(await alice.next_message(), "Skip")
    assert "#1002" in (await _until(alice, "feedback is logged")).content
    assert "★★★★★" in (await staff.next_message()).content
    first, second = await _ticket(harness, 1001), await _ticket(harness, 1002)
    assert (first.kind, first.rating, second.rating) == ("feedback", 4, 5)
    view = await harness.care.tickets.find(harness.owner.id, 1002)
    assert view.messages == []

    await alice.send("/mytickets")
    listing = (await alice.next_message()).content
    assert "#1002 · Feedback · open" in listing and "#1001" in listing


async def test_text_typed_before_the_buttons_is_kept(harness: Harness) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    await alice.send("/complaint")
    await alice.next_message()  # the categories
    await alice.send("The milk in my flat white was sour")  # before choosing one
    again = await alice.next_message()
    assert "noted" in again.content and ("Product", "tickets:category:product") in again.buttons()
    await alice.press(again, "Product")
    # the description is not asked for again: on to the optional photo
    await alice.press(await _until(alice, "photo"), "tickets:skip:photo")
    assert "#1001" in (await _until(alice, "logged as")).content
    post = await staff.next_message()
    assert "Complaint #1001 · Product" in post.content and "was sour" in post.content

    await alice.send("/feedback")
    await alice.next_message()  # the stars
    await alice.send("Lovely staff, slow wifi")
    stars = await alice.next_message()
    assert "noted" in stars.content
    await alice.press(stars, "tickets:rating:4")
    assert "#1002" in (await _until(alice, "feedback is logged")).content
    feedback = await staff.next_message()
    assert "★★★★☆" in feedback.content and "slow wifi" in feedback.content


async def test_sla_reminder_fires_once_then_escalates_to_owners(harness: Harness) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    await harness.owner.send("/help")  # the owner has a private chat with the bot
    await harness.owner.next_message()
    await _complain(harness, alice, "The barista was rude")
    await staff.next_message()  # the ticket's post
    harness.clock.advance(hours=1, minutes=30)
    await harness.care.tickets.check_sla()
    await staff.expect_no_message(0.2)
    harness.clock.advance(minutes=30)
    await job_ticket_sla(_JobContext(harness))  # what the JobQueue runs
    reminder = await staff.next_message()
    assert "Ticket #1001 has waited 2 h for a first reply" in reminder.content
    await harness.care.tickets.check_sla()
    await staff.expect_no_message(0.2)

    harness.clock.advance(hours=22)
    await harness.care.tickets.check_sla()
    escalation = await harness.owner.next_message()
    assert "#1001" in escalation.content and "resolution target of 24 h" in escalation.content
    await harness.care.tickets.check_sla()
    await harness.owner.expect_no_message(0.2)


async def test_a_customer_cannot_use_staff_commands_and_staff_get_specific_errors(
    harness: Harness,
) -> None:
    alice, bob, owner = await _register(harness), await _register(harness, "Bob"), harness.owner
    await _complain(harness, alice, "Wrong order again")
    await bob.send("/reply 1001 Ha, got you")
    assert "staff only" in (await bob.next_message()).content
    await alice.expect_no_message(0.2)
    async with harness.care.db.read() as tx:
        refused = (await audit_repo.list_recent(tx, 1))[0]
    assert (refused.actor_id, refused.action, refused.result) == (
        bob.id,
        "reply",
        "refused: needs staff",
    )

    for command, expected in [
        ("/reply abc hello", "Usage: /reply"),
        ("/reply 1001", "Usage: /reply"),
        ("/reply 9999 hello", "There is no ticket #9999"),
        ("/ticket", "Usage: /ticket"),
        ("/tickets everything", "Usage: /tickets"),
        ("/reopen 1001", "still open"),
        ("/resolve 1001", "resolved"),
        ("/resolve 1001", "already resolved"),
    ]:
        await owner.send(command)
        assert expected in (await owner.next_message()).content, command


async def test_bot_survives_a_customer_who_blocked_it_mid_ticket(harness: Harness) -> None:
    alice, owner, staff = await _register(harness), harness.owner, harness.staff_chat
    await _complain(harness, alice, "Broken cup in my order")
    await staff.next_message()
    harness.sandbox.block(alice)
    await owner.send("/reply 1001 We'll send a new one", chat=staff)
    assert "On its way to Alice" in (await staff.next_message()).content
    warning = await staff.next_message()
    assert "Could not deliver the reply on #1001 to Alice" in warning.content
    assert "blocked the bot" in warning.content
    ticket = await _ticket(harness, 1001)
    assert ticket.customer_unreachable and ticket.status == "open"
    async with harness.care.db.read() as tx:
        customer = await customers_repo.find_by_telegram_id(tx, alice.id)
    assert customer is not None and not customer.reachable
    await owner.send("/ticket 1001", chat=staff)
    transcript = (await staff.next_message()).content
    assert "We'll send a new one" in transcript and "unreachable" in transcript

    harness.sandbox.unblock(alice)
    await alice.send("/mytickets")  # still working, and the customer is reachable again
    assert "#1001" in (await alice.next_message()).content


async def test_unreachable_staff_chat_then_the_ticket_is_posted_later(harness: Harness) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    harness.sandbox.fail("sendMessage", status=400, chat_id=staff.id)
    confirmation = await _complain(harness, alice, "Charged twice for one coffee")
    assert "#1001" in confirmation.content
    await staff.expect_no_message(0.2)
    assert (await _ticket(harness, 1001)).staff_message_id is None
    report = await harness.care.tickets.check_sla()
    assert report.posted == 1
    post = await staff.next_message()
    assert "Complaint #1001" in post.content and "Charged twice" in post.content
    await _eventually(lambda: _ticket(harness, 1001), lambda t: t.staff_message_id is not None)
    assert (await _ticket(harness, 1001)).staff_message_id == post.message_id


async def test_complaint_wording_offers_a_prefilled_complaint(harness: Harness) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    await alice.send("What time do you open on Sunday?")
    assert "don't know" in (await alice.next_message()).content  # the FAQ fallback
    await alice.send("I waited 40 minutes and the coffee was cold")
    offer = await alice.next_message()
    assert offer.buttons() == [("⚠️ File a complaint", "tickets:draft:complaint")]
    await alice.press(offer, "tickets:draft:complaint")
    await alice.press(await alice.next_message(), "tickets:category:service")
    await alice.press(await _until(alice, "photo"), "Skip")  # the description is the draft
    assert "#1001" in (await _until(alice, "logged as")).content
    assert "I waited 40 minutes and the coffee was cold" in (await staff.next_message()).content

    wei = await _register(harness, "Wei", "zh")
    await wei.send("我要投诉，服务太差了")
    assert "提交投诉" in (await wei.next_message()).content


async def test_waiting_ticket_takes_plain_messages_and_cancel_leaves_a_flow(
    harness: Harness,
) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    await _complain(harness, alice, "Missing muffin")
    await staff.next_message()
    await harness.owner.send("/reply 1001 Which branch?", chat=staff)
    await alice.next_message()
    await staff.next_message()
    await alice.send("/complaint")  # a flow running: its messages are not the ticket's
    await alice.next_message()
    await alice.send("/cancel")
    assert "cancelled" in (await alice.next_message()).content
    await alice.send("/cancel")
    assert "nothing to cancel" in (await alice.next_message()).content
    await alice.send("The one on High Street")  # no reply_to: the ticket waits for her
    assert "Added to ticket #1001" in (await alice.next_message()).content
    assert "High Street" in (await staff.next_message()).content
    assert (await _ticket(harness, 1001)).status == "open"


async def test_complaint_after_an_unpressed_offer_asks_for_a_description(
    harness: Harness,
) -> None:
    alice, staff = await _register(harness), harness.staff_chat
    await alice.send("The coffee was cold and the staff were rude")
    offer = await alice.next_message()
    assert offer.buttons() == [("⚠️ File a complaint", "tickets:draft:complaint")]
    await alice.send("/complaint")  # the offer is left unpressed
    await alice.press(await alice.next_message(), "tickets:category:product")
    await _until(alice, "describe what happened")  # asked, not filed with the old text
    await alice.send("My muffin was stale")
    await alice.press(await _until(alice, "photo"), "Skip")
    await _until(alice, "logged as")
    post = await staff.next_message()
    assert "My muffin was stale" in post.content and "coffee was cold" not in post.content
    await alice.press(offer, "tickets:draft:complaint")  # the old offer no longer has its text
    await alice.press(await alice.next_message(), "tickets:category:service")
    await _until(alice, "describe what happened")


async def test_satisfaction_buttons_forged_foreign_and_tapped_twice(harness: Harness) -> None:
    alice, bob, owner = await _register(harness), await _register(harness, "Bob"), harness.owner
    await _complain(harness, alice, "Spilled coffee")
    await owner.send("/resolve 1001")
    await owner.next_message()
    resolved = await _until(alice, "is resolved")
    forged = await alice.press_data(resolved, "tickets:csat:" + "9" * 40 + ":5")
    assert "expired" in (await alice.wait_callback_answer(forged)).get("text", "")
    await bob.send("/mytickets")
    mine = await bob.next_message()
    foreign = await bob.press_data(mine, "tickets:csat:1001:1")
    assert "expired" in (await bob.wait_callback_answer(foreign)).get("text", "")
    assert (await _ticket(harness, 1001)).csat is None
    first = await alice.press(resolved, "tickets:csat:1001:4")
    await alice.wait_callback_answer(first)
    assert "4/5" in (await _until(alice, "Thank you for rating")).content
    again = await alice.press_data(resolved, "tickets:csat:1001:4")  # late tap
    answer = await alice.wait_callback_answer(again)
    assert not answer.get("show_alert") and "already rated" in answer.get("text", "")
    await alice.expect_no_message(0.2)  # nothing edited, nothing sent
    assert (await _ticket(harness, 1001)).csat == 4


async def test_staff_see_staff_wording_of_a_status(harness: Harness) -> None:
    alice, owner = await _register(harness), harness.owner
    await _complain(harness, alice, "Wrong size")
    await owner.send("/reply 1001 Which size did you order?")
    await owner.next_message()
    await alice.next_message()
    await owner.send("/ticket 1001")
    transcript = (await owner.next_message()).content
    assert "waiting for the customer" in transcript and "your answer" not in transcript
    await owner.send("/tickets")
    assert "waiting for the customer" in (await owner.next_message()).content
    await alice.send("/mytickets")
    assert "waiting for your answer" in (await alice.next_message()).content


async def test_a_reply_to_a_customer_who_used_forget_says_what_happened(
    harness: Harness,
) -> None:
    alice, owner = await _register(harness), harness.owner
    await _complain(harness, alice, "Overcharged")
    await alice.send("/forget")
    await alice.press(await alice.next_message(), "forget:confirm")
    await alice.next_message()
    await owner.send("/reply 1001 We refunded you")
    answer = (await owner.next_message()).content
    assert "erased their data" in answer and "blocked" not in answer
    await alice.expect_no_message(0.2)


async def test_a_long_staff_reply_reaches_the_customer_whole(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(business={"max_text_length": 4096})
    alice, owner = await _register(harness), harness.owner
    await _complain(harness, alice, "Tell me everything")
    text = "All the details. " * 235  # 3995 characters, more than fits beside the header
    await owner.send(f"/reply 1001 {text}")
    assert "On its way to Alice" in (await owner.next_message()).content
    header = await _until(alice, "#1001")
    body = await alice.next_message()
    assert "next message" in header.content and body.content == text.strip()
    await alice.send("Thanks!", reply_to=body)
    assert "Added to ticket #1001" in (await alice.next_message()).content


async def test_an_owner_who_never_started_the_bot_is_asked_to_in_the_staff_chat(
    harness: Harness,
) -> None:
    alice, owner, staff = await _register(harness), harness.owner, harness.staff_chat
    await _complain(harness, alice, "Nobody answers")
    await staff.next_message()
    harness.sandbox.fail(
        "sendMessage",
        status=403,
        description="Forbidden: bot can't initiate conversation with a user",
        chat_id=owner.id,
    )
    harness.clock.advance(hours=25)
    report = await harness.care.tickets.check_sla()
    assert (report.reminders, report.escalations) == (1, 1)
    await _until(staff, "for a first reply")
    assert "missed its resolution target" in (await _until(staff, "#1001")).content
    ask = await _until(staff, "start the bot")
    assert str(owner.id) in ask.content
    await owner.expect_no_message(0.2)


async def test_a_relay_that_failed_is_retried_through_the_outbox(harness: Harness) -> None:
    alice, owner, staff = await _register(harness), harness.owner, harness.staff_chat
    await _complain(harness, alice, "Where is my order?")
    post = await staff.next_message()
    harness.sandbox.fail(
        "sendMessage", status=400, description="Bad Request: try again", chat_id=alice.id
    )
    await owner.send("It left the shop at 9", chat=staff, reply_to=post)
    assert "On its way to Alice" in (await staff.next_message()).content
    await alice.expect_no_message(0.3)
    await staff.expect_no_message(0.1)  # not reported as blocked
    ticket = await _ticket(harness, 1001)
    assert not ticket.customer_unreachable
    harness.clock.advance(seconds=31)
    await harness.care.outbox.drain()
    relay = await alice.next_message()
    assert "It left the shop at 9" in relay.content
    await alice.send("Got it, thanks", reply_to=relay)
    assert "Added to ticket #1001" in (await alice.next_message()).content


async def test_take_and_resolve_buttons_check_the_presser_and_ignore_a_second_tap(
    harness: Harness,
) -> None:
    alice, bob = await _register(harness), await _register(harness, "Bob")
    owner, staff = harness.owner, harness.staff_chat
    await _complain(harness, alice, "Stale bread")
    post = await staff.next_message()
    intruder = await bob.press_data(post, "tickets:take:1001")
    refused = await bob.wait_callback_answer(intruder)
    assert "staff only" in refused.get("text", "") and refused.get("show_alert")
    assert (await _ticket(harness, 1001)).assignee_id is None
    await owner.wait_callback_answer(await owner.press(post, "tickets:take:1001"))
    assert "Olivia took #1001" in (await staff.next_message()).content
    second = await owner.wait_callback_answer(await owner.press(post, "tickets:take:1001"))
    assert not second.get("text")
    await staff.expect_no_message(0.2)
    await owner.wait_callback_answer(await owner.press(post, "tickets:resolve:1001"))
    assert "resolved" in (await staff.next_message()).content
    again = await owner.wait_callback_answer(await owner.press(post, "tickets:resolve:1001"))
    assert "already resolved" in again.get("text", "") and not again.get("show_alert")
    await staff.expect_no_message(0.2)
    forged = await owner.press_data(post, "tickets:take:" + "9" * 40)
    assert "expired" in (await owner.wait_callback_answer(forged)).get("text", "")


async def test_flow_buttons_tapped_twice_are_quiet_and_forged_ones_expired(
    harness: Harness,
) -> None:
    alice = await _register(harness)
    await alice.send("/feedback")
    stars = await alice.next_message()
    forged = await alice.press_data(stars, "tickets:rating:99")
    assert "expired" in (await alice.wait_callback_answer(forged)).get("text", "")
    await alice.wait_callback_answer(await alice.press(stars, "tickets:rating:3"))
    ask = await alice.next_message()  # the stars message, edited to ask for a comment
    again = await alice.press_data(stars, "tickets:rating:3")
    assert not (await alice.wait_callback_answer(again)).get("text")
    skip = await alice.press(ask, "Skip")
    await alice.wait_callback_answer(skip)
    assert "#1001" in (await _until(alice, "feedback is logged")).content
    late = await alice.press_data(ask, "tickets:skip:comment")
    assert not (await alice.wait_callback_answer(late)).get("text")  # a no-op, not an error
    await alice.expect_no_message(0.2)
    assert (await _ticket(harness, 1001)).rating == 3
    unknown = await alice.press_data(ask, "tickets:nonsense:1")
    assert "expired" in (await alice.wait_callback_answer(unknown)).get("text", "")


class _JobContext:
    """The one attribute a ticket job reads from its context."""

    def __init__(self, harness: Harness) -> None:
        self.care = harness.care
