"""End to end: the FAQ answers, suggests, falls back honestly, and learns from staff."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.demo import seed_demo_faq
from storage import audit as audit_repo
from tests.conftest import Harness


async def _customer(harness: Harness, name: str = "Alice", lang: str = "en") -> object:
    await seed_demo_faq(harness.care.db, harness.clock)
    await harness.care.faq.invalidate()
    user = harness.customer(name, language_code=lang)
    await user.send("/start")
    await user.next_message()
    return user


async def test_a_question_with_a_typo_is_answered_and_voted(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    answer = await alice.next_message()
    assert "flatwhite2026" in (answer.text or "")
    await alice.press(answer, "👍")
    edited = await alice.next_message()
    assert edited.edited and edited.buttons() == []
    en, zh = await harness.care.faq.show(2)
    assert (en.helpful, en.unhelpful, zh.helpful) == (1, 0, 0)


async def test_a_did_you_mean_press_is_answered(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("points")
    suggestion = await alice.next_message()
    assert "Did you mean" in (suggestion.text or "")
    labels = [text for text, _ in suggestion.buttons()]
    assert "How do loyalty points work?" in labels and "None of these" in labels
    await alice.press(suggestion, "How do loyalty points work?")
    assert "1 point per £1" in ((await alice.next_message()).text or "")


async def test_unrelated_question_falls_back_and_staff_teach_the_bot(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("Can I plug in my phone charger?")
    fallback = await alice.next_message()
    assert "don't know" in (fallback.text or "")
    await alice.press(fallback, "Ask our team")
    staff_post = await harness.staff_chat.next_message()
    assert "Can I plug in my phone charger?" in (staff_post.text or "")
    assert (await alice.next_message()).buttons() == []  # the button is gone once pressed
    assert "passed your question to our team as #1001" in ((await alice.next_message()).text or "")
    async with harness.care.db.read() as tx:
        kind = await (await tx.execute("SELECT kind FROM tickets WHERE number = 1001")).fetchone()
    assert kind is not None and kind[0] == "question"

    owner = harness.owner
    await owner.send("/unanswered")
    listing = (await owner.next_message()).text or ""
    assert "“Can I plug in my phone charger?” [en] ×1" in listing
    number = listing.splitlines()[1].split(".")[0]
    await owner.send(f"/faq teach {number} 18")
    assert "now answers with entry #18" in ((await owner.next_message()).text or "")

    bob = harness.customer("Bob")
    await bob.send("can i plug my phone charger in")
    assert "Sockets are along the window bench" in ((await bob.next_message()).text or "")


async def test_chinese_customer_is_answered_in_chinese(harness: Harness) -> None:
    wei = await _customer(harness, "Wei", "zh")
    await wei.send("你们几点开门？")
    answer = await wei.next_message()
    assert "周一至周五" in (answer.text or "")
    assert ("👍 有帮助", "faq:vote:1:zh:up") in answer.buttons()


async def test_staff_manage_entries_and_customers_are_refused(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("/faq add en Do you sell cake? | cake | Yes, every day.")
    assert "staff only" in ((await alice.next_message()).text or "")

    owner = harness.owner
    await owner.send("/faq add en Do you sell cake? | cake; birthday cake | Yes, every day.")
    saved = (await owner.next_message()).text or ""
    assert "Saved FAQ entry #21 [en]" in saved
    await alice.send("do you sell birthday cake")
    assert "Yes, every day." in ((await alice.next_message()).text or "")

    await owner.send("/faq edit 21 en answer Yes, and we bake to order.")
    await owner.next_message()
    await owner.send("/faq show 21")
    assert "we bake to order" in ((await owner.next_message()).text or "")
    await owner.send("/faq list 5")
    assert "#21 [en] Do you sell cake?" in ((await owner.next_message()).text or "")
    await owner.send("/faq del 21")
    assert "Deleted FAQ entry #21" in ((await owner.next_message()).text or "")
    await owner.send("/faq show 21")
    assert "no FAQ entry #21" in ((await owner.next_message()).text or "")
    await owner.send("/faq edit banana")
    assert "Usage: /faq edit" in ((await owner.next_message()).text or "")

    async with harness.care.db.read() as tx:
        audit = await audit_repo.list_recent(tx, 50)
    assert any(r.actor_id == alice.id and r.result.startswith("refused") for r in audit)
    assert any(r.actor_id == owner.id and r.result == "deleted 21" for r in audit)


async def test_guided_faq_add(harness: Harness) -> None:
    owner = harness.owner
    await owner.send("/faq add")
    assert "Which language" in ((await owner.next_message()).text or "")
    await owner.send("zh")
    await owner.next_message()
    await owner.send("有儿童椅吗？")
    await owner.next_message()
    await owner.send("/skip")
    await owner.next_message()
    await owner.send("有，门口有两把。")
    assert "Saved FAQ entry #1 [zh]" in ((await owner.next_message()).text or "")
    wei = harness.customer("Wei", language_code="zh")
    await wei.send("有儿童椅吗")
    assert "门口有两把" in ((await wei.next_message()).text or "")


async def test_cli_ask_json_gives_the_bots_decision(harness: Harness, tmp_path: Path) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    bot_answer = await alice.next_message()
    config = tmp_path / "cli.toml"
    config.write_text(f'[storage]\npath = "{harness.settings.storage.path}"\n', "utf-8")
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "faq", "ask", "--lang", "en", "--json"),
        *("--config", str(config)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate(b"wifi pasword?\nwhat is the capital of France\n")
    assert process.returncode == 0
    first, second = (json.loads(line) for line in stdout.decode().splitlines())
    assert first["id"] == 2 and "flatwhite2026" in (bot_answer.text or "")
    assert second["id"] is None and second["query"] == "what is the capital of France"


async def test_unregistered_customer_asking_staff_reaches_the_staff_chat(harness: Harness) -> None:
    await seed_demo_faq(harness.care.db, harness.clock)
    stranger = harness.customer("Sam")
    await stranger.send("Any board games to play?")
    fallback = await stranger.next_message()
    await stranger.press(fallback, "Ask our team")
    post = await harness.staff_chat.next_message()
    assert "Any board games to play?" in (post.text or "") and "Sam (@sam)" in (post.text or "")
    await stranger.next_message()  # the buttons disappear
    assert "passed your question" in ((await stranger.next_message()).text or "")


async def test_complaint_wording_gets_the_complaint_button_not_the_faq(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("I want a refund, my sandwich was stale")
    offer = await alice.next_message()
    assert ("⚠️ File a complaint", "tickets:draft:complaint") in offer.buttons()
    assert await harness.care.faq.unanswered() == []  # a complaint is not an FAQ gap
