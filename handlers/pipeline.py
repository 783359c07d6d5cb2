"""Runs before every update's handlers: the caller's language and oversized messages.

The redelivery guard and the "handled" mark live in the update pipeline (bot/pipeline.py).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from care.customers import language_from_code
from handlers.context import CareContext
from handlers.texts import t

log = logging.getLogger(__name__)


async def before_update(update: Update, context: CareContext) -> None:
    """Load the caller's language and refuse oversized text."""
    user = update.effective_user
    if user is not None and not user.is_bot:
        customer = await context.care.customers.seen(
            user.id, username=user.username, name=user.full_name
        )
        if customer is not None:
            context.remember_lang(customer.language)
        else:
            default = context.care.settings.locale.default_language
            context.remember_lang(language_from_code(user.language_code, default))
    message = update.effective_message
    limit = context.care.settings.business.max_text_length
    text = message.text if message is not None else None
    if message is not None and text is not None and len(text) > limit:
        await message.reply_text(t("common.too_long", context.lang, length=len(text), limit=limit))
        raise ApplicationHandlerStop
