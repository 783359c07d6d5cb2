"""The FAQ in Telegram: free-text questions, "did you mean" buttons, votes, asking the team.

The staff commands are in handlers.faq_staff and the guided /faq add in handlers.faq_add.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from care import callbacks
from care.callbacks import ID, Choice
from care.errors import CareError, ExpiredButton
from care.faq.results import FaqReply, Outcome, TeamAsked, Unhelpful
from care.settings import LANGUAGES
from handlers import faq_add, faq_staff, tickets
from handlers.common import error_text, keyboard, remove_buttons, reply
from handlers.context import CareContext
from handlers.texts import t
from handlers.ticket_flows import confirm_ticket

FEATURE = "faq"
SHOW, NONE, VOTE, STAFF = "show", "none", "vote", "staff"
LANG = Choice(*LANGUAGES)
VERDICT = Choice("up", "down")

# The question behind each answer (and "did you mean") message the customer got: message id ->
# (question, its language). Only the latest few, and only until a restart.
QUESTIONS_KEY = "faq_questions"
QUESTIONS_KEPT = 20
UNHELPFUL_KEY = "faq_unhelpful"  # the last 👎 answer, until the customer's next question

ButtonHandler = Callable[[Update, CareContext, CallbackQuery, Message], Awaitable[None]]


def _button(func: ButtonHandler) -> Callable[[Update, CareContext], Coroutine[Any, Any, None]]:
    """Answer every press: a care error (an expired or forged button) on the query itself."""

    @functools.wraps(func)
    async def handler(update: Update, context: CareContext) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            if not isinstance(query.message, Message):  # too old for Telegram to include
                raise ExpiredButton()
            if query.message.reply_markup is None:  # its buttons went with a first tap (or
                await query.answer()  # it never had any: forged): nothing to do
                return
            await func(update, context, query, query.message)
        except CareError as exc:
            await query.answer(error_text(exc, context.lang), show_alert=True)

    return handler


async def on_question(update: Update, context: CareContext) -> None:
    """Free text: one decision from the FAQ (answer, suggestions, small talk, fallback …)."""
    message, user = update.effective_message, update.effective_user
    if message is None or not message.text or user is None:
        return
    result = await context.care.faq.answer(
        message.text, context.lang, asker=user.id, after_unhelpful=_take_unhelpful(context)
    )
    sent = await _render(update, context, message, result)
    if result.outcome in (Outcome.ANSWER, Outcome.SUGGEST, Outcome.COMPLAINT):
        _remember_question(context, sent, result.question, result.lang)


async def _render(
    update: Update, context: CareContext, message: Message, result: FaqReply
) -> Message | None:
    lang = result.lang
    match result.outcome:
        case Outcome.NO_WORDS:
            return await message.reply_text(t("faq.no_words", context.lang))
        case Outcome.SMALL_TALK:
            return await message.reply_text(t(result.small_talk or "", lang))
        case Outcome.COMPLAINT:
            # The complaint button first, then any suggestions (and "none of these").
            after = _suggestion_rows(result, lang) if result.suggestions else []
            offer = await tickets.offer_complaint(update, context, result.question, after)
            return offer or await _send_fallback(message, lang, None)
        case Outcome.ANSWER if result.entry is not None:
            entry = result.entry
            return await _send_answer(message, entry.entry_id, entry.language, entry.answer)
        case Outcome.SUGGEST:
            return await message.reply_text(
                t("faq.did_you_mean", lang), reply_markup=keyboard(_suggestion_rows(result, lang))
            )
    return await _send_fallback(message, lang, result.unanswered_id)


def _suggestion_rows(result: FaqReply, lang: str) -> list[list[tuple[str, str]]]:
    """One "did you mean" button per suggested entry, then "none of these"."""
    rows = [
        [(row.question, callbacks.build(FEATURE, SHOW, row.entry_id, lang))]
        for row in result.suggestions
    ]
    rows.append([(t("faq.none_of_these", lang), callbacks.build(FEATURE, NONE))])
    return rows


async def _send_answer(message: Message, entry_id: int, lang: str, answer: str) -> Message:
    votes = [
        [
            (t("faq.helpful", lang), callbacks.build(FEATURE, VOTE, entry_id, lang, "up")),
            (t("faq.unhelpful", lang), callbacks.build(FEATURE, VOTE, entry_id, lang, "down")),
        ]
    ]
    return await message.reply_text(answer, reply_markup=keyboard(votes))


async def _send_fallback(message: Message, lang: str, unanswered_id: int | None) -> Message:
    """The honest fallback, with the ask-our-team button for the question it recorded."""
    if unanswered_id is None:  # nothing was recorded: nothing a person could be asked about
        return await message.reply_text(t("faq.ask_again", lang))
    button = [[(t("faq.ask_staff", lang), callbacks.build(FEATURE, STAFF, unanswered_id))]]
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


def _take_unhelpful(context: CareContext) -> Unhelpful | None:
    """The customer's last 👎 answer, if nothing followed it yet (forgotten once taken)."""
    if context.user_data is None:
        return None
    found = context.user_data.pop(UNHELPFUL_KEY, None)
    return found if isinstance(found, Unhelpful) else None


def _question_of(context: CareContext, message: Message) -> tuple[str, str] | None:
    """The question behind a message the bot sent, if it is still remembered."""
    if context.user_data is None:
        return None
    found = (context.user_data.get(QUESTIONS_KEY) or {}).get(message.message_id)
    return None if found is None else (str(found[0]), str(found[1]))


