"""Runs before every update's handlers: the caller's language and oversized messages.

The redelivery guard and the "handled" mark live in the update pipeline (bot/pipeline.py).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import CareContext
from handlers.texts import t

log = logging.getLogger(__name__)


async def before_update(update: Update, context: CareContext) -> None:
    """Load the caller's language and refuse oversized text."""
    user, message = update.effective_user, update.effective_message
    text = message.text if message is not None else None
    human = user is not None and not user.is_bot
    arrival = await context.care.arrivals.arrive(
        user.id if human and user is not None else None,
        username=user.username if user is not None else None,
        name=user.full_name if user is not None else None,
        language_code=user.language_code if user is not None else None,
        text_length=len(text or ""),
    )
    context.remember_lang(arrival.lang)
    if message is not None and arrival.too_long is not None:
        length, limit = len(text or ""), arrival.too_long
        await message.reply_text(t("common.too_long", context.lang, length=length, limit=limit))
        raise ApplicationHandlerStop
