"""The command menus Telegram shows: one for customers, a longer one for staff, in en and zh."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from handlers.texts import LANGUAGES, t

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS: tuple[str, ...] = (
    "start", "help", "language", "stop", "resume", "forget",
    "feedback", "complaint", "mytickets", "cancel",
)  # fmt: skip
STAFF_COMMANDS: tuple[str, ...] = (
    "staff", "audit", "faq", "unanswered",
    "tickets", "ticket", "reply", "resolve", "reopen",
)  # fmt: skip
# Loyalty (issue 4).
CUSTOMER_COMMANDS += ("points", "history", "card", "phone")
STAFF_COMMANDS += ("earn", "redeem", "adjust", "void", "customer")
# Stages and outreach (issue 6).
CUSTOMER_COMMANDS += ("birthday", "timezone")
STAFF_COMMANDS += ("stage", "outreach")
# Who is drifting away (issue 12).
STAFF_COMMANDS += ("customers",)
# Segments and campaigns (issue 13).
STAFF_COMMANDS += ("segment", "tag", "campaign")
# Owner reports (issue 14).
STAFF_COMMANDS += ("report",)
# Production (issue 15): anyone may need their id; owners pick the staff group.
CUSTOMER_COMMANDS += ("whoami",)
STAFF_COMMANDS += ("setup",)


def command_list(names: Iterable[str], lang: str) -> list[BotCommand]:
    """BotCommands with their catalogue descriptions."""
    return [BotCommand(name, t(f"commands.{name}", lang)) for name in names]


async def register_commands(bot: Any, staff_chat_ids: Iterable[int]) -> None:
    """Set the customer menu for everyone and the staff menu in staff members' chats."""
    for lang in LANGUAGES:
        code = "" if lang == "en" else lang
        await bot.set_my_commands(
            command_list(CUSTOMER_COMMANDS, lang),
            scope=BotCommandScopeDefault(),
            language_code=code,
        )
    for chat_id in staff_chat_ids:
        await refresh_staff_commands(bot, chat_id, is_staff=True)


async def refresh_staff_commands(bot: Any, chat_id: int, *, is_staff: bool) -> None:
    """Give one chat the staff menu, or take it away; Telegram refusing is not fatal."""
    scope = BotCommandScopeChat(chat_id)
    try:
        for lang in LANGUAGES:
            code = "" if lang == "en" else lang
            if is_staff:
                commands = command_list(CUSTOMER_COMMANDS + STAFF_COMMANDS, lang)
                await bot.set_my_commands(commands, scope=scope, language_code=code)
            else:
                await bot.delete_my_commands(scope=scope, language_code=code)
    except TelegramError as exc:
        log.warning("staff commands not set chat_id=%s error=%s", chat_id, type(exc).__name__)