@_button
async def on_suggestion(
    update: Update, context: CareContext, query: CallbackQuery, message: Message
) -> None:
    """A "did you mean" button: answer that entry."""
    entry_id, lang = callbacks.parse(query.data, FEATURE, SHOW, ID, LANG)
    asked = _question_of(context, message)
    entry = await context.care.faq.suggestion_pressed(
        int(entry_id),
        str(lang),
        asked,
        chat_id=message.chat.id,
        message_id=message.message_id,
        after_unhelpful=_take_unhelpful(context),
    )
    await query.answer()
    sent = await _send_answer(message, entry.entry_id, entry.language, entry.answer)
    if asked is not None:
        _remember_question(context, sent, *asked)


@_button
async def on_none_of_these(
    update: Update, context: CareContext, query: CallbackQuery, message: Message
) -> None:
    """None of the suggestions fitted: record the question and offer a person (once)."""
    callbacks.parse(query.data, FEATURE, NONE)
    asked = _question_of(context, message)
    done = await context.care.faq.none_of_these(
        asked, chat_id=message.chat.id, message_id=message.message_id
    )
    await query.answer()
    if done.repeat:  # a double tap: the first press did everything
        return
    await remove_buttons(query)
    if asked is None:  # forgotten (a restart): ask again rather than offer an empty question
        await message.reply_text(t("faq.ask_again", context.lang))
        return
    if done.complaint and await tickets.offer_complaint(
        update, context, asked[0], key="faq.none_complaint"
    ):
        return  # the complaint stays on offer
    await _send_fallback(message, asked[1], done.unanswered_id)


@_button
async def on_vote(
    update: Update, context: CareContext, query: CallbackQuery, message: Message
) -> None:
    """👍/👎 on an answer: counted once per answer message; 👎 offers a person."""
    entry_id, lang, verdict = callbacks.parse(query.data, FEATURE, VOTE, ID, LANG, VERDICT)
    helpful = verdict == "up"
    asked = _question_of(context, message)
    voted = await context.care.faq.vote(
        int(entry_id),
        str(lang),
        helpful,
        chat_id=message.chat.id,
        message_id=message.message_id,
        question=asked,
    )
    if voted.counted and not helpful and asked is not None and context.user_data is not None:
        # Kept for the customer's next question or suggestion: another entry there is
        # proposed to staff for this question.
        context.user_data[UNHELPFUL_KEY] = Unhelpful(
            *asked, int(entry_id), message.chat.id, message.message_id
        )
    if not voted.counted:  # a double tap or a replayed press: thank, count nothing, say nothing
        await query.answer(t("faq.vote_repeat", context.lang))
        return
    await query.answer(t("faq.vote_thanks", context.lang))
    await remove_buttons(query)
    if helpful:
        return
    if voted.unanswered_id is None:  # the question is forgotten (a restart): ask to rephrase
        await message.reply_text(t("faq.vote_sorry_rephrase", context.lang))
        return
    button = callbacks.build(FEATURE, STAFF, voted.unanswered_id)
    await message.reply_text(
        t("faq.vote_sorry", context.lang),
        reply_markup=keyboard([[(t("faq.ask_staff", context.lang), button)]]),
    )


@_button
async def on_ask_staff(
    update: Update, context: CareContext, query: CallbackQuery, message: Message
) -> None:
    """Pass the question to a person: a ticket for customers, the staff chat for the others."""
    (unanswered_id,) = callbacks.parse(query.data, FEATURE, STAFF, ID)
    user = query.from_user
    name = f"{user.full_name} (@{user.username})" if user.username else user.full_name
    asked = await context.care.faq.ask_team(
        int(unanswered_id),
        telegram_id=user.id,
        name=name,
        chat_id=message.chat.id,
        message_id=message.message_id,
    )
    await query.answer()
    if asked.outcome is TeamAsked.REPEAT:  # a double tap: the first press did everything
        return
    await remove_buttons(query)
    if asked.ticket is not None:
        await confirm_ticket(update, context, "faq.staff_ticket", asked.ticket)
        return
    key = "faq.staff_notified" if asked.outcome is TeamAsked.NOTIFIED else "faq.staff_unavailable"
    await reply(message, t(key, context.lang))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Staff tools and FAQ buttons (the free-text handler is separate: it must come last)."""
    return [
        faq_add.guided_add_handler(),
        *faq_staff.staff_handlers(),
        CallbackQueryHandler(on_suggestion, pattern=callbacks.pattern(FEATURE, SHOW)),
        CallbackQueryHandler(on_none_of_these, pattern=callbacks.pattern(FEATURE, NONE)),
        CallbackQueryHandler(on_vote, pattern=callbacks.pattern(FEATURE, VOTE)),
        CallbackQueryHandler(on_ask_staff, pattern=callbacks.pattern(FEATURE, STAFF)),
        CallbackQueryHandler(
            _button(faq_staff.on_proposal), pattern=callbacks.pattern(FEATURE, faq_staff.TEACH)
        ),
        CallbackQueryHandler(
            _button(faq_staff.on_dismiss), pattern=callbacks.pattern(FEATURE, faq_staff.DISMISS)
        ),
    ]


def question_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Free text in a private chat goes to the FAQ; register after every conversation."""
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_question)
    ]
