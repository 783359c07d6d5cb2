"""The FAQ in Telegram: free-text questions, "did you mean" buttons, votes, and staff tools.

Customers' side lives here; the staff commands are in handlers.faq_staff and the guided
/faq add in handlers.faq_add (re-exported below, so `handlers.faq` keeps every name).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from care import smalltalk
from care.errors import UnknownFaqEntry
from care.faq import FaqReply, has_words, question_language
from care.faq_match import Decision
from handlers import tickets
from handlers.common import keyboard, reply
from handlers.context import CareContext
from handlers.faq_add import (
    ADD_TIMEOUT,
    DRAFT_KEY,
    GUIDED,
    AddState,
    add_alternates,
    add_answer,
    add_cancel,
    add_language,
    add_question,
    add_start,
    add_timed_out,
    guided_add_handler,
)
from handlers.faq_staff import (
    PER_PAGE,
    UNANSWERED_SHOWN,
    cmd_faq,
    cmd_unanswered,
    staff_handlers,
)
from handlers.texts import t
from handlers.ticket_flows import confirm_ticket
from storage.faq import FaqRow

__all__ = [
    "ADD_TIMEOUT",
    "DRAFT_KEY",
    "GUIDED",
    "PER_PAGE",
    "QUESTIONS_KEPT",
    "QUESTIONS_KEY",
    "UNANSWERED_SHOWN",
    "AddState",
    "add_alternates",
    "add_answer",
    "add_cancel",
    "add_language",
    "add_question",
    "add_start",
    "add_timed_out",
    "cmd_faq",
    "cmd_unanswered",
    "handlers",
    "on_ask_staff",
    "on_none_of_these",
    "on_question",
    "on_suggestion",
    "on_vote",
    "question_handlers",
    "send_faq_reply",
]

# The question behind each answer (and "did you mean") message the customer got: message id ->
# (question, its language). Only the latest few, and only until a restart.
QUESTIONS_KEY = "faq_questions"
QUESTIONS_KEPT = 20


async def on_question(update: Update, context: CareContext) -> None:
    """Answer free text from the FAQ: an answer, suggestions, or an honest fallback."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text
    if not has_words(text):  # "🙂🙂", "???": nothing to answer, nothing to record
        await reply(message, t("faq.no_words", context.lang))
        return
    small_talk = smalltalk.reply_key(text)
    if small_talk is not None:  # "hi", "thanks", "再见": not a question for the FAQ
        await reply(message, t(small_talk, question_language(text, context.lang)))
        return
    result = await context.care.faq.ask(text, context.lang, record=False)
    if result.decision is Decision.FALLBACK:
        # No answer: a complaint gets the complaint button; anything else is kept for staff.
        if await tickets.offer_complaint(update, context, text):
            return
        unanswered_id = await context.care.faq.record_unanswered(text, result.lang)
        result = replace(result, unanswered_id=unanswered_id)
    sent = await send_faq_reply(update, context, result)
    if result.decision is not Decision.FALLBACK:
        _remember_question(context, sent, text, result.lang)


async def send_faq_reply(update: Update, context: CareContext, result: FaqReply) -> Message | None:
    """Render a FaqReply as a message with its buttons; return the message sent."""
    lang = result.lang
    message = update.effective_message
    if result.decision is Decision.ANSWER and result.entry is not None:
        return await _send_answer(message, result.entry, lang)
    if result.decision is Decision.SUGGEST:
        rows = [[(row.question, f"faq:show:{row.entry_id}:{lang}")] for row in result.suggestions]
        rows.append([(t("faq.none_of_these", lang), "faq:none:0")])
        if message is None:
            return None
        return await message.reply_text(t("faq.did_you_mean", lang), reply_markup=keyboard(rows))
    return await _send_fallback(message, lang, result.unanswered_id)


async def _send_answer(message: Message | None, entry: FaqRow, lang: str) -> Message | None:
    if message is None:
        return None
    votes = [
        [
            (t("faq.helpful", lang), f"faq:vote:{entry.entry_id}:{entry.language}:up"),
            (t("faq.unhelpful", lang), f"faq:vote:{entry.entry_id}:{entry.language}:down"),
        ]
    ]
    return await message.reply_text(entry.answer, reply_markup=keyboard(votes))


async def _send_fallback(
    message: Message | None, lang: str, unanswered_id: int | None
) -> Message | None:
    """The honest fallback, with the ask-our-team button for the question it recorded."""
    if message is None:
        return None
    if unanswered_id is None:  # nothing was recorded: nothing a person could be asked about
        return await message.reply_text(t("faq.ask_again", lang))
    button = [[(t("faq.ask_staff", lang), f"faq:staff:{unanswered_id}")]]
    return await message.reply_text(t("faq.fallback", lang), reply_markup=keyboard(button))


