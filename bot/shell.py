"""`carebot shell` and `carebot demo`: chat with the real Application in a terminal.

The bot runs unchanged against the embedded Bot API sandbox; you type as a Telegram user.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.app import build_application, start_embedded, stop_embedded
from bot.config import Settings, StorageSettings, TelegramSettings
from bot.database import migrated_database
from bot.demo import DEMO_BUSINESS, DEMO_CUSTOMER_ID, DEMO_OWNER_ID, seed_demo
from care.clock import SystemClock
from care.settings import BusinessSettings, LocaleSettings, StaffSettings
from sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage

FIRST_REPLY_WAIT = 3.0
QUIET_AFTER = 0.3
HELP = (
    "Type as a Telegram user: text or /commands. Extras:\n"
    "  #N              press button N (of the last message with buttons for who you are)\n"
    "  !contact NUM    share your phone number (what the 📱 button does)\n"
    "  !photo [TEXT]   send a photo, with an optional caption\n"
    "  !staff TEXT     say TEXT in the staff room (staff only)\n"
    "  !reply N TEXT   answer staff-room post N (the number in 'staff room #N')\n"
    "  !as staff|customer   switch who you are (the other side's messages stay marked)\n"
    "  !quit           leave (or Ctrl-D)"
)
CUSTOMER_NAME, OWNER_NAME = "Alex", "Olivia"


def demo_settings(data_dir: str) -> Settings:
    """Settings for the demo: a local database and the demo café."""
    return Settings(
        telegram=TelegramSettings(token="0:DEMO"),  # noqa: S106 (the sandbox takes any)
        storage=StorageSettings(path=str(Path(data_dir) / "carebot.sqlite3")),
        staff=StaffSettings(owners=[DEMO_OWNER_ID]),
        locale=LocaleSettings(default_language="en", timezone="Europe/London"),
        business=BusinessSettings(name=DEMO_BUSINESS),
    )


async def run_demo(
    data_dir: str, *, role: str, lang: str, stdin: TextIO | None = None, reset: bool = False
) -> int:
    """Seed the demo database if it is empty (`reset`: delete it first), then open the shell."""
    settings = demo_settings(data_dir)
    if reset:
        await asyncio.to_thread(delete_database, settings.storage.path)
    async with migrated_database(settings.storage.path) as db:
        seeded = await seed_demo(db, SystemClock())
    if seeded:
        print(f"demo database created at {settings.storage.path}")
    return await run_shell(settings, role=role, lang=lang, stdin=stdin)


def delete_database(path: str) -> None:
    """Delete a SQLite file with its -wal and -shm companions."""
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


async def run_shell(
    settings: Settings, *, role: str, lang: str, stdin: TextIO | None = None
) -> int:
    """Run the bot against a fresh sandbox and chat with it from the terminal."""
    sandbox = Sandbox(token="424242:SHELL", first_update_id=int(time.time() * 1000))  # noqa: S106
    async with sandbox:
        # Both have used the bot before (the demo database knows Alex), so it may write first.
        customer = sandbox.create_user(
            CUSTOMER_NAME,
            username="alex",
            language_code=lang,
            user_id=DEMO_CUSTOMER_ID,
            started=True,
        )
        owner = sandbox.create_user(
            OWNER_NAME,
            username="olivia",
            language_code=lang,
            user_id=DEMO_OWNER_ID,
            started=True,
        )
        staff_chat = sandbox.create_group("Staff room", members=[owner])
        settings = _pointed_at(settings, sandbox, staff_chat)
        app = build_application(settings)
        await start_embedded(app)
        try:
            session = _Session(sandbox, customer, owner, staff_chat, role == "staff")
            await session.loop(stdin or sys.stdin)
        finally:
            await stop_embedded(app)
    return 0


def _pointed_at(settings: Settings, sandbox: Sandbox, staff_chat: SandboxChat) -> Settings:
    telegram = replace(
        settings.telegram,
        token=sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
        poll_timeout=1,
    )
    owners = sorted({*settings.staff.owners, DEMO_OWNER_ID})
    staff = replace(settings.staff, owners=owners, chat_id=staff_chat.id)
    return replace(settings, telegram=telegram, staff=staff)


class _Session:
    """The read-send-print loop: you are one side; what the bot sends the other is shown marked."""

    def __init__(
        self,
        sandbox: Sandbox,
        customer: SandboxUser,
        owner: SandboxUser,
        staff_chat: SandboxChat,
        as_staff: bool,
    ) -> None:
        self.sandbox, self.customer, self.owner = sandbox, customer, owner
        self.staff_chat = staff_chat
        self.user = owner if as_staff else customer
        self.seen = 0
        # The last message with buttons, per person: #N presses one of the current person's.
        self.buttons: dict[int, list[tuple[SentMessage, str]]] = {}

    async def loop(self, stdin: TextIO) -> None:
        """Read lines until EOF or !quit."""
        print(f"carebot shell: you are {self._who()}. Try /start. Type !help for the extras.")
        while True:
            print("you> ", end="", flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                print()
                return
            line = line.strip()
            if not line:
                continue
            if line in ("!quit", "!exit"):
                return
            if await self._handle(line):
                await self._print_replies()

    async def _handle(self, line: str) -> bool:
        """Act on one line; whether something was sent to the bot (then wait for its answers)."""
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        if command in ("!staff", "!reply") and self.user is not self.owner:
            print(f"(only staff are in the staff room: type !as staff to be {OWNER_NAME})")
            return False
        if command == "!help":
            print(HELP)
            return False
        if command == "!as":
            self.user = self.owner if rest == "staff" else self.customer
            print(f"you are now {self._who()}")
            return False
        if command == "!contact":
            await self.user.share_contact(rest)
        elif command == "!photo":
            await self.user.send_photo(rest or None)
        elif command == "!staff":
            await self.user.send(rest, chat=self.staff_chat)
        elif command == "!reply":
            return await self._reply(rest)
        elif line.startswith("#") and line[1:].isdecimal():
            return await self._press(int(line[1:]))
        else:
            await self.user.send(line)
        return True

    async def _reply(self, rest: str) -> bool:
        number, _, text = rest.partition(" ")
        if not number.isdecimal() or not text.strip():
            print("(usage: !reply N TEXT, N from 'staff room #N')")
            return False
        posts = {m.message_id for m in self.owner.inbox(self.staff_chat)}
        if int(number) not in posts:
            print(f"(no staff-room post #{number})")
            return False
        await self.user.send(text.strip(), chat=self.staff_chat, reply_to=int(number))
        return True

    async def _press(self, number: int) -> bool:
        buttons = self.buttons.get(self.user.id, [])
        if not 1 <= number <= len(buttons):
            print(f"(no button {number}; your last message with buttons has {len(buttons)})")
            return False
        message, data = buttons[number - 1]
        await self.user.press(message, data)
        return True

    async def _print_replies(self) -> None:
        wait = FIRST_REPLY_WAIT
        while True:
            fresh = await self.sandbox.wait_sent(self.seen, timeout=wait)
            if not fresh:
                return
            self.seen += len(fresh)
            for message in fresh:
                self._print(message)
            wait = QUIET_AFTER

    def _print(self, message: SentMessage) -> None:
        reader = self._reader(message.chat_id)
        if reader is None:
            return
        mine = reader is self.user
        if message.chat_id == self.staff_chat.id:
            number = message.message_id
            where = f"staff room #{number}" if mine else f"[to staff chat #{number}]"
        else:
            where = "bot" if mine else f"[to {reader.first_name}]"
        label = f"{where} (edited)" if message.edited else where
        photo = "[📷 photo] " if message.photo else ""
        print(f"{label}> {photo}{message.content}".replace("\n", "\n     "))
        buttons = [(text, data) for text, data in message.buttons() if data]
        if buttons:
            self.buttons[reader.id] = [(message, data) for _, data in buttons]
            listed = "  ".join(f"[{i}] {text}" for i, (text, _) in enumerate(buttons, 1))
            hint = "" if mine else f"   (as {reader.first_name}: !as {self._role(reader)}, #N)"
            print(f"     {listed}{hint}")
        keyboard = message.reply_buttons()
        if keyboard:
            keys = "  ".join(
                f"[{text}] (type !contact +44…)" if contact else f"[{text}]"
                for text, contact in keyboard
            )
            print(f"     keyboard: {keys}")

    def _reader(self, chat_id: int) -> SandboxUser | None:
        """Who reads a chat: the customer's or the owner's private chat, or the staff room."""
        if chat_id == self.customer.id:
            return self.customer
        if chat_id in (self.owner.id, self.staff_chat.id):
            return self.owner
        return None

    def _role(self, person: SandboxUser) -> str:
        return "staff" if person is self.owner else "customer"

    def _who(self) -> str:
        if self.user is self.owner:
            return f"{OWNER_NAME} (owner)"
        return f"{CUSTOMER_NAME} (customer)"
