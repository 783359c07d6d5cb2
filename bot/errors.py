"""The one error handler: render domain errors, log anything else, apologise once."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.pipeline import current_run
from care.errors import CareError
from handlers.common import error_text
from handlers.context import CareContext
from handlers.texts import t
from storage.db import change_committed

log = logging.getLogger(__name__)


async def on_error(update: object, context: CareContext) -> None:
    """Explain domain errors; a failure is retried by the pipeline and apologised for once."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(update, Update) and isinstance(error, CareError):
        log.info("refused update_id=%s error=%s", update_id, type(error).__name__)
        await _tell(update, error_text(error, context.lang))
        return
    if isinstance(error, BadRequest) and "not modified" in error.message.lower():
        # A second tap on a button that already did its work: nothing to change, nothing wrong.
        if isinstance(update, Update):
            await _answer(update, None)
        return
    if isinstance(error, Forbidden | BadRequest):
        # Telegram refused the reply (blocked, chat not found, a bad request): handling it
        # again would be refused the same way, so the update is done, and logged.
        log.warning("reply refused update_id=%s error=%s", update_id, error)
        if isinstance(update, Update):
            await _answer(update, None)
        return
    if change_committed():
        # The action happened; only telling the user failed. Never say "something went wrong"
        # about a change that was made.
        log.warning("reply failed after commit update_id=%s error=%r", update_id, error)
        if isinstance(update, Update):
            await _answer(update, None)
        return
    run = current_run()
    if run is not None:
        run.error = error
    log.error(
        "handler failed update_id=%s attempt=%s error=%s",
        update_id,
        run.attempt if run is not None else "-",
        type(error).__name__,
        exc_info=error,
    )
    if not isinstance(update, Update) or (run is not None and not run.final):
        return  # the pipeline tries again shortly; the user hears about it once, at the end
    lang = "en"
    with contextlib.suppress(RuntimeError):  # care not ready: apologise in English
        lang = context.lang
    await _tell(update, t("error.generic", lang))


async def _tell(update: Update, text: str) -> None:
    """Answer a button press with an alert, anything else with a reply."""
    if update.callback_query is not None:
        await _answer(update, text)
        return
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(text)
    except TelegramError as exc:
        log.warning("reply not sent update_id=%s error=%s", update.update_id, type(exc).__name__)


async def _answer(update: Update, text: str | None) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=text is not None)
    except TelegramError as exc:  # already answered, or too old: the spinner is gone anyway
        log.info("callback not answered update_id=%s error=%s", update.update_id, exc.message)