def _remember_question(
    context: CareContext, sent: Message | None, question: str, lang: str
) -> None:
    """Keep the question an answer (or a "did you mean") message was sent for."""
    if sent is None or context.user_data is None:
        return
    asked: dict[int, tuple[str, str]] = context.user_data.setdefault(QUESTIONS_KEY, {})
    asked.pop(sent.message_id, None)
    asked[sent.message_id] = (question, lang)
    while len(asked) > QUESTIONS_KEPT:
        del asked[next(iter(asked))]  # the oldest (dicts keep insertion order)


def _question_of(context: CareContext, message: Any) -> tuple[str, str] | None:
    """The question behind a message the bot sent, if it is still remembered."""
    if message is None or context.user_data is None:
        return None
    asked = context.user_data.get(QUESTIONS_KEY) or {}
    found = asked.get(message.message_id)
    return None if found is None else (str(found[0]), str(found[1]))


async def on_suggestion(update: Update, context: CareContext) -> None:
    """A "did you mean" button: answer that entry."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    _, _, entry_id, lang = (query.data or "").split(":")
    try:
        entry = await context.care.faq.entry(int(entry_id), lang)
    except UnknownFaqEntry:
        await reply(update.effective_message, t("faq.gone", lang))
        return
    sent = await _send_answer(update.effective_message, entry, lang)
    asked = _question_of(context, query.message)
    if asked is not None:
        _remember_question(context, sent, *asked)


async def on_none_of_these(update: Update, context: CareContext) -> None:
    """None of the suggestions fitted: record the question and offer a person."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    asked = _question_of(context, query.message)
    if asked is None:  # forgotten (a restart): ask again rather than offer an empty question
        await reply(update.effective_message, t("faq.ask_again", context.lang))
        return
    question, lang = asked
    unanswered_id = await context.care.faq.record_unanswered(question, lang)
    await _send_fallback(update.effective_message, lang, unanswered_id)


async def on_vote(update: Update, context: CareContext) -> None:
    """👍/👎 on an answer: counted once per answer message; 👎 offers a person."""
    query = update.callback_query
    if query is None:
        return
    _, _, entry_id, lang, verdict = (query.data or "").split(":")
    helpful = verdict == "up"
    answer = query.message
    counted = answer is not None and await context.care.faq.vote(
        int(entry_id), lang, helpful, chat_id=answer.chat.id, message_id=answer.message_id
    )
    if not counted:  # a double tap or a replayed press: thank, count nothing, say nothing more
        await query.answer(t("faq.vote_repeat", context.lang))
        return
    await query.answer(t("faq.vote_thanks", context.lang))
    await query.edit_message_reply_markup(reply_markup=None)
    if helpful:
        return
    asked = _question_of(context, answer)
    unanswered_id = None
    if asked is not None:
        unanswered_id = await context.care.faq.record_unanswered(*asked)
    if unanswered_id is None:  # the question is forgotten (a restart): ask to rephrase
        await reply(update.effective_message, t("faq.vote_sorry_rephrase", context.lang))
        return
    button = [[(t("faq.ask_staff", context.lang), f"faq:staff:{unanswered_id}")]]
    await reply(
        update.effective_message,
        t("faq.vote_sorry", context.lang),
        reply_markup=keyboard(button),
    )


async def on_ask_staff(update: Update, context: CareContext) -> None:
    """Pass the question to the staff chat; say honestly if that was not possible."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    unanswered_id = int((query.data or "0").split(":")[-1])
    await query.edit_message_reply_markup(reply_markup=None)
    question = await context.care.faq.unanswered_question(unanswered_id)
    if question is None:  # e.g. a button from an older version that carried no question
        await reply(update.effective_message, t("faq.ask_again", context.lang))
        return
    customer = await context.care.customers.find(user.id)
    if customer is not None:
        created = await context.care.tickets.open_question(customer.id, question.example)
        await confirm_ticket(update, context, "faq.staff_ticket", created)
        return
    # Not registered yet: no ticket can hold the answer, so the question goes to the staff chat.
    name = f"{user.full_name} (@{user.username})" if user.username else user.full_name
    delivered = await context.care.faq.ask_staff(unanswered_id, name)
    key = "faq.staff_notified" if delivered else "faq.staff_unavailable"
    await reply(update.effective_message, t(key, context.lang))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Staff tools and FAQ buttons (the free-text handler is separate: it must come last)."""
    return [
        guided_add_handler(),
        *staff_handlers(),
        CallbackQueryHandler(on_suggestion, pattern=r"^faq:show:\d+:(en|zh)$"),
        CallbackQueryHandler(on_none_of_these, pattern=r"^faq:none:"),
        CallbackQueryHandler(on_vote, pattern=r"^faq:vote:\d+:(en|zh):(up|down)$"),
        CallbackQueryHandler(on_ask_staff, pattern=r"^faq:staff:\d+$"),
    ]


def question_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Free text in a private chat goes to the FAQ; register after every conversation."""
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_question)
    ]
