"""A seeded random run of every kind of update through the sandbox to a real `carebot run`.

Run: .venv/bin/python bench/fuzz_bench.py [--updates 10000] [--seed 1] [--sync 50]
                                         [--rate-limiter] [--keep-log FILE] [--malformed-chat]

The bot (`python -m bot run`, a subprocess) polls the embedded sandbox (bot/sandbox.py, in this
process on 127.0.0.1). Customers (en, zh, other languages; some never press /start), the owner,
a manager and a staff member, a staff group (with one customer in it), a customers' group and a
channel send: texts (FAQ questions, small talk, complaints, random unicode, emoji, very long,
mixed zh/en, markup look-alikes), every command of README.md with random arguments (huge and
negative numbers, real and unknown member codes, dates, zones, unicode), edits of earlier
messages, group and channel posts, replies to the bot's messages, media (photos, contacts,
locations, stickers, documents, voice), `my_chat_member` (block/unblock), poison updates
python-telegram-bot cannot parse (they must be parked; `--malformed-chat` adds ones whose chat or
sender is not an object) and callback queries:
real buttons, double taps, stale buttons, other users' button data, and forged data built from
the real patterns with numbers like 40 nines. Every `--sync` updates a probe user sends /help and
waits for the reply, so at most that many updates are in flight (carebot handles updates one at
a time, so the probe's reply means everything before it was handled).

Printed: handler failures (the bot's log lines `handler failed … error=…`) with their top error
types, callback queries never answered (the sandbox records answerCallbackQuery), the bot's RSS
(from /proc) after set-up, at each quarter and at the end, and the Bot API errors the bot got.
The rate limiter is off by default (`CAREBOT_BENCH_NO_RATE_LIMITER=1`): with it, replies are
capped at 30/s and the run takes several minutes; `--rate-limiter` keeps it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from e2e_support import (
    OWNER_ID,
    ROOT,
    BotProcess,
    Sandbox,
    SandboxChat,
    SandboxUser,
    SentMessage,
    channel_post,
    copy_database,
    forged_press,
    ledger_rows,
    make_channel,
    my_chat_member,
    raw_message,
    seeded_database,
    wait_quiet,
    write_config,
)

from handlers.texts import t

GENERIC_ERRORS = {t("error.generic", "en"), t("error.generic", "zh")}

# Every command of README.md, with the words its first argument takes.
COMMANDS: dict[str, list[str]] = {
    "start": [],
    "help": [],
    "language": ["en", "zh", "fr", "EN", "中文"],
    "timezone": ["Europe/London", "Asia/Shanghai", "上海", "London", "Mars/Olympus", "UTC+8"],
    "stop": [],
    "resume": [],
    "forget": [],
    "staff": ["list", "add", "remove"],
    "audit": [],
    "faq": ["list", "show", "add", "edit", "del", "teach"],
    "unanswered": [],
    "feedback": [],
    "complaint": [],
    "mytickets": [],
    "cancel": [],
    "reply": [],
    "tickets": ["open", "mine", "all"],
    "ticket": [],
    "resolve": [],
    "reopen": [],
    "points": [],
    "history": [],
    "card": [],
    "phone": [],
    "earn": [],
    "redeem": [],
    "customer": [],
    "adjust": [],
    "birthday": ["12-25", "25-12", "2026-02-29", "29-02", "31-04", "1990-01-01", "12月25日"],
    "stage": [],
    "outreach": ["preview", "stats"],
    "customers": ["at-risk", "at_risk", "all"],
    "segment": ["new", "show", "list", "regulars", "stage>=trust", "recency=sleepy"],
    "tag": ["vip", "", "a b"],
    "campaign": ["new", "stats", "cancel", "everyone", "| en hi", "at=2027-13-01T10:00"],
    "report": ["week", "month", "digest", "year"],
    "whoami": [],
    "setup": ["staffchat", "nothing"],
}
HUGE = "9" * 40
NUMBERS = [
    "0", "1", "2", "5", "-1", "-5", "+30", "12.5", "12.345", "1e309", "NaN", "inf", "0x10",
    "１２３", "٣", "1001", "1002", "1003", HUGE, "-" + HUGE, "18446744073709551616", "007",
]  # fmt: skip
WORDS = [
    "en", "zh", "question", "answer", "alternates", "staff", "manager", "owner", "aware",
    "engaged", "understanding", "trust", "alliance", "lapsed", "|", ";", "R-1", "R-1", "coffee",
    "2026-11-23", "2026-13-45", "@nobody", "+44 7700 900123", "07700 900222", "goodwill",
]  # fmt: skip
HUGE_NUMBERS = [HUGE, "-" + HUGE, "18446744073709551616", "9223372036854775808", "1" + "0" * 30]
# Callback data patterns, as the handlers build them through care/callbacks.py (handlers/*.py,
# care/outreach/send.py, care/tickets/*.py), with slots; plus a few older shapes.
CALLBACKS = [
    "menu:open:{feature}", "loyalty:page:{n}", "loyalty:history", "loyalty:card",
    "loyalty:confirm:{n}", "loyalty:cancel:{n}", "faq:show:{n}:{lang}", "faq:none",
    "faq:vote:{n}:{lang}:{vote}", "faq:staff:{n}", "forget:ask", "forget:confirm:{n}",
    "forget:cancel", "settings:language:{word}", "settings:outreach:{setting}",
    "tickets:draft:{draft}", "tickets:rating:{r}", "tickets:skip:{skip}",
    "tickets:category:{category}", "tickets:csat:{n}:{r}", "tickets:take:{n}",
    "tickets:resolve:{n}", "outreach:rate:{n}:{r}", "outreach:mute:{n}",
    "loyalty:history:{n}", "faq:none:{n}", "forget:{forget}:{n}", "{feature}:{forget}",
]  # fmt: skip
SLOTS: dict[str, list[str]] = {
    "feature": ["points", "ask", "feedback", "complaint", "settings", "admin", "loyalty", ""],
    "lang": ["en", "zh", "fr", ""],
    "vote": ["up", "down", "sideways"],
    "forget": ["ask", "confirm", "cancel", "now", ""],
    "draft": ["complaint", "feedback", "x"],
    "word": ["toggle", "en", "zh", "x"],
    "setting": ["stop", "resume", "toggle", "x"],
    "r": ["1", "3", "5", "0", "6", "-1", HUGE],
    "skip": ["comment", "photo", "all"],
    "category": ["service", "product", "other", "x", ""],
}
SMALL_TALK = ["hi", "hello", "thanks!", "thank you", "你好", "谢谢", "bye", "再见", "ok"]
COMPLAINTS = [
    "my coffee was cold and the staff was rude, I want a refund",
    "I waited 40 minutes, terrible service",
    "咖啡太差了，我要投诉，退款！",
]
MARKUP = ["<b>bold</b>", "*bold* _it_ `code`", "<script>alert(1)</script>", "[x](http://e.x)"]
# (first code point, last code point) blocks random text is drawn from.
BLOCKS = [
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0xA0, 0xFF), (0x4E00, 0x9FFF), (0x4E00, 0x9FFF),
    (0x1F300, 0x1FAFF), (0x0600, 0x06FF), (0x0300, 0x036F), (0x200B, 0x200F), (0x2028, 0x202E),
    (0xFE00, 0xFE0F), (0x10000, 0x1000F), (0xE000, 0xE00F), (0x09, 0x0A),
]  # fmt: skip


def faq_questions() -> list[str]:
    """The demo FAQ's questions in both languages."""
    found = []
    for lang in ("en", "zh"):
        with (ROOT / "bot" / "data" / f"faq_{lang}.csv").open(newline="", encoding="utf-8") as f:
            found += [row["question"] for row in csv.DictReader(f)]
    return found


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Cast:
    """The people and chats of the run."""

    owner: SandboxUser
    staff: list[SandboxUser]
    customers: list[SandboxUser]
    probe: SandboxUser
    staff_chat: SandboxChat
    fans: SandboxChat
    channel: SandboxChat
    groups: dict[int, list[SandboxUser]]  # chat id -> members (the sandbox keeps only ids)

    def members(self, chat: SandboxChat) -> list[SandboxUser]:
        """The users in a group."""
        return self.groups[chat.id]

    @property
    def everyone(self) -> list[SandboxUser]:
        """Everyone who may act in the fuzz (not the probe)."""
        return [self.owner, *self.staff, *self.customers]


