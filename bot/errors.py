"""The one error handler: log what went wrong, tell the user briefly."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from care.errors import CareError
from handlers.common import error_text
from handlers.context import CareContext
from handlers.texts import t

log = logging.getLogger(__name__)


async def on_error(update: object, context: CareContext) -> None:
    """Explain domain errors to the user; log anything else and apologise briefly."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, CareError) and isinstance(update, Update):
        log.info("refused update_id=%s error=%s", update_id, type(context.error).__name__)
        await _tell(update, error_text(context.error, context.lang))
        return
    log.error(
        "handler failed update_id=%s error=%s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
    )
    if not isinstance(update, Update) or isinstance(context.error, Forbidden):
        return
    lang = "en"
    with contextlib.suppress(RuntimeError):  # care not ready: apologise in English
        lang = context.lang
    await _tell(update, t("error.generic", lang))


async def _tell(update: Update, text: str) -> None:
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(text)
    except TelegramError as exc:
        log.warning("reply not sent update_id=%s error=%s", update.update_id, type(exc).__name__)
