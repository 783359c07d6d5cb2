"""Tried last: menu entries no feature claimed, unknown commands, and text nothing else took."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from handlers import tickets
from handlers.common import reply
from handlers.context import CareContext
from handlers.texts import t


async def on_unclaimed_button(update: Update, context: CareContext) -> None:
    """A button whose feature is not available (yet, or any more): say so honestly."""
    query = update.callback_query
    if query is None:
        return
    key = "menu.unavailable" if (query.data or "").startswith("menu:") else "common.expired_button"
    await query.answer(t(key, context.lang), show_alert=True)


async def on_unknown_command(update: Update, context: CareContext) -> None:
    """A command no handler knows."""
    await reply(update.effective_message, t("common.unknown_command", context.lang))


async def on_plain_text(update: Update, context: CareContext) -> None:
    """Free text no feature claimed: offer a complaint if it reads like one, else the menu."""
    message = update.effective_message
    text = message.text if message is not None else None
    if text and await tickets.offer_complaint(update, context, text):
        return
    await reply(update.effective_message, t("help.customer", context.lang))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The last resort handlers, in order."""
    return [
        CallbackQueryHandler(on_unclaimed_button),
        MessageHandler(filters.COMMAND, on_unknown_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_plain_text),
    ]
