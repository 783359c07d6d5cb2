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
    "  #N            press button N of the last message with buttons\n"
    "  !contact NUM  share a phone number\n"
    "  !as staff|customer   switch who you are\n"
    "  !quit         leave (or Ctrl-D)"
)


def demo_settings(data_dir: str) -> Settings:
    """Settings for the demo: a local database and the demo café."""
    return Settings(
        telegram=TelegramSettings(token="0:DEMO"),  # noqa: S106 (the sandbox takes any)
        storage=StorageSettings(path=str(Path(data_dir) / "carebot.sqlite3")),
        staff=StaffSettings(owners=[DEMO_OWNER_ID]),
        locale=LocaleSettings(default_language="en", timezone="Europe/London"),
        business=BusinessSettings(name=DEMO_BUSINESS),
    )


async def run_demo(data_dir: str, *, role: str, lang: str, stdin: TextIO | None = None) -> int:
    """Seed the demo database if it is empty, then open the shell."""
    settings = demo_settings(data_dir)
    async with migrated_database(settings.storage.path) as db:
        seeded = await seed_demo(db, SystemClock())
    if seeded:
        print(f"demo database created at {settings.storage.path}")
    return await run_shell(settings, role=role, lang=lang, stdin=stdin)


async def run_shell(
    settings: Settings, *, role: str, lang: str, stdin: TextIO | None = None
) -> int:
    """Run the bot against a fresh sandbox and chat with it from the terminal."""
    sandbox = Sandbox(token="424242:SHELL", first_update_id=int(time.time() * 1000))  # noqa: S106
    async with sandbox:
        # Both have used the bot before (the demo database knows Alex), so it may write first.
        customer = sandbox.create_user(
            "Alex", username="alex", language_code=lang, user_id=DEMO_CUSTOMER_ID, started=True
        )
        owner = sandbox.create_user(
            "Olivia", username="olivia", language_code=lang, user_id=DEMO_OWNER_ID, started=True
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
    """The read-send-print loop."""

    def __init__(
        self,
        sandbox: Sandbox,
        customer: SandboxUser,
        owner: SandboxUser,
        staff_chat: SandboxChat,
        as_staff: bool,
    ) -> None:
        self.sandbox, self.customer, self.owner, self.staff_chat = (
            sandbox,
            customer,
            owner,
            staff_chat,
        )
        self.user = owner if as_staff else customer
        self.seen = 0
        self.buttons: list[tuple[SentMessage, str]] = []

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
            await self._handle(line)
            await self._print_replies()

    async def _handle(self, line: str) -> None:
        if line == "!help":
            print(HELP)
        elif line.startswith("!as "):
            self.user = self.owner if line[4:].strip() == "staff" else self.customer
            print(f"you are now {self._who()}")
        elif line.startswith("!contact "):
            await self.user.share_contact(line[9:].strip())
        elif line.startswith("#") and line[1:].isdecimal():
            await self._press(int(line[1:]))
        else:
            chat = self.staff_chat if line.startswith("!staff ") else None
            await self.user.send(line.removeprefix("!staff "), chat=chat)

    async def _press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            print(f"(no button {number}; the last message has {len(self.buttons)})")
            return
        message, data = self.buttons[number - 1]
        await self.user.press(message, data)

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
        if message.chat_id == self.staff_chat.id:
            where = "staff room"
        elif message.chat_id == self.user.id:
            where = "bot"
        else:
            return
        label = f"{where} (edited)" if message.edited else where
        photo = "[📷 photo] " if message.photo else ""
        print(f"{label}> {photo}{message.content}".replace("\n", "\n     "))
        buttons = [(text, data) for text, data in message.buttons() if data]
        if buttons:
            self.buttons = [(message, data) for _, data in buttons]
            print("     " + "  ".join(f"[{i}] {text}" for i, (text, _) in enumerate(buttons, 1)))

    def _who(self) -> str:
        return "Olivia (owner)" if self.user is self.owner else "Alex (customer)"
