"""End to end: the FAQ answers, suggests, falls back honestly, and learns from staff."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.demo import seed_demo_faq
from care.faq.semantic import load_encoder, shared_second
from care.roles import Role
from handlers import faq_add
from storage import audit as audit_repo
from storage import faq as faq_repo
from tests.conftest import OWNER_ID, Harness, HarnessFactory


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
    en, zh = await harness.care.faq.show(OWNER_ID, 2)
    assert (en.helpful, en.unhelpful, zh.helpful) == (1, 0, 0)
    async with harness.care.db.read() as tx:  # kept for calibration with its question
        labelled = await faq_repo.labelled_questions(tx, 10)
    assert labelled == [faq_repo.LabelledQuestion("wifi pasword?", "en", 2)]


async def test_a_did_you_mean_press_is_answered(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("my points")
    suggestion = await alice.next_message()
    assert "Did you mean" in (suggestion.text or "")
    labels = [text for text, _ in suggestion.buttons()]
    assert "How do loyalty points work?" in labels and "None of these" in labels
    await alice.press(suggestion, "How do loyalty points work?")
    assert "1 point per £1" in ((await alice.next_message()).text or "")


async def test_unrelated_question_falls_back_and_staff_teach_the_bot(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("Can I charge my e-scooter here?")
    fallback = await alice.next_message()
    assert "don't know" in (fallback.text or "")
    await alice.press(fallback, "Ask our team")
    staff_post = await harness.staff_chat.next_message()
    assert "Can I charge my e-scooter here?" in (staff_post.text or "")
    assert (await alice.next_message()).buttons() == []  # the button is gone once pressed
    assert "passed your question to our team as #1001" in ((await alice.next_message()).text or "")
    async with harness.care.db.read() as tx:
        kind = await (await tx.execute("SELECT kind FROM tickets WHERE number = 1001")).fetchone()
    assert kind is not None and kind[0] == "question"

    owner = harness.owner
    await owner.send("/unanswered")
    listing = (await owner.next_message()).text or ""
    assert "“Can I charge my e-scooter here?” [en] ×1" in listing
    number = listing.splitlines()[1].split(".")[0]
    await owner.send(f"/faq teach {number} 18")
    assert "now answers with entry #18" in ((await owner.next_message()).text or "")

    bob = harness.customer("Bob")
    await bob.send("can i charge my e-scooter here please")
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
    assert first["matcher"] == harness.care.faq.matcher  # the bot's matcher, named
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
    assert await harness.care.faq.unanswered(OWNER_ID) == []  # a complaint is not an FAQ gap


# --- review fixes -------------------------------------------------------------------------------


async def test_guided_add_refuses_a_staff_member_removed_midway(harness: Harness) -> None:
    sam = harness.customer("Sam")
    await harness.care.staff.grant(harness.owner.id, sam.id, Role.STAFF, "Sam")
    await sam.send("/faq add")
    assert "Which language" in ((await sam.next_message()).text or "")
    await sam.send("en")
    assert "Send the question" in ((await sam.next_message()).text or "")
    await harness.care.staff.revoke(sam.id)
    await sam.send("Do you sell cake?")
    refusal = (await sam.next_message()).text or ""
    assert "staff only" in refusal and "nothing was saved" in refusal
    await sam.send("Yes, every day.")  # the conversation is over: this is not an answer
    assert "Saved" not in ((await sam.next_message()).text or "")
    assert (await harness.care.faq.list_page(OWNER_ID, 1)).total == 0
    async with harness.care.db.read() as tx:
        audit = await audit_repo.list_recent(tx, 50)
    assert any(
        r.actor_id == sam.id and r.arguments == "add (guided)" and r.result.startswith("refused")
        for r in audit
    )


async def test_guided_add_left_alone_times_out(
    harness_factory: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faq_add, "ADD_TIMEOUT", timedelta(seconds=0.3))
    harness = await harness_factory()
    owner = harness.owner
    await owner.send("/faq add")
    await owner.next_message()
    await owner.send("en")
    assert "Send the question" in ((await owner.next_message()).text or "")
    assert "nothing was saved" in ((await owner.next_message()).text or "")  # timed out
    await owner.send("Do you sell cake?")  # no longer taken as the question
    assert "don't know" in ((await owner.next_message()).text or "")
    assert (await harness.care.faq.list_page(OWNER_ID, 1)).total == 0


async def test_text_without_words_asks_for_words_and_offers_no_button(harness: Harness) -> None:
    alice = await _customer(harness)
    for text in ("🙂🙂", "???"):
        await alice.send(text)
        answer = await alice.next_message()
        assert "type your question in words" in (answer.text or "")
        assert answer.buttons() == []
    assert await harness.care.faq.unanswered(OWNER_ID) == []
    sent = harness.sandbox.sent(alice.id)
    assert all(data != "faq:staff:0" for m in sent for _, data in m.buttons())


async def test_thumbs_down_records_the_question_that_answer_was_for(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    wifi = await alice.next_message()
    assert "flatwhite2026" in (wifi.text or "")
    await alice.send("do you have oat milk")
    assert "Organic whole milk" in ((await alice.next_message()).text or "")
    await alice.press(wifi, "👎")  # on the older answer
    assert (await alice.next_message()).buttons() == []  # the vote buttons go
    sorry = await alice.next_message()
    assert "sorry that didn't help" in (sorry.text or "")
    [row] = await harness.care.faq.unanswered(OWNER_ID)
    assert row.example == "wifi pasword?"
    assert sorry.buttons() == [("🙋 Ask our team", f"faq:staff:{row.id}")]
    await alice.press(sorry, "Ask our team")
    await alice.next_message()  # the button goes
    assert "passed your question to our team as #1001" in ((await alice.next_message()).text or "")


async def test_thumbs_down_after_a_restart_asks_to_rephrase(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    answer = await alice.next_message()
    await harness.restart()
    await alice.press(answer, "👎")
    assert (await alice.next_message()).buttons() == []
    rephrase = await alice.next_message()
    assert "ask your question again in other words" in (rephrase.text or "")
    assert rephrase.buttons() == []
    assert await harness.care.faq.unanswered(OWNER_ID) == []
    en, _ = await harness.care.faq.show(OWNER_ID, 2)
    assert en.unhelpful == 1


async def test_a_double_tap_counts_one_vote(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    answer = await alice.next_message()
    first = await alice.press(answer, "👎")
    second = await alice.press(answer, "👎")  # before the bot removed the buttons
    assert (await alice.wait_callback_answer(first))["text"] == "Thanks for the feedback!"
    assert "already rated" in ((await alice.wait_callback_answer(second))["text"] or "")
    assert (await alice.next_message()).buttons() == []
    assert "sorry that didn't help" in ((await alice.next_message()).text or "")
    await alice.expect_no_message(0.3)  # nothing for the second tap
    en, zh = await harness.care.faq.show(OWNER_ID, 2)
    assert (en.helpful, en.unhelpful, zh.unhelpful) == (0, 1, 0)
    [row] = await harness.care.faq.unanswered(OWNER_ID)
    assert row.count == 1


async def test_small_talk_gets_a_friendly_reply_in_its_language(harness: Harness) -> None:
    alice = await _customer(harness)
    for text, expected in (
        ("hi", "Hello!"),
        ("Thanks!", "You're welcome"),
        ("谢谢", "不客气"),
        ("bye 👋", "Goodbye"),
    ):
        await alice.send(text)
        answer = await alice.next_message()
        assert expected in (answer.text or ""), text
        assert answer.buttons() == []
    assert await harness.care.faq.unanswered(OWNER_ID) == []


async def test_chinese_mixed_with_latin_words_is_answered(harness: Harness) -> None:
    wei = await _customer(harness, "Wei", "zh")
    for text, expected in (
        ("WiFi密码是多少", "flatwhite2026"),
        ("有wifi吗", "flatwhite2026"),
        ("可以用apple pay吗", "Apple Pay 和 Google Pay"),
        ("有燕麦奶吗", "本地农场的有机全脂奶"),
    ):
        await wei.send(text)
        assert expected in ((await wei.next_message()).text or ""), text
    await wei.send("oat milk")
    assert "Organic whole milk" in ((await wei.next_message()).text or "")


async def test_staff_are_told_what_does_not_exist(harness: Harness) -> None:
    await seed_demo_faq(harness.care.db, harness.clock)
    owner = harness.owner
    await owner.send("/faq list 99")
    assert "There is no page 99: the FAQ list has 4 page(s)" in (
        (await owner.next_message()).text or ""
    )
    await owner.send("/faq list 4")
    assert "#20 [zh]" in ((await owner.next_message()).text or "")
    await owner.send("/faq teach 99 1")
    assert "There is no unanswered question #99" in ((await owner.next_message()).text or "")


async def test_an_import_by_another_process_is_answered_at_once(
    harness: Harness, tmp_path: Path
) -> None:
    alice = await _customer(harness)
    await alice.send("do you sell birthday cake")
    assert "every day" not in ((await alice.next_message()).text or "")
    csv_file = tmp_path / "cake.csv"
    csv_file.write_text(
        'id,question,alternates,answer\n21,Do you sell cake?,birthday cake,"Yes, every day."\n',
        "utf-8",
    )
    config = tmp_path / "cli.toml"
    config.write_text(f'[storage]\npath = "{harness.settings.storage.path}"\n', "utf-8")
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "faq", "import", str(csv_file), "--lang", "en"),
        *("--config", str(config)),
        stdout=asyncio.subprocess.PIPE,
    )
    await process.communicate()
    assert process.returncode == 0
    await alice.send("do you sell birthday cake")
    assert "Yes, every day." in ((await alice.next_message()).text or "")


# --- one decision, buttons that cannot be abused -------------------------------------------------


async def test_cli_ask_and_the_bot_agree_on_small_talk_and_complaints(
    harness: Harness, tmp_path: Path
) -> None:
    alice = await _customer(harness)
    await alice.send("hi")
    assert "Hello!" in ((await alice.next_message()).text or "")
    config = tmp_path / "cli.toml"
    config.write_text(f'[storage]\npath = "{harness.settings.storage.path}"\n', "utf-8")
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "faq", "ask", "--lang", "en", "--json"),
        *("--config", str(config)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate(
        "hi\nmy coffee was cold and the waiter was rude\n🙂\n".encode()
    )
    assert process.returncode == 0
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert [line["decision"] for line in lines] == ["small-talk", "complaint", "no-words"]
    assert {line["matcher"] for line in lines} == {await harness.care.faq.matcher_in_use()}
    assert await harness.care.faq.unanswered(OWNER_ID) == []  # the CLI records nothing


async def test_a_complaint_gets_the_complaint_button_first_then_the_suggestions(
    harness_factory: HarnessFactory,
) -> None:
    # A low suggest threshold, so that the coffee entries are suggested with either matcher.
    harness = await harness_factory(faq={"suggest_threshold": 20.0})
    alice = await _customer(harness)
    await alice.send("my coffee was cold and the waiter was rude")  # the FAQ would suggest beans
    offer = await alice.next_message()
    buttons = offer.buttons()
    assert buttons[0] == ("⚠️ File a complaint", "tickets:draft:complaint")
    assert "file a complaint" in (offer.text or "")
    assert len(buttons) > 2 and all(data.startswith("faq:show:") for _, data in buttons[1:-1])
    assert buttons[-1] == ("None of these", "faq:none")
    await alice.press(offer, "None of these")
    assert (await alice.next_message()).buttons() == []  # the offer's buttons go
    again = await alice.next_message()
    assert "still file a complaint" in (again.text or "")
    assert again.buttons() == [("⚠️ File a complaint", "tickets:draft:complaint")]
    assert await harness.care.faq.unanswered(OWNER_ID) == []  # a complaint is not an FAQ gap
    await alice.press(again, "File a complaint")
    assert "What is it about?" in ((await alice.next_message()).text or "")  # the category


async def test_a_chinese_complaint_gets_the_complaint_button_first(harness: Harness) -> None:
    wei = await _customer(harness, "Wei", "zh")
    await wei.send("咖啡是冷的，服务员态度很差")
    offer = await wei.next_message()
    assert offer.buttons()[0] == ("⚠️ 提交投诉", "tickets:draft:complaint")


async def test_faq_add_with_an_unknown_id_is_refused(harness: Harness) -> None:
    owner = harness.owner
    await owner.send("/faq add 999 en Do you sell cake? | | Yes, every day.")
    refusal = (await owner.next_message()).text or ""
    assert "no FAQ entry #999" in refusal and "Leave the id out" in refusal
    assert (await harness.care.faq.list_page(OWNER_ID, 1)).total == 0
    await owner.send("/faq add en Do you sell cake? | | Yes, every day.")
    assert "Saved FAQ entry #1 [en]" in ((await owner.next_message()).text or "")
    await owner.send("/faq add 1 zh 有蛋糕吗？ | | 有，每天都有。")
    assert "Saved FAQ entry #1 [zh]" in ((await owner.next_message()).text or "")


async def test_a_double_tap_on_ask_our_team_opens_one_ticket_quietly(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("Can I charge my e-scooter here?")
    fallback = await alice.next_message()
    first = await alice.press(fallback, "Ask our team")
    second = await alice.press(fallback, "Ask our team")  # before the bot removed the button
    assert (await alice.next_message()).buttons() == []
    assert "as #1001" in ((await alice.next_message()).text or "")
    await alice.wait_callback_answer(first)
    await alice.wait_callback_answer(second)
    await alice.expect_no_message(0.3)  # no second ticket, no "something went wrong"
    async with harness.care.db.read() as tx:
        tickets = await (await tx.execute("SELECT COUNT(*) FROM tickets")).fetchone()
    assert tickets is not None and tickets[0] == 1


async def test_a_double_tap_on_none_of_these_records_once_quietly(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("my points")
    suggestion = await alice.next_message()
    first = await alice.press(suggestion, "None of these")
    second = await alice.press(suggestion, "None of these")
    assert (await alice.next_message()).buttons() == []
    assert "don't know" in ((await alice.next_message()).text or "")
    assert (await alice.wait_callback_answer(first)).get("text") is None
    assert (await alice.wait_callback_answer(second)).get("text") is None
    await alice.expect_no_message(0.3)
    [row] = await harness.care.faq.unanswered(OWNER_ID)
    assert (row.example, row.count) == ("my points", 1)


async def test_the_unregistered_ask_our_team_posts_once(harness: Harness) -> None:
    await seed_demo_faq(harness.care.db, harness.clock)
    stranger = harness.customer("Sam")
    await stranger.send("Any board games to play?")
    fallback = await stranger.next_message()
    await stranger.press(fallback, "Ask our team")
    await stranger.press(fallback, "Ask our team")
    assert "Any board games" in ((await harness.staff_chat.next_message()).text or "")
    await stranger.next_message()  # the button goes
    assert "passed your question" in ((await stranger.next_message()).text or "")
    await stranger.expect_no_message(0.3)
    await harness.staff_chat.expect_no_message(0.3)


@pytest.mark.parametrize(
    "data",
    [
        "faq:vote:" + "9" * 40 + ":en:up",  # would overflow SQLite's INTEGER
        "faq:vote:999:en:down",  # no such entry
        "faq:vote:2:fr:up",  # no such language
        "faq:show:999:en",
        "faq:show:2:xx",
        "faq:staff:" + "9" * 40,
        "faq:staff:999",  # no such recorded question
        "faq:none:0",  # an older version's button
        "faq:teleport:1",  # no such verb: nobody claims it
        "nothing:we:know",
    ],
)
async def test_a_forged_button_has_expired(harness: Harness, data: str) -> None:
    alice = await _customer(harness)
    await alice.send("wifi pasword?")
    answer = await alice.next_message()
    query = await alice.press_data(answer, data)
    assert (await alice.wait_callback_answer(query))["text"] == "That button has expired."
    await alice.expect_no_message(0.3)
    en, zh = await harness.care.faq.show(OWNER_ID, 2)
    assert (en.helpful, en.unhelpful) == (0, 0)


async def test_a_vote_pressed_on_a_message_without_buttons_does_nothing(harness: Harness) -> None:
    alice = await _customer(harness)
    await alice.send("/help")
    plain = await alice.next_message()  # no buttons to take off
    query = await alice.press_data(plain, "faq:vote:2:en:up")
    await alice.wait_callback_answer(query)
    await alice.expect_no_message(0.3)
    # Answered once, and no edit that could only fail with "message is not modified".
    assert harness.sandbox.errors == []
    en, _ = await harness.care.faq.show(OWNER_ID, 2)
    assert (en.helpful, en.unhelpful) == (0, 0)  # a vote on a message that had no buttons


MATCHERS = [
    "lexical",
    pytest.param(
        "semantic",
        marks=pytest.mark.skipif(
            load_encoder() is None, reason="carebot[semantic] is not installed"
        ),
    ),
]


@pytest.mark.parametrize("matcher", MATCHERS)
async def test_do_you_have_sushi_falls_back_rather_than_answering_the_toilet(
    harness_factory: HarnessFactory, matcher: str
) -> None:
    harness = await harness_factory(faq={"matcher": matcher})
    alice = await _customer(harness)
    await harness.care.faq.add(OWNER_ID, "en", "Do you have a toilet?", (), "Yes, at the back.")
    await alice.send("do you have sushi")
    reply = await alice.next_message()
    assert "don't know" in (reply.text or "") and "at the back" not in (reply.text or "")
    [gap] = await harness.care.faq.unanswered(OWNER_ID)
    assert gap.example == "do you have sushi"
    await alice.send("do you have a toilet?")
    assert "at the back" in ((await alice.next_message()).text or "")
    assert harness.care.faq.matcher == matcher


@pytest.mark.parametrize("matcher", MATCHERS)
async def test_a_complaint_gets_the_complaint_button_with_either_matcher(
    harness_factory: HarnessFactory, matcher: str
) -> None:
    harness = await harness_factory(faq={"matcher": matcher})
    alice = await _customer(harness)
    await alice.send("my coffee was cold and the waiter was rude")
    offer = await alice.next_message()
    assert offer.buttons()[0] == ("⚠️ File a complaint", "tickets:draft:complaint")


async def test_cli_calibrate_json_says_what_it_chose_and_why(
    harness: Harness, tmp_path: Path
) -> None:
    await _customer(harness)  # the demo FAQ: 20 entries with alternates, in en and zh
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[storage]\npath = "{harness.settings.storage.path}"\n[faq]\ncalibrate = true\n', "utf-8"
    )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "faq", "calibrate", "--json", "--config", str(config)),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    chosen = json.loads(stdout)
    assert chosen["calibrated"] is True and chosen["applied"] is True
    assert chosen["answer_accuracy"] >= 90.0 and "held-out" in chosen["reason"]
    assert set(chosen["thresholds"]) == {"answer", "margin", "suggest"}


@pytest.mark.skipif(
    load_encoder() is None or shared_second() is None, reason="carebot[semantic] not installed"
)
@pytest.mark.parametrize(("second_opinion", "answered"), [(True, True), (False, False)])
async def test_a_near_tie_both_encoders_agree_on_is_answered_through_the_bot(
    harness_factory: HarnessFactory, second_opinion: bool, answered: bool
) -> None:
    harness = await harness_factory(faq={"second_opinion": second_opinion})
    alice = await _customer(harness)
    # "coffee" pulls decaf, beans and refills together; e5 ranks decaf first too
    await alice.send("can i get a coffee without caffeine")
    reply = await alice.next_message()
    labels = [text for text, _ in reply.buttons()]
    if answered:
        assert "made decaf" in (reply.text or "") and "👍 Helpful" in labels, reply.text
    else:
        assert "Did you mean" in (reply.text or "") and "Do you have decaf?" in labels
    assert await harness.care.faq.unanswered(OWNER_ID) == []  # neither is a gap for staff
