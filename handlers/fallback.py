"""Tried last: buttons no feature claimed and unknown commands in private chats."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.common import reply
from handlers.context import CareContext
from handlers.texts import t


async def on_unclaimed_button(update: Update, context: CareContext) -> None:
    """A button no handler claims (stale, from an older version, or forged): it has expired."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(t("common.expired_button", context.lang), show_alert=True)


async def on_unknown_command(update: Update, context: CareContext) -> None:
    """A command no handler knows."""
    await reply(update.effective_message, t("common.unknown_command", context.lang))


async def cmd_cancel_outside(update: Update, context: CareContext) -> None:
    """/cancel with no flow running."""
    await reply(update.effective_message, t("tickets.nothing_to_cancel", context.lang))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The last resort handlers, in order."""
    return [
        # Last, so that every flow's own /cancel (tickets, /faq add, /segment, /campaign) wins.
        CommandHandler("cancel", cmd_cancel_outside),
        CallbackQueryHandler(on_unclaimed_button),
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, on_unknown_command),
    ]