@dataclass
class Tally:
    """What the fuzz sent."""

    kinds: Counter[str] = field(default_factory=Counter)
    presses: dict[str, tuple[str, str]] = field(default_factory=dict)  # query -> kind, data
    sent_texts: list[tuple[SandboxUser, SandboxChat | None, int]] = field(default_factory=list)
    channel_posts: list[int] = field(default_factory=list)


class Fuzzer:
    """Builds and sends one random update at a time."""

    def __init__(
        self, sandbox: Sandbox, cast: Cast, codes: list[str], seed: int, malformed_chat: bool
    ) -> None:
        self.sandbox = sandbox
        self.malformed_chat = malformed_chat
        self.cast = cast
        self.codes = codes
        self.rng = random.Random(seed)
        self.questions = faq_questions()
        self.tally = Tally()
        self.kinds: list[tuple[Callable[[], object], int]] = [
            (self.text, 30),
            (self.command, 28),
            (self.edit, 6),
            (self.group_post, 8),
            (self.channel, 3),
            (self.media, 8),
            (self.callback, 15),
            (self.member, 2),
            (self.poison, 1),
        ]

    # ------------------------------------------------------------------ building blocks

    def unicode(self, low: int = 1, high: int = 40) -> str:
        """Random characters from mixed scripts, emoji, combining marks and format characters."""
        rng = self.rng
        chars = []
        for _ in range(rng.randint(low, high)):
            first, last = rng.choice(BLOCKS)
            chars.append(chr(rng.randint(first, last)))
        return "".join(chars)

    def random_text(self) -> str:
        """A message text a customer might send, or a strange one."""
        rng = self.rng
        choice = rng.random()
        if choice < 0.25:
            text = rng.choice(self.questions)
            if rng.random() < 0.3:  # a typo
                i = rng.randrange(len(text))
                text = text[:i] + text[i + 1 :]
        elif choice < 0.35:
            text = rng.choice(SMALL_TALK)
        elif choice < 0.42:
            text = rng.choice(COMPLAINTS)
        elif choice < 0.62:
            text = self.unicode()
        elif choice < 0.70:
            text = "".join(chr(rng.randint(0x1F300, 0x1FAFF)) for _ in range(rng.randint(1, 8)))
        elif choice < 0.77:
            text = self.unicode(2000, 4096)
        elif choice < 0.87:
            text = f"{rng.choice(['WiFi', 'apple pay', 'oat milk', 'Sunday'])}"
            text += rng.choice(["密码是多少", "可以用吗", "有吗？", "几点开门"])
        elif choice < 0.93:
            text = rng.choice(MARKUP) + " " + self.unicode(1, 5)
        else:
            text = rng.choice(["\u200b", "ㅤ", "?", "...", "\u202eevil", "a" * 4096, "\n\nhi\n"])
        while utf16_len(text) > 4096:
            text = text[: len(text) - 100]
        return text if text.strip() else "?"

    def argument(self) -> str:
        """One random command argument."""
        rng = self.rng
        choice = rng.random()
        users = self.cast.everyone
        if choice < 0.3:
            return rng.choice(NUMBERS) if rng.random() < 0.8 else str(rng.randint(-10, 3000))
        if choice < 0.5 and self.codes:
            return rng.choice(self.codes)
        if choice < 0.6:
            user = rng.choice(users)
            return f"@{user.username}" if user.username else str(user.id)
        if choice < 0.65:
            return str(rng.choice(users).id)
        if choice < 0.85:
            return rng.choice(WORDS)
        return self.unicode(1, 12).replace(" ", "") or "x"

    def command_text(self) -> str:
        """A command of README.md (sometimes unknown or addressed) with random arguments."""
        rng = self.rng
        name = rng.choice(list(COMMANDS))
        words = COMMANDS[name]
        args = [self.argument() for _ in range(rng.choice([0, 0, 1, 2, 2, 3, 4]))]
        if words and (not args or rng.random() < 0.7):
            args.insert(0, rng.choice(words))
        if name == "faq" and args and args[0] == "add" and rng.random() < 0.5:
            args += [rng.choice(["en", "zh"]), "Q?", "|", "alt", "|", "A."]
        command = f"/{name}"
        roll = rng.random()
        if roll < 0.03:
            command = f"/{name.upper()}"
        elif roll < 0.06:
            command = f"/{name}@{self.sandbox.bot_username}"
        elif roll < 0.08:
            command = rng.choice(["/foo", "/", "/start@other_bot", "/earn_points", "/帮助"])
        text = " ".join([command, *args])
        while utf16_len(text) > 4096:
            text = text[: len(text) - 100]
        return text

    def sender(self) -> tuple[SandboxUser, SandboxChat | None]:
        """Who writes where: mostly customers in private, staff in private or the staff chat."""
        rng = self.rng
        cast = self.cast
        roll = rng.random()
        if roll < 0.55:
            return rng.choice(cast.customers), None
        if roll < 0.8:
            return rng.choice([cast.owner, *cast.staff]), None
        if roll < 0.92:
            return rng.choice(cast.members(cast.staff_chat)), cast.staff_chat
        return rng.choice(cast.members(cast.fans)), cast.fans

    def bot_messages(self, chat_id: int, *, buttons: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat (with inline buttons only, if asked)."""
        found = self.sandbox.messages(chat_id)
        if buttons:
            found = [m for m in found if any(data for _, data in m.buttons())]
        return found

    async def send_text(self, user: SandboxUser, chat: SandboxChat | None, text: str) -> None:
        """Send, sometimes as a reply to one of the bot's messages in the chat."""
        reply_to = None
        chat_id = chat.id if chat is not None else user.id
        if self.rng.random() < 0.15:
            mine = self.bot_messages(chat_id)
            reply_to = self.rng.choice(mine) if mine else None
        message_id = await user.send(text, chat=chat, reply_to=reply_to)
        self.tally.sent_texts.append((user, chat, message_id))

    # ------------------------------------------------------------------ update kinds

    async def text(self) -> None:
        """Free text in a private chat."""
        await self.send_text(self.rng.choice(self.cast.customers), None, self.random_text())
        self.tally.kinds["text"] += 1

    async def command(self) -> None:
        """A command with random arguments."""
        user, chat = self.sender()
        await self.send_text(user, chat, self.command_text())
        self.tally.kinds["command" if chat is None else "command in a group"] += 1

    async def edit(self) -> None:
        """An edit of an earlier text or command."""
        if not self.tally.sent_texts:
            return await self.text()
        user, chat, message_id = self.rng.choice(self.tally.sent_texts[-300:])
        new = self.command_text() if self.rng.random() < 0.3 else self.random_text()
        await user.edit(message_id, new, chat=chat)
        self.tally.kinds["edit"] += 1
        return None

    async def group_post(self) -> None:
        """Text in the customers' group or the staff chat (often replying to the bot there)."""
        rng = self.rng
        chat = rng.choice([self.cast.fans, self.cast.staff_chat])
        user = rng.choice(self.cast.members(chat))
        posts = self.bot_messages(chat.id)
        reply_to = rng.choice(posts) if posts and rng.random() < 0.5 else None
        message_id = await user.send(self.random_text(), chat=chat, reply_to=reply_to)
        self.tally.sent_texts.append((user, chat, message_id))
        self.tally.kinds["group post"] += 1

    async def channel(self) -> None:
        """A channel post, or an edit of one."""
        posts = self.tally.channel_posts
        text = self.command_text() if self.rng.random() < 0.3 else self.random_text()
        if posts and self.rng.random() < 0.3:
            channel_post(self.sandbox, self.cast.channel, text, edit_of=self.rng.choice(posts))
            self.tally.kinds["channel post edit"] += 1
            return
        posts.append(channel_post(self.sandbox, self.cast.channel, text))
        self.tally.kinds["channel post"] += 1

    async def media(self) -> None:
        """A photo, contact, location, sticker, document or voice message."""
        rng = self.rng
        user, chat = self.sender()
        kind = rng.choice(["photo", "photo", "contact", "contact", "location", "sticker", "doc"])
        kind = kind if rng.random() > 0.1 else "voice"
        if kind == "photo":
            caption = rng.choice([None, self.random_text()[:1024], self.command_text()[:1024]])
            await user.send_photo(caption, chat)
        elif kind == "contact":
            if rng.random() < 0.7:
                await user.share_contact(
                    rng.choice(["+44 7700 900123", "+8613800138000"]), chat=chat
                )
            else:  # someone else's contact card
                other = rng.choice(self.cast.everyone)
                contact = {"phone_number": "+447700900" + str(rng.randint(100, 999))}
                contact |= {"first_name": other.first_name, "user_id": other.id}
                raw_message(self.sandbox, user, chat, {"contact": contact})
        else:
            unique = f"{rng.randrange(10**9)}"
            content = {
                "location": {"location": {"latitude": 51.5, "longitude": -0.12}},
                "sticker": {
                    "sticker": {
                        "file_id": f"STK{unique}",
                        "file_unique_id": f"U{unique}",
                        "type": "regular",
                        "width": 512,
                        "height": 512,
                        "is_animated": False,
                        "is_video": False,
                        "emoji": "☕",
                    }
                },
                "doc": {
                    "document": {
                        "file_id": f"DOC{unique}",
                        "file_unique_id": f"U{unique}",
                        "file_name": "menu.pdf",
                        "mime_type": "application/pdf",
                        "file_size": 1234,
                    },
                    "caption": self.unicode(0, 20) or None,
                },
                "voice": {
                    "voice": {
                        "file_id": f"VOI{unique}",
                        "file_unique_id": f"U{unique}",
                        "duration": 3,
                    }
                },
            }[kind]
            raw_message(self.sandbox, user, chat, {k: v for k, v in content.items() if v})
        self.tally.kinds[f"media: {kind}"] += 1

    async def callback(self) -> None:
        """A button press: real, double, stale, someone else's data, or forged data."""
        rng = self.rng
        user = rng.choice(self.cast.everyone)
        chats = [user.id] + [
            c.id for c in (self.cast.staff_chat, self.cast.fans) if user in self.cast.members(c)
        ]
        chat_id = rng.choice(chats) if rng.random() < 0.3 else user.id
        with_buttons = self.bot_messages(chat_id, buttons=True)
        any_message = self.bot_messages(chat_id)
        if not any_message:
            return await self.text()
        roll = rng.random()
        if roll < 0.3 and with_buttons:
            message = rng.choice(with_buttons[-5:])
            data = rng.choice([d for _, d in message.buttons() if d])
            self.press(
                user, message, data, "real button" if chat_id == user.id else "group button"
            )
        elif roll < 0.42 and with_buttons:
            message = rng.choice(with_buttons[-5:])
            data = rng.choice([d for _, d in message.buttons() if d])
            self.press(user, message, data, "double tap")
            self.press(user, message, data, "double tap")
        elif roll < 0.5 and with_buttons:
            message = with_buttons[0]
            data = rng.choice([d for _, d in message.buttons() if d])
            self.press(user, message, data, "stale button")
        elif roll < 0.62:
            other = rng.choice(self.cast.everyone)
            theirs = self.bot_messages(other.id, buttons=True)
            if not theirs or other is user:
                return await self.text()
            data = rng.choice([d for m in theirs for _, d in m.buttons() if d])
            self.press(user, rng.choice(any_message), data, "another user's data")
        else:
            self.press(user, rng.choice(any_message), self.forged_data(), "forged data")
        return None

    def forged_data(self) -> str:
        """Callback data from a real pattern with random slots, or plain garbage (<= 64 bytes)."""
        rng = self.rng
        if rng.random() < 0.1:
            data = self.unicode(1, 30)
        else:
            data = rng.choice(CALLBACKS)
            for slot, values in SLOTS.items():
                data = data.replace("{" + slot + "}", rng.choice(values))
            roll = rng.random()
            n = (
                rng.choice(HUGE_NUMBERS)
                if roll < 0.3
                else rng.choice(NUMBERS)
                if roll < 0.6
                else str(rng.randint(0, 3000))
            )
            data = data.replace("{n}", n)
            if rng.random() < 0.1:
                data = data[: rng.randrange(1, len(data) + 1)]
        while len(data.encode()) > 64:
            data = data[:-1]
        return data or "x"

    def press(self, user: SandboxUser, message: SentMessage, data: str, kind: str) -> None:
        """Press with `data` on `message`; remember the query for the answered check."""
        query_id = forged_press(self.sandbox, user, message, data)
        self.tally.presses[query_id] = (kind, data)
        self.tally.kinds[f"callback: {kind}"] += 1

    async def member(self) -> None:
        """The user blocks or unblocks the bot (a `my_chat_member` update)."""
        user = self.rng.choice(self.cast.customers)
        my_chat_member(self.sandbox, user, self.rng.choice(["kicked", "member"]))
        self.tally.kinds["my_chat_member"] += 1

    def poison(self) -> None:
        """An update python-telegram-bot cannot parse, in a user's chat (or malformed)."""
        rng = self.rng
        user = rng.choice(self.cast.everyone)
        message = {
            "message_id": rng.randint(1, 10**6),
            "date": 0,
            "chat": user.private_chat_json(),
            "from": user.to_json(),
            "text": "/help",
        }
        kinds = ["entity", "no date", "from"] + (["chat", "query"] if self.malformed_chat else [])
        kind = rng.choice(kinds)
        if kind == "entity":
            self.sandbox.inject("message", message | {"entities": [{"type": "bot_command"}]})
        elif kind == "no date":
            self.sandbox.inject(
                "edited_message", {k: v for k, v in message.items() if k != "date"}
            )
        elif kind == "from":
            self.sandbox.inject("callback_query", {"id": "1", "from": [user.id], "data": "x"})
        elif kind == "chat":
            self.sandbox.inject("message", {"message_id": "x", "chat": user.id})
        else:
            self.sandbox.inject("callback_query", {"id": "1", "from": user.id, "message": "?"})
        self.tally.kinds[f"poison: {kind}"] += 1

    async def one(self) -> None:
        """Send one random update (a double tap sends two)."""
        makers, weights = zip(*self.kinds, strict=True)
        maker = self.rng.choices(makers, weights)[0]
        made = maker()
        if asyncio.iscoroutine(made):
            await made


def build_cast(sandbox: Sandbox) -> Cast:
    """Owner, staff, customers, a probe, the staff chat, the customers' group and a channel."""
    owner = sandbox.create_user("Olivia", username="olivia", user_id=OWNER_ID)
    staff = [
        sandbox.create_user("Sam", username="sam_barista"),
        sandbox.create_user("Kim", username="kim", language_code="zh-hans"),
    ]
    names = [
        ("Mia", "en"), ("李华", "zh-hans"), ("Tom", "en"), ("陈伟", "zh"), ("José", "es"),
        ("Anna", "de"), ("Ömer", "tr"), ("Zoë 🌸", "en"), ("王芳", "zh-hant"), ("Li", None),
        ("Ray", "en"), ("Ana", "pt-br"), ("Sven", "sv"), ("Noor", "ar"), ("Kai", "en"),
        ("小明", "zh"), ("Eve", "en"), ("Bob", "en"), ("Ivy", "en"), ("Max", "en"),
        ("Lou", "fr"), ("Dee", "en"), ("Yu", "ja"), ("Ola", "pl"),
    ]  # fmt: skip
    customers = [
        sandbox.create_user(
            name, username=f"guest{i}" if i % 5 else None, language_code=lang, last_name=None
        )
        for i, (name, lang) in enumerate(names)
    ]
    probe = sandbox.create_user("Probe", username="probe")
    in_staff_chat = [owner, *staff, customers[16]]
    in_fans = [*customers[:8], staff[0]]
    staff_chat = sandbox.create_group("Staff room", members=in_staff_chat)
    fans = sandbox.create_group("Bean fans", members=in_fans)
    channel = make_channel(sandbox, "Bean news")
    groups = {staff_chat.id: in_staff_chat, fans.id: in_fans}
    return Cast(owner, staff, customers, probe, staff_chat, fans, channel, groups)


@dataclass
class Rss:
    """The bot's resident set size over the run, in KiB."""

    marks: list[tuple[str, int]] = field(default_factory=list)
    peak: int = 0

    def mark(self, bot: BotProcess, label: str) -> None:
        """Record the current RSS under a label."""
        value = bot.rss_kib()
        if value is not None:
            self.marks.append((label, value))
            self.peak = max(self.peak, value)


async def run(args: argparse.Namespace) -> None:
    """Set up, fuzz, wait until quiet, count."""
    with seeded_database() as seed_db, tempfile.TemporaryDirectory(prefix="carebot-fuzz-") as tmp:
        async with Sandbox() as sandbox:
            cast = build_cast(sandbox)
            db = copy_database(seed_db, Path(tmp) / "bot.sqlite3")
            config = write_config(
                Path(tmp) / "bot.toml", sandbox, db, staff_chat_id=cast.staff_chat.id
            )
            env = None if args.rate_limiter else {"CAREBOT_BENCH_NO_RATE_LIMITER": "1"}
            bot = BotProcess.carebot(config, Path(tmp) / "bot.log", env)
            await bot.start(sandbox)
            rss = Rss()
            started = time.perf_counter()
            probes = probe_timeouts = 0
            try:
                await set_up(sandbox, cast, bot)
                codes = [code for (code,) in ledger_rows(db, "SELECT member_code FROM customers")]
                fuzzer = Fuzzer(sandbox, cast, codes, args.seed, args.malformed_chat)
                rss.mark(bot, "after set-up")
                sent = 0
                quarter = max(1, args.updates // 4)
                while sent < args.updates and bot.alive:
                    before = sum(fuzzer.tally.kinds.values())
                    await fuzzer.one()
                    after = sum(fuzzer.tally.kinds.values())
                    if after // args.sync != before // args.sync:
                        probes += 1
                        probe_timeouts += not await probe(cast.probe)
                        if probe_timeouts >= 3:
                            print("three probes unanswered: the bot stopped handling updates")
                            break
                    if after // quarter != before // quarter:
                        rss.mark(bot, f"after {after} updates")
                        print(
                            f"{after} updates, {time.perf_counter() - started:.0f} s", flush=True
                        )
                    sent = after
                quiet = await wait_quiet(sandbox, quiet=3.0, timeout=120, busy=bot)
                rss.mark(bot, "at the end")
                alive = bot.alive
                parked = dict(ledger_rows(db, PARKED))
            finally:
                await bot.stop()
                if args.keep_log:
                    save_log(bot, Path(args.keep_log))
            elapsed = time.perf_counter() - started
            report(sandbox, fuzzer.tally, bot, rss, args, elapsed, probes, probe_timeouts, parked)
            print(f"bot alive at the end: {alive}; quiet at the end: {quiet}")


def save_log(bot: BotProcess, path: Path) -> None:
    """Copy the bot's log out of the temporary directory."""
    path.write_text(bot.log_text(), "utf-8")


async def set_up(sandbox: Sandbox, cast: Cast, bot: BotProcess) -> None:
    """Two thirds of the customers press /start; the owner appoints a manager and a staff."""
    registered = cast.customers[: len(cast.customers) * 2 // 3]
    for user in [*registered, cast.owner, *cast.staff]:
        await user.send("/start")
    await cast.owner.send(f"/staff add {cast.staff[0].id} manager")
    await cast.owner.send(f"/staff add @{cast.staff[1].username} staff")
    await wait_quiet(sandbox, quiet=1.0, busy=bot)


async def probe(user: SandboxUser) -> bool:
    """/help from the probe user; True when the bot answered within a minute."""
    user.skip_pending()
    await user.send("/help")
    try:
        await user.next_message(timeout=60)
    except TimeoutError:
        return False
    return True


_FAILED = re.compile(r"handler failed update_id=(\S+)(?: attempt=\S+)? error=(\w+)")
PARKED = """
    SELECT CASE WHEN error LIKE 'unparsable%' THEN 'unparsable' ELSE 'failed' END, COUNT(*)
    FROM inbox WHERE status = 'parked' GROUP BY 1
"""
_HANDLER_FRAME = re.compile(r'File ".*/(handlers/\w+\.py)", line \d+, in (\w+)')
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def handler_failures(log: str) -> tuple[int, Counter[str], Counter[str]]:
    """Count `handler failed` lines by error type, and by the traceback's last line (digits
    folded) with the innermost frame in handlers/ where it was raised."""
    lines = log.splitlines()
    by_type: Counter[str] = Counter()
    by_message: Counter[str] = Counter()
    for i, line in enumerate(lines):
        found = _FAILED.search(line)
        if found is None:
            continue
        by_type[found.group(2)] += 1
        last = where = ""
        for follow in lines[i + 1 :]:
            if _STAMP.match(follow):
                break
            frame = _HANDLER_FRAME.search(follow)
            if frame is not None:
                where = f"{frame.group(1)}:{frame.group(2)}"
            if follow.strip() and not follow.startswith((" ", "Traceback", "The above", "During")):
                last = follow.strip()
        message = re.sub(r"\d+", "N", last.removeprefix("telegram.error."))[:64]
        message = message or found.group(2)
        by_message[f"{message}` in `{where or '?'}"] += 1
    return sum(by_type.values()), by_type, by_message


def _data_shape(data: str) -> str:
    """Callback data with each run of digits folded to N."""
    return re.sub(r"\d+", "N", data)


def other_log_lines(log: str) -> Counter[str]:
    """WARNING and ERROR lines other than `handler failed`, by logger and message (digits
    folded), plus tracebacks that follow no log line of the bot's."""
    found: Counter[str] = Counter()
    for line in log.splitlines():
        if " WARNING " in line or (" ERROR " in line and "handler failed" not in line):
            level = "WARNING" if " WARNING " in line else "ERROR"
            message = line.split(f" {level} ", 1)[1]
            found[f"{level} " + re.sub(r"\d+", "N", message)[:100]] += 1
    return found


def report(
    sandbox: Sandbox,
    tally: Tally,
    bot: BotProcess,
    rss: Rss,
    args: argparse.Namespace,
    elapsed: float,
    probes: int,
    probe_timeouts: int,
    parked: dict[str, int],
) -> None:
    """Print every count."""
    total = sum(tally.kinds.values())
    log = bot.log_text()
    failures, by_type, by_message = handler_failures(log)
    print(
        f"\n## Fuzz: {total} updates (+{probes} probes), seed {args.seed}, "
        f"rate limiter {'on' if args.rate_limiter else 'off'}, {elapsed:.0f} s\n"
    )
    print("| update kind | sent |\n|---|---|")
    for kind, n in sorted(tally.kinds.items()):
        print(f"| {kind} | {n} |")
    unanswered = Counter(
        kind for query, (kind, _) in tally.presses.items() if query not in sandbox.callback_answers
    )
    pressed = Counter(kind for kind, _ in tally.presses.values())
    unanswered_data = Counter(
        _data_shape(data)
        for query, (_, data) in tally.presses.items()
        if query not in sandbox.callback_answers
    )
    generic = sum(m.content in GENERIC_ERRORS for m in sandbox.sent() if not m.edited)
    print("\n| count | result |\n|---|---|")
    failed_updates = len({found.group(1) for found in _FAILED.finditer(log)})
    print(
        f"| handler failures (`handler failed` lines in the bot's log, one per attempt) "
        f"| {failures} (of {failed_updates} updates) |"
    )
    print(f"| 'Sorry, something went wrong' replies | {generic} |")
    print(f"| tracebacks in the bot's log | {log.count('Traceback (most recent call last)')} |")
    print(f"| ERROR lines in the bot's log | {log.count(' ERROR ')} |")
    print(
        f"| callback queries never answered | {sum(unanswered.values())} of {len(tally.presses)} |"
    )
    print(f"| probes unanswered within 60 s | {probe_timeouts} of {probes} |")
    poisons = sum(n for kind, n in tally.kinds.items() if kind.startswith("poison"))
    print(f"| poison updates parked as unparsable | {parked.get('unparsable', 0)} of {poisons} |")
    print(f"| updates parked after failing every attempt | {parked.get('failed', 0)} |")
    first, last = rss.marks[0][1], rss.marks[-1][1]
    print(
        f"| bot RSS growth, after set-up → end | {(last - first) / 1024:+.1f} MiB "
        f"({first / 1024:.1f} → {last / 1024:.1f} MiB, peak {rss.peak / 1024:.1f}) |"
    )
    print("\n| handler failures by error type | n |\n|---|---|")
    for name, n in by_type.most_common():
        print(f"| {name} | {n} |")
    print("\n| other WARNING / ERROR lines in the bot's log | n |\n|---|---|")
    others = other_log_lines(log)
    for line, n in others.most_common(10):
        print(f"| `{line}` | {n} |")
    if not others:
        print("| (none) | 0 |")
    print("\n| top handler failures (traceback's last line, digits as N) | n |\n|---|---|")
    for message, n in by_message.most_common(12):
        print(f"| `{message}` | {n} |")
    print("\n| callback presses by kind | pressed | never answered |\n|---|---|---|")
    for kind, n in pressed.most_common():
        print(f"| {kind} | {n} | {unanswered[kind]} |")
    print("\n| callback data never answered (digits as N) | n |\n|---|---|")
    for shape, n in unanswered_data.most_common(12):
        print(f"| `{shape}` | {n} |")
    if not unanswered_data:
        print("| (none) | 0 |")
    errors = Counter(
        (method, re.sub(r"\d+", "N", text)[:80]) for method, _, text in sandbox.errors
    )
    print("\n| Bot API errors the bot got (method, description) | n |\n|---|---|")
    for (method, text), n in errors.most_common(10):
        print(f"| {method}: {text} | {n} |")
    print("\n| bot RSS | MiB |\n|---|---|")
    for label, value in rss.marks:
        print(f"| {label} | {value / 1024:.1f} |")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=10_000, help="fuzz updates (>= 10,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sync", type=int, default=50, help="updates between probes")
    parser.add_argument("--rate-limiter", action="store_true", help="keep AIORateLimiter")
    parser.add_argument("--keep-log", metavar="FILE", help="save the bot's log to FILE")
    parser.add_argument(
        "--malformed-chat",
        action="store_true",
        help="also poison updates whose chat or sender is not an object",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
