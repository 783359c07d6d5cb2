"""End-to-end tests of the fake Bot API sandbox against a real python-telegram-bot Application."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import Sandbox, SandboxTimeout

PHOTO_BYTES = b"\x89PNG\r\n\x1a\nnot-really-a-png" * 4


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes please", callback_data="answer:yes"),
                InlineKeyboardButton("No", callback_data="answer:no"),
            ],
            [InlineKeyboardButton("Website", url="https://example.org")],
        ]
    )
    assert update.effective_message is not None
    await update.effective_message.reply_text("Welcome!", reply_markup=keyboard)


async def _keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton("Share phone", request_contact=True)], [KeyboardButton("Help")]]
    )
    assert update.effective_message is not None
    await update.effective_message.reply_text("Pick one", reply_markup=markup)


async def _remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Removed", reply_markup=ReplyKeyboardRemove())


async def _on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer(f"Got {query.data}", show_alert=True)
    await query.edit_message_text(f"You chose {query.data} (was: {query.message.text})")


async def _on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None and message.contact is not None
    contact = message.contact
    await message.reply_text(f"Phone {contact.phone_number} of user {contact.user_id}")


async def _on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    photo = await message.photo[-1].get_file()
    data = await photo.download_as_bytearray()
    await message.reply_text(f"Photo of {len(data)} bytes, caption {message.caption}")


async def _on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.reply_to_message is not None:
        await message.reply_text(f"Reply to: {message.reply_to_message.text}")
    elif update.edited_message is not None:
        await message.reply_text(f"Edited: {message.text}")
    else:
        await message.reply_text(f"Echo: {message.text}")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta ``retry_after`` so that RetryAfter raises no deprecation."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def app(sandbox: Sandbox) -> AsyncIterator[Application]:
    """A real PTB application polling the sandbox, with a few echo handlers."""
    application = (
        ApplicationBuilder()
        .token(sandbox.token)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CommandHandler("keyboard", _keyboard))
    application.add_handler(CommandHandler("remove", _remove))
    application.add_handler(CallbackQueryHandler(_on_button))
    application.add_handler(MessageHandler(filters.CONTACT, _on_contact))
    application.add_handler(MessageHandler(filters.PHOTO, _on_photo))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, _on_text),
    )
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


async def test_start_button_press_and_edit(app: Application, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await alice.send("/start")
    welcome = await alice.next_message()
    assert welcome.text == "Welcome!"
    assert welcome.buttons() == [
        ("Yes please", "answer:yes"),
        ("No", "answer:no"),
        ("Website", None),
    ]
    assert [len(row) for row in welcome.button_rows()] == [2, 1]
    assert welcome.raw["from"]["is_bot"] is True

    query_id = await alice.press(welcome, "yes")
    edited = await alice.next_message()
    assert edited.edited and edited.message_id == welcome.message_id
    assert edited.text == "You chose answer:yes (was: Welcome!)"
    assert edited.buttons() == []
    answer = await alice.wait_callback_answer(query_id)
    assert answer["text"] == "Got answer:yes" and answer["show_alert"] is True
    assert alice.callback_answers == [answer]
    assert alice.inbox()[-1].text == edited.text
    assert [m.edited for m in sandbox.sent(alice.chat_id)] == [False, True]


async def test_press_unknown_button_lists_available(app: Application, sandbox: Sandbox) -> None:
    bob = sandbox.create_user("Bob")
    await bob.send("/start")
    welcome = await bob.next_message()
    with pytest.raises(AssertionError, match="Yes please"):
        await bob.press(welcome, "Maybe")
    with pytest.raises(AssertionError, match="no callback_data"):
        await bob.press(welcome, "Website")


async def test_reply_keyboard_contact_and_removal(app: Application, sandbox: Sandbox) -> None:
    carol = sandbox.create_user("Carol", language_code="de")
    await carol.send("/keyboard")
    prompt = await carol.next_message()
    assert prompt.reply_buttons() == [("Share phone", True), ("Help", False)]
    assert "reply_markup" not in prompt.raw  # Telegram only echoes inline keyboards
    with pytest.raises(AssertionError, match="share_contact"):
        await carol.press(prompt, "Share phone")
    await carol.press(prompt, "Help")
    assert (await carol.next_message()).text == "Echo: Help"

    await carol.share_contact("+15550001")
    reply = await carol.next_message()
    assert reply.text == f"Phone +15550001 of user {carol.id}"

    await carol.send("/remove")
    assert (await carol.next_message()).removes_keyboard


async def test_reply_to_and_edited_message(app: Application, sandbox: Sandbox) -> None:
    dave = sandbox.create_user("Dave")
    await dave.send("hello")
    echo = await dave.next_message()
    assert echo.text == "Echo: hello" and echo.reply_to_message_id is None  # private: no quote
    await dave.send("answering", reply_to=echo)
    assert (await dave.next_message()).text == "Reply to: Echo: hello"
    own = await dave.send("first")
    await dave.next_message()
    await dave.send("again", reply_to=own)
    assert (await dave.next_message()).text == "Reply to: first"
    await dave.edit(own, "first, fixed")
    assert (await dave.next_message()).text == "Edited: first, fixed"
    await dave.expect_no_message(within=0.1)


async def test_group_command_with_bot_username(app: Application, sandbox: Sandbox) -> None:
    erin = sandbox.create_user("Erin")
    group = sandbox.create_group("Shop regulars", [erin])
    assert group.id < 0 and group.type == "supergroup"
    await erin.send(f"/start@{sandbox.bot_username}", chat=group)
    message = await group.next_message()
    assert message.text == "Welcome!" and message.chat_id == group.id
    assert (await erin.next_message(chat=group)).message_id == message.message_id
    await erin.expect_no_message(within=0.05)


async def test_photo_upload_and_download(app: Application, sandbox: Sandbox) -> None:
    frank = sandbox.create_user("Frank", started=True)
    sent = await app.bot.send_photo(frank.chat_id, photo=PHOTO_BYTES, caption="Your QR")
    assert sent.photo and sent.caption == "Your QR"
    file = await app.bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == PHOTO_BYTES
    resent = await app.bot.send_photo(frank.chat_id, photo=sent.photo[-1].file_id)
    assert resent.photo[-1].file_id == sent.photo[-1].file_id
    event = (await frank.next_message()).photo
    assert event == sent.photo[-1].file_id

    await frank.send_photo("look", data=b"abc")
    frank.skip_pending()
    assert (await frank.next_message()).text == "Photo of 3 bytes, caption look"


async def test_commands_are_stored(app: Application, sandbox: Sandbox) -> None:
    await app.bot.set_my_commands([("start", "Start"), ("help", "Help")])
    await app.bot.set_my_commands([("start", "Los")], language_code="de")
    assert sandbox.commands() == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert sandbox.commands(language_code="de") == [{"command": "start", "description": "Los"}]
    assert [c.command for c in await app.bot.get_my_commands()] == ["start", "help"]
    await app.bot.delete_my_commands(language_code="de")
    assert sandbox.commands(language_code="de") == []
    assert await app.bot.set_my_description("desc")
    assert await app.bot.set_chat_menu_button()


async def test_injected_errors_map_to_ptb_exceptions(app: Application, sandbox: Sandbox) -> None:
    gina = sandbox.create_user("Gina", started=True)
    sandbox.fail("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await app.bot.send_message(gina.chat_id, "hi")
    assert flood.value.retry_after == dtm.timedelta(seconds=7)

    sandbox.fail("sendmessage", status=403, chat_id=gina.chat_id)
    with pytest.raises(Forbidden, match="(?i)blocked by the user"):
        await app.bot.send_message(gina.chat_id, "hi")
    sandbox.fail("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await app.bot.send_message(gina.chat_id, "hi")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await app.bot.send_message(999, "hi")
    with pytest.raises(BadRequest, match="(?i)not modified"):
        sent = await app.bot.send_message(gina.chat_id, "same")
        await app.bot.edit_message_text("same", chat_id=gina.chat_id, message_id=sent.message_id)

    sandbox.block(gina)
    with pytest.raises(Forbidden):
        await app.bot.send_message(gina.chat_id, "hi")
    sandbox.unblock(gina)
    await app.bot.send_message(gina.chat_id, "back")
    assert [m.text for m in gina.inbox()] == ["same", "back"]
    assert sandbox.stats["rate_limited"] == 1 and sandbox.stats["errors"] >= 6


async def test_flood_limits_and_delays(app: Application, sandbox: Sandbox) -> None:
    hank = sandbox.create_user("Hank", started=True)
    sandbox.enforce_limits(per_chat_per_second=1.0, global_per_second=30.0)
    await app.bot.send_message(hank.chat_id, "one")
    with pytest.raises(RetryAfter):
        await app.bot.send_message(hank.chat_id, "two")
    sandbox.reset_faults()
    sandbox.delay("sendChatAction", 0.05)
    assert await app.bot.send_chat_action(hank.chat_id, "typing")
    assert sandbox.stats["sent"] == 1 and sandbox.stats["rate_limited"] == 1


async def test_unknown_method_and_raw_json_body(sandbox: Sandbox) -> None:
    user = sandbox.create_user("Ivy", started=True)
    async with aiohttp.ClientSession() as session:
        url = f"{sandbox.base_url}{sandbox.token}"
        async with session.post(f"{url}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
        payload = {"chat_id": user.chat_id, "text": "json", "reply_markup": {"keyboard": []}}
        async with session.post(f"{url}/SENDMESSAGE", json=payload) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["text"] == "json"
        async with session.post(f"{sandbox.base_url}1:wrong/getMe") as response:
            assert response.status == 401
    assert sandbox.calls[-1][0] == "sendmessage"
    with pytest.raises(SandboxTimeout, match="no new bot message"):
        await user.next_message(timeout=0.05)
        await user.next_message(timeout=0.05)


async def test_misc_methods_round_trip(app: Application, sandbox: Sandbox) -> None:
    jack = sandbox.create_user("Jack", username="jack", started=True)
    group = sandbox.create_group("Team", [jack])
    chat = await app.bot.get_chat(jack.chat_id)
    assert chat.first_name == "Jack" and chat.type == "private"
    assert (await app.bot.get_chat(group.id)).title == "Team"
    member = await app.bot.get_chat_member(group.id, jack.id)
    assert member.status == "member" and member.user.id == jack.id

    since = len(sandbox.sent())
    doc = await app.bot.send_document(jack.chat_id, document=b"a,b\n", filename="export.csv")
    assert doc.document is not None and doc.document.file_name == "export.csv"
    edited = await app.bot.edit_message_caption(
        chat_id=jack.chat_id, message_id=doc.message_id, caption="Export"
    )
    assert not isinstance(edited, bool) and edited.caption == "Export"
    events = await sandbox.wait_sent(since)
    assert [e.method for e in events] == ["senddocument", "editmessagecaption"]

    own = await jack.send("forward me")
    copied = await app.bot.copy_message(group.id, jack.chat_id, own)
    forwarded = await app.bot.forward_message(group.id, jack.chat_id, own)
    assert forwarded.text == "forward me" and forwarded.forward_origin is not None
    assert [m.text for m in group.inbox()] == ["forward me", "forward me"]
    assert await app.bot.delete_message(group.id, copied.message_id)
    assert [m.message_id for m in group.inbox()] == [forwarded.message_id]
    await app.bot.send_message("@jack", "by username")
    params = await sandbox.wait_for_call(
        "sendMessage", predicate=lambda p: p["text"] == "by username"
    )
    assert params["chat_id"] == jack.chat_id
    info = await app.bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count >= 0
