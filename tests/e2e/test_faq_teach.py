"""End to end: staff teach the FAQ in one tap from what customers pressed and asked."""

from __future__ import annotations

from bot.demo import seed_demo_faq
from sandbox import SandboxUser
from storage import audit as audit_repo
from tests.conftest import OWNER_ID, Harness


async def _customer(harness: Harness, name: str = "Alice") -> SandboxUser:
    await seed_demo_faq(harness.care.db, harness.clock)
    await harness.care.faq.invalidate()
    user = harness.customer(name)
    await user.send("/start")
    await user.next_message()
    return user


async def test_a_pressed_suggestion_accepted_by_staff_is_answered_outright_next_time(
    harness: Harness,
) -> None:
    alice = await _customer(harness)
    await alice.send("my points")
    suggestion = await alice.next_message()
    assert "Did you mean" in (suggestion.text or "")
    await alice.press(suggestion, "How do loyalty points work?")
    assert "1 point per £1" in ((await alice.next_message()).text or "")

    owner = harness.owner
    await owner.send("/unanswered")
    proposal = await owner.next_message()
    assert "“my points” [en]" in (proposal.text or "") and "(×1)" in (proposal.text or "")
    assert [label for label, _ in proposal.buttons()] == ["✅ Yes, add it", "❌ No"]
    await owner.press(proposal, "Yes, add it")
    assert (await owner.next_message()).buttons() == []  # the buttons go
    assert "answered from now on" in ((await owner.next_message()).text or "")

    bob = harness.customer("Bob")
    await bob.send("my points")
    answer = await bob.next_message()
    assert "1 point per £1" in (answer.text or "")  # answered outright, not "did you mean"
    assert [label for label, _ in answer.buttons()] == ["👍 Helpful", "👎 Not helpful"]
    async with harness.care.db.read() as tx:
        audit = await audit_repo.list_recent(tx, 20)
    assert any(r.actor_id == OWNER_ID and r.result.startswith("accepted") for r in audit)
    await owner.send("/unanswered")
    assert "No unanswered" in ((await owner.next_message()).text or "")


async def test_a_thumbs_down_then_another_entry_is_proposed_and_can_be_refused(
    harness: Harness,
) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    wifi = await alice.next_message()
    await alice.press(wifi, "👎")
    await alice.next_message()  # the vote buttons go
    await alice.next_message()  # sorry, ask our team
    await alice.send("do you have oat milk")
    assert "Organic whole milk" in ((await alice.next_message()).text or "")

    owner = harness.owner
    await owner.send("/unanswered")
    listing = await owner.next_message()  # the 👎'd question is unanswered
    assert "“wifi pasword?” [en] ×1" in (listing.text or "")
    proposal = await owner.next_message()
    assert "“wifi pasword?”" in (proposal.text or "") and "#20" in (proposal.text or "")
    await owner.press(proposal, "No")
    await owner.next_message()
    assert "will not be proposed" in ((await owner.next_message()).text or "")
    late = await owner.press_data(proposal, "faq:teach:1:yes")  # a replayed "Yes"
    assert not (await owner.wait_callback_answer(late)).get("text")  # answered quietly
    assert (await harness.care.faq.decide(OWNER_ID, 1, True)).already
    rows = await harness.care.faq.show(OWNER_ID, 20)
    assert all("wifi pasword?" not in r.alternates for r in rows)


async def test_customers_cannot_accept_proposals(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("my points")
    suggestion = await alice.next_message()
    await alice.press(suggestion, "How do loyalty points work?")
    await alice.next_message()
    await harness.owner.send("/unanswered")
    proposal = await harness.owner.next_message()
    forged = await alice.press_data(proposal, proposal.buttons()[0][1])  # a modified client
    assert "staff only" in ((await alice.wait_callback_answer(forged))["text"] or "")
    rows = await harness.care.faq.show(OWNER_ID, 8)
    assert all("my points" not in r.alternates for r in rows)
    async with harness.care.db.read() as tx:
        audit = await audit_repo.list_recent(tx, 20)
    assert any(r.actor_id == alice.id and r.result.startswith("refused") for r in audit)


async def test_near_identical_questions_are_grouped_and_one_can_be_dismissed(
    harness: Harness,
) -> None:
    alice = await _customer(harness)
    for text in ("Can I charge my e-scooter here?", "can i charge my e-scooter here pls"):
        await alice.send(text)
        await alice.next_message()
    await alice.send("Any board games to play?")
    await alice.next_message()
    owner = harness.owner
    await owner.send("/unanswered")
    listing = await owner.next_message()
    text = listing.text or ""
    assert "near-identical" in text
    assert "×2 → /faq add en Can I charge my e-scooter here? | can i charge my e-scooter" in text
    board = next(r for r in await harness.care.faq.unanswered(OWNER_ID) if "board" in r.example)
    await owner.press(listing, f"Dismiss {board.id}")
    edited = await owner.next_message()
    assert all(f"Dismiss {board.id}" not in label for label, _ in edited.buttons())
    assert all("board" not in r.example for r in await harness.care.faq.unanswered(OWNER_ID))
    await owner.send(f"/unanswered dismiss {board.id}")  # already dismissed
    assert f"no unanswered question #{board.id}" in ((await owner.next_message()).text or "")


async def test_the_weekly_digest_is_posted_once_a_week_with_yes_no_buttons(
    harness: Harness,
) -> None:
    alice = await _customer(harness)
    await alice.send("my points")
    suggestion = await alice.next_message()
    await alice.press(suggestion, "How do loyalty points work?")
    await alice.next_message()
    await alice.send("Can I charge my e-scooter here?")
    await alice.next_message()
    assert await harness.care.faq.weekly_digest() == 2
    assert await harness.care.faq.weekly_digest() == 0  # the same week: nothing more
    staff = harness.staff_chat
    header = await staff.next_message()
    assert "1 unanswered question(s)" in (header.text or "") and "e-scooter" in (header.text or "")
    proposal = await staff.next_message()
    assert "“my points”" in (proposal.text or "")
    await harness.owner.press(proposal, "Yes, add it")
    await staff.next_message()  # the buttons go
    assert "answered from now on" in ((await staff.next_message()).text or "")
    harness.clock.advance(days=7)
    assert await harness.care.faq.weekly_digest() == 1  # a new week: the open question again


async def test_editing_one_languages_answer_flags_the_other_as_stale(harness: Harness) -> None:
    await _customer(harness)
    owner = harness.owner
    await owner.send("/faq edit 2 en answer Free wifi: network BeanThere, password on the menu.")
    await owner.next_message()
    await owner.send("/faq show 2")
    shown = (await owner.next_message()).text or ""
    en, zh = shown.split("\n\n")
    assert "Stale" not in en and "Stale" in zh
    await owner.send("/faq edit 2 zh answer 免费无线网络：BeanThere，密码在菜单上。")
    await owner.next_message()
    await owner.send("/faq show 2")
    assert "Stale" not in ((await owner.next_message()).text or "")
