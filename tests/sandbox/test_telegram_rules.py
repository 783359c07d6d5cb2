"""The sandbox refuses what Telegram refuses: each rule driven through a real PTB Bot or raw HTTP.

PTB re-cases Telegram's descriptions ("Bad Request: BOT_COMMAND_INVALID" becomes
"Bot_command_invalid"), so the messages are matched case-insensitively.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
)
from telegram.error import BadRequest, Conflict, Forbidden

from sandbox import Sandbox, SandboxUser

PNG = b"\x89PNG\r\n\x1a\nalbum-photo" * 3
YES = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="answer:yes")]])


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox (privacy mode on, as for any bot BotFather creates)."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    """A real PTB Bot talking to the sandbox."""
    async with Bot(
        sandbox.token, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url
    ) as running:
        yield running


@pytest.fixture
def user(sandbox: Sandbox) -> SandboxUser:
    """A user who has opened the bot's private chat before."""
    return sandbox.create_user("Uma", username="uma", started=True)


async def _texts(bot: Bot) -> list[str | None]:
    """Fetch and confirm every pending update; return the message texts."""
    updates = await bot.get_updates(timeout=0)
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return [u.effective_message.text if u.effective_message else None for u in updates]


# ---------------------------------------------------------------------------- privacy mode


async def test_privacy_mode_delivers_only_commands_replies_to_the_bot_and_mentions(
    sandbox: Sandbox, bot: Bot
) -> None:
    assert (await bot.get_me()).can_read_all_group_messages is False
    erin, fred = sandbox.create_user("Erin"), sandbox.create_user("Fred")
    group = sandbox.create_group("Regulars", [erin, fred])
    posted = await bot.send_message(group.id, "Welcome, regulars")
    chatting = await erin.send("just chatting", chat=group)
    await erin.send("/start", chat=group)
    await erin.send(f"/help@{sandbox.bot_username}", chat=group)
    await erin.send("/start@some_other_bot", chat=group)
    await erin.send("thanks!", chat=group, reply_to=posted.message_id)
    other = await fred.send("anyone up for coffee?", chat=group)
    await erin.send("me!", chat=group, reply_to=other)
    await fred.send(f"hey @{sandbox.bot_username}, opening hours?", chat=group)
    await fred.send("hey @somebody_else", chat=group)
    await fred.send_photo(chat=group)
    await fred.send_photo(f"for @{sandbox.bot_username}", chat=group)
    await erin.edit(chatting, "just chatting, edited", chat=group)
    await erin.send("in private everything arrives")
    assert await _texts(bot) == [
        "/start",
        f"/help@{sandbox.bot_username}",
        "thanks!",
        f"hey @{sandbox.bot_username}, opening hours?",
        None,  # the photo whose caption mentions the bot
        "in private everything arrives",
    ]


async def test_without_privacy_mode_the_bot_reads_every_group_message() -> None:
    async with Sandbox(privacy_mode=False) as sandbox:
        bot = Bot(sandbox.token, base_url=sandbox.base_url)
        async with bot:
            assert (await bot.get_me()).can_read_all_group_messages is True
            erin = sandbox.create_user("Erin")
            group = sandbox.create_group("Regulars", [erin])
            await erin.send("just chatting", chat=group)
            assert await _texts(bot) == ["just chatting"]


# ------------------------------------------------------------------- who the bot may write to


async def test_the_bot_cannot_write_first_to_a_user_who_never_started_it(
    sandbox: Sandbox, bot: Bot
) -> None:
    fay = sandbox.create_user("Fay")
    group = sandbox.create_group("Regulars", [fay])
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await bot.send_message(fay.id, "Hello!")
    with pytest.raises(Forbidden, match="(?i)can't initiate"):
        await bot.send_photo(fay.id, photo=PNG)
    await fay.send("/start", chat=group)  # a group command opens no private chat
    with pytest.raises(Forbidden, match="(?i)can't initiate"):
        await bot.send_chat_action(fay.id, "typing")
    assert not fay.started

    await fay.send("/start")
    assert fay.started
    assert (await bot.send_message(fay.id, "Hello!")).text == "Hello!"
    sandbox.block(fay)
    with pytest.raises(Forbidden, match="(?i)blocked by the user"):
        await bot.send_message(fay.id, "Still there?")

    returning = sandbox.create_user("Gus", started=True)  # pressed Start in the past
    assert (await bot.send_message(returning.id, "Welcome back")).text == "Welcome back"


