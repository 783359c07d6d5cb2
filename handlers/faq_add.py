"""The guided /faq add: a staff conversation (language, question, alternates, answer) that saves
one FAQ entry."""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from care.errors import CareError, NotStaff
from care.faq.service import split_alternates
from care.roles import Role
from handlers.common import error_text, reply
from handlers.context import CareContext
from handlers.texts import LANGUAGES, t

DRAFT_KEY = "faq_draft"
# A guided /faq add left alone this long ends without saving.
ADD_TIMEOUT = timedelta(minutes=10)


class AddState(IntEnum):
    """Steps of the guided /faq add."""

    LANGUAGE = 0
    QUESTION = 1
    ALTERNATES = 2
    ANSWER = 3


GUIDED = "add (guided)"


async def _still_staff(update: Update, context: CareContext) -> bool:
    """Check the role at every step (a role taken away mid-way ends the add, unsaved)."""
    user = update.effective_user
    if user is None or context.user_data is None:
        return False
    try:
        await context.care.staff.authorize(user.id, "faq", GUIDED, Role.STAFF)
    except NotStaff as exc:  # authorize has audited the refusal
        refused = error_text(exc, context.lang)
        if context.user_data.pop(DRAFT_KEY, None) is not None:  # mid-way: say nothing is kept
            refused += "\n" + t("faq.add_cancelled", context.lang)
        await reply(update.effective_message, refused)
        return False
    return True


async def add_start(update: Update, context: CareContext) -> int:
    """Start the guided /faq add (staff only)."""
    if not await _still_staff(update, context):
        return ConversationHandler.END
    context.user_data[DRAFT_KEY] = {}  # type: ignore[index]
    await reply(update.effective_message, t("faq.add_language", context.lang))
    return AddState.LANGUAGE


async def add_language(update: Update, context: CareContext) -> int:
    """Take the entry's language."""
    if not await _still_staff(update, context):
        return ConversationHandler.END
    text = (update.effective_message.text or "").strip().lower()  # type: ignore[union-attr]
    if text not in LANGUAGES:
        await reply(update.effective_message, t("faq.add_language", context.lang))
        return AddState.LANGUAGE
    _draft(context)["lang"] = text
    await reply(update.effective_message, t("faq.add_question", context.lang))
    return AddState.QUESTION


async def add_question(update: Update, context: CareContext) -> int:
    """Take the question."""
    if not await _still_staff(update, context):
        return ConversationHandler.END
    _draft(context)["question"] = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    await reply(update.effective_message, t("faq.add_alternates", context.lang))
    return AddState.ALTERNATES


async def add_alternates(update: Update, context: CareContext) -> int:
    """Take the alternates (or /skip)."""
    if not await _still_staff(update, context):
        return ConversationHandler.END
    text = update.effective_message.text or ""  # type: ignore[union-attr]
    _draft(context)["alternates"] = "" if text.startswith("/skip") else text
    await reply(update.effective_message, t("faq.add_answer", context.lang))
    return AddState.ANSWER


async def add_answer(update: Update, context: CareContext) -> int:
    """Take the answer and save the entry."""
    if not await _still_staff(update, context):
        return ConversationHandler.END
    draft = context.user_data.pop(DRAFT_KEY, None) or {}  # type: ignore[union-attr]
    user = update.effective_user
    answer = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    lang = draft.get("lang", "")
    try:
        saved = await context.care.faq.add(
            user.id,  # type: ignore[union-attr]
            lang,
            draft.get("question", ""),
            split_alternates(draft.get("alternates", "")),
            answer,
        )
    except CareError as exc:  # the draft is gone: the conversation ends either way
        await reply(update.effective_message, error_text(exc, context.lang))
        return ConversationHandler.END
    await reply(update.effective_message, t("faq.saved", context.lang, id=saved, lang=lang))
    return ConversationHandler.END


async def add_cancel(update: Update, context: CareContext) -> int:
    """Leave the guided add without saving."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await reply(update.effective_message, t("faq.add_cancelled", context.lang))
    return ConversationHandler.END


async def add_timed_out(update: Update, context: CareContext) -> None:
    """The guided add was left alone for ADD_TIMEOUT: drop the draft and say so."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    minutes = max(1, round(ADD_TIMEOUT.total_seconds() / 60))
    await reply(update.effective_message, t("faq.add_timed_out", context.lang, minutes=minutes))


def _draft(context: CareContext) -> dict[str, str]:
    assert context.user_data is not None
    return context.user_data.setdefault(DRAFT_KEY, {})


def guided_add_handler() -> ConversationHandler[Any]:
    """The guided /faq add conversation (register before the one-line /faq command)."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[
            CommandHandler("faq", add_start, filters=filters.Regex(r"^/faq(@\w+)?\s+add\s*$"))
        ],
        states={
            AddState.LANGUAGE: [MessageHandler(text, add_language)],
            AddState.QUESTION: [MessageHandler(text, add_question)],
            AddState.ALTERNATES: [
                MessageHandler(text, add_alternates),
                CommandHandler("skip", add_alternates),
            ],
            AddState.ANSWER: [MessageHandler(text, add_answer)],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, add_timed_out)],
        },
        fallbacks=[CommandHandler("cancel", add_cancel)],
        name="faq_add",
        conversation_timeout=ADD_TIMEOUT,
    )