# -------------------------------------------------------------------------------- parse_mode


@pytest.mark.parametrize(
    ("mode", "markup", "plain", "entities"),
    [
        (
            "HTML",
            "<b>Bold</b> &amp; <i>it<u>al</u></i> <a href='https://example.org'>link</a> "
            '<span class="tg-spoiler">s</span> <pre><code class="language-py">x=1</code></pre>',
            "Bold & ital link s x=1",
            [
                ("bold", 0, 4),
                ("italic", 7, 4),
                ("underline", 9, 2),
                ("text_link", 12, 4),
                ("spoiler", 17, 1),
                ("pre", 19, 3),
            ],
        ),
        ("HTML", "<b>😀</b> 1 &lt; 2 &#x263A;", "😀 1 < 2 ☺", [("bold", 0, 2)]),
        (
            "MarkdownV2",
            "*bold* _it_ __u__ ~s~ ||sp|| `c\\`` [l](https://example.org/a\\)b) 4\\.50 €",
            "bold it u s sp c` l 4.50 €",
            [
                ("bold", 0, 4),
                ("italic", 5, 2),
                ("underline", 8, 1),
                ("strikethrough", 10, 1),
                ("spoiler", 12, 2),
                ("code", 15, 2),
                ("text_link", 18, 1),
            ],
        ),
        ("MarkdownV2", ">quoted\n>lines\nafter", "quoted\nlines\nafter", [("blockquote", 0, 12)]),
        ("MarkdownV2", "*bold _both_*", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
        ("Markdown", "*b* _i_ `c` [l](https://example.org) 4.50", "b i c l 4.50", None),
    ],
)
async def test_parse_mode_is_parsed_into_text_and_entities(
    bot: Bot,
    user: SandboxUser,
    mode: str,
    markup: str,
    plain: str,
    entities: list[tuple[str, int, int]] | None,
) -> None:
    sent = await bot.send_message(user.id, markup, parse_mode=mode)
    assert sent.text == plain
    found = [(e.type, e.offset, e.length) for e in sent.entities]
    if entities is None:
        assert [kind for kind, _, _ in found] == ["bold", "italic", "code", "text_link"]
    else:
        assert found == entities
    assert (await user.next_message()).text == plain


@pytest.mark.parametrize(
    ("mode", "markup", "problem"),
    [
        ("HTML", "<b>never closed", 'end tag corresponding to start tag "b"'),
        ("HTML", "line<br>break", 'Unsupported start tag "br"'),
        ("HTML", "1 < 2", 'Unsupported start tag ""'),
        ("HTML", "<b><i>crossed</b></i>", 'expected "</i>", found "</b>"'),
        ("HTML", "<span>x</span>", 'must have class "tg-spoiler"'),
        ("HTML", "stray</b>", "Unexpected end tag"),
        ("MarkdownV2", "Your total is 4.50", "Character '.' is reserved"),
        ("MarkdownV2", "Thanks (really)!", "Character '(' is reserved"),
        ("MarkdownV2", "*never closed", "Can't find end of Bold entity"),
        ("MarkdownV2", "[link](https://example.org", "Can't find end of a URL"),
        ("Markdown", "_never closed", "Can't find end of the entity"),
    ],
)
async def test_malformed_markup_is_refused(
    bot: Bot, user: SandboxUser, mode: str, markup: str, problem: str
) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities") as refused:
        await bot.send_message(user.id, markup, parse_mode=mode)
    assert problem.lower() in refused.value.message.lower()  # PTB re-cases it
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_photo(user.id, photo=PNG, caption=markup, parse_mode=mode)
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode"):
        await bot.send_message(user.id, "text", parse_mode="BBCode")
    await user.expect_no_message(0.05)


async def test_lengths_are_counted_after_parsing(bot: Bot, user: SandboxUser) -> None:
    long_text = "a" * 4096
    assert (await bot.send_message(user.id, f"<b>{long_text}</b>", parse_mode="HTML")).text
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(user.id, f"<b>{long_text}</b>")  # no parse_mode: tags count
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(user.id, f"<b>{long_text}a</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(user.id, "<b></b>", parse_mode="HTML")
    caption = "c" * 1024
    photo = await bot.send_photo(user.id, PNG, caption=f"*{caption}*", parse_mode="MarkdownV2")
    assert photo.caption == caption and photo.caption_entities[0].type == "bold"
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(user.id, PNG, caption=f"*{caption}c*", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
        await bot.edit_message_text(
            f"<i>{long_text}a</i>", user.id, photo.message_id - 1, parse_mode="HTML"
        )


# ---------------------------------------------------------------------------- inline buttons


async def test_inline_buttons_need_an_action_and_at_most_64_bytes_of_data(
    bot: Bot, user: SandboxUser
) -> None:
    def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([list(buttons)])

    with pytest.raises(BadRequest, match="(?i)Text buttons are unallowed in the inline keyboard"):
        await bot.send_message(user.id, "Pick", reply_markup=keyboard(InlineKeyboardButton("?")))
    too_long = InlineKeyboardButton("Long", callback_data="é" * 33)  # 66 bytes in UTF-8
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "Pick", reply_markup=keyboard(too_long))
    fine = keyboard(
        InlineKeyboardButton("Max", callback_data="x" * 64),
        InlineKeyboardButton("Site", url="https://example.org"),
    )
    sent = await bot.send_message(user.id, "Pick", reply_markup=fine)
    with pytest.raises(BadRequest, match="(?i)Text buttons are unallowed"):
        await bot.edit_message_reply_markup(
            user.id, sent.message_id, reply_markup=keyboard(InlineKeyboardButton("?"))
        )
    assert (await user.next_message()).buttons() == [("Max", "x" * 64), ("Site", None)]
    await user.expect_no_message(0.05)


# ----------------------------------------------------------------------------- command menus


@pytest.mark.parametrize(
    ("command", "description", "language", "problem"),
    [
        ("Start", "Begin", "", "BOT_COMMAND_INVALID"),
        ("start-now", "Begin", "", "BOT_COMMAND_INVALID"),
        ("c" * 33, "Begin", "", "BOT_COMMAND_INVALID"),
        ("start", "", "", "BOT_COMMAND_DESCRIPTION_INVALID"),
        ("start", "d" * 257, "", "BOT_COMMAND_DESCRIPTION_INVALID"),
        ("start", "Begin", "eng", "invalid language code"),
        ("start", "Begin", "EN", "invalid language code"),
    ],
)
async def test_set_my_commands_refuses_what_telegram_refuses(
    sandbox: Sandbox, bot: Bot, command: str, description: str, language: str, problem: str
) -> None:
    with pytest.raises(BadRequest, match="(?i)" + re.escape(problem)):
        await bot.set_my_commands([BotCommand(command, description)], language_code=language)
    assert sandbox.commands(language_code=language) == []


async def test_set_my_commands_accepts_the_limits(sandbox: Sandbox, bot: Bot) -> None:
    commands = [BotCommand("c" * 32, "d" * 256), BotCommand("my_points2", "Points")]
    assert await bot.set_my_commands(commands, language_code="zh")
    assert [c["command"] for c in sandbox.commands(language_code="zh")] == ["c" * 32, "my_points2"]


# ----------------------------------------------------------------------- webhooks and polling


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("http://bot.example.com/hook", None, "An HTTPS URL must be provided"),
        ("https://bot.example.com:8080/hook", None, "ports 80, 88, 443 or 8443"),
        ("https://bot.example.com/hook", "no spaces allowed", "unallowed characters"),
        ("https://bot.example.com/hook", "s" * 257, "secret token is too long"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    sandbox: Sandbox, bot: Bot, url: str, secret: str | None, problem: str
) -> None:
    with pytest.raises(BadRequest, match="(?i)" + re.escape(problem)):
        await bot.set_webhook(url, secret_token=secret)
    assert sandbox.webhook_url == ""


async def test_get_updates_conflicts_with_a_webhook(sandbox: Sandbox, bot: Bot) -> None:
    assert await bot.set_webhook("https://bot.example.com:8443/hook", secret_token="Ab_-9")
    assert (await bot.get_webhook_info()).url == "https://bot.example.com:8443/hook"
    with pytest.raises(Conflict, match="(?i)can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_a_second_poller_terminates_the_first(sandbox: Sandbox, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await sandbox.wait_for_call("getUpdates")
    async with Bot(sandbox.token, base_url=sandbox.base_url) as other_instance:
        assert await other_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
        await first
    async with aiohttp.ClientSession() as session:  # a webhook ends an open poll as well
        url = f"{sandbox.base_url}{sandbox.token}"
        poll = asyncio.create_task(session.post(f"{url}/getUpdates", json={"timeout": 5}))
        await sandbox.wait_for_call("getUpdates", since=len(sandbox.calls))
        await bot.set_webhook("https://bot.example.com/hook")
        response = await poll
        assert response.status == 409
        assert "terminated by setWebhook" in (await response.json())["description"]


async def test_allowed_updates_is_honoured_and_kept(
    sandbox: Sandbox, bot: Bot, user: SandboxUser
) -> None:
    await user.send("queued before the filter")  # Telegram still delivers what was queued
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.message.text for u in updates if u.message] == ["queued before the filter"]
    offset = updates[-1].update_id + 1
    await bot.send_message(user.id, "Pick", reply_markup=YES)
    await user.send("not wanted")
    query_id = await user.press(await user.next_message(), "Yes")
    updates = await bot.get_updates(offset=offset, timeout=0)  # no allowed_updates: kept
    assert [(u.message, u.callback_query.id if u.callback_query else None) for u in updates] == [
        (None, query_id)
    ]
    assert (await bot.get_webhook_info()).allowed_updates == ("callback_query",)
    offset = updates[-1].update_id + 1
    await bot.get_updates(offset=offset, timeout=0, allowed_updates=[])  # back to the default
    await user.send("wanted again")
    assert await _texts(bot) == ["wanted again"]


# ------------------------------------------------------------------------------------ albums


async def test_send_media_group_sends_an_album(
    sandbox: Sandbox, bot: Bot, user: SandboxUser
) -> None:
    first = await bot.send_photo(user.id, PNG)
    album = [
        InputMediaPhoto(PNG, caption="<b>Week 47</b> report", parse_mode="HTML"),
        InputMediaPhoto(PNG + b"2"),
        InputMediaPhoto(first.photo[-1].file_id),
    ]
    messages = await bot.send_media_group(user.id, album)
    assert len(messages) == 3 and len({m.media_group_id for m in messages}) == 1
    assert messages[0].media_group_id is not None
    assert messages[0].caption == "Week 47 report"
    assert messages[0].caption_entities[0].type == "bold"
    second = await bot.get_file(messages[1].photo[-1].file_id)
    assert bytes(await second.download_as_bytearray()) == PNG + b"2"
    user.skip_pending()
    assert [m.method for m in user.inbox()] == ["sendphoto"] + ["sendmediagroup"] * 3

    with pytest.raises(BadRequest, match="(?i)must be 2-10"):
        await bot.send_media_group(user.id, [InputMediaPhoto(PNG)])
    with pytest.raises(BadRequest, match="(?i)too many messages to send as an album"):
        await bot.send_media_group(user.id, [InputMediaPhoto(PNG)] * 11)
    with pytest.raises(BadRequest, match="(?i)document can't be mixed"):
        await bot.send_media_group(
            user.id, [InputMediaPhoto(PNG), InputMediaDocument(b"a,b\n", filename="x.csv")]
        )
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_media_group(user.id, [InputMediaPhoto(PNG, caption="c" * 1025)] * 2)
    assert len(user.inbox()) == 4  # a refused album sends nothing
    stranger = sandbox.create_user("Stan")
    with pytest.raises(Forbidden, match="(?i)can't initiate"):
        await bot.send_media_group(stranger.id, album[1:])


# --------------------------------------------------------------------------- callback answers


async def test_answer_callback_query_rules(sandbox: Sandbox, bot: Bot, user: SandboxUser) -> None:
    await bot.send_message(user.id, "Pick", reply_markup=YES)
    question = await user.next_message()
    query_id = await user.press(question, "Yes")
    with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="x" * 200)
    assert (await user.wait_callback_answer(query_id))["text"] == "x" * 200
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query_id)  # answered already
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("4000999999")  # never pressed
    late = await user.press(question, "Yes")
    sandbox.expire_callback_queries()
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(late)
    assert user.callback_answers == [sandbox.callback_answers[query_id]]
