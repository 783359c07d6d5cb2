"""The FAQ in Telegram: free-text questions, "did you mean" buttons, votes, and staff tools."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from care import smalltalk
from care.errors import InvalidArgument, NotStaff, UnknownFaqEntry
from care.faq import FaqReply, has_words, question_language, split_alternates
from care.faq_match import Decision
from care.roles import Role
from handlers import tickets
from handlers.common import error_text, keyboard, reply, staff_command
from handlers.context import CareContext
from handlers.texts import LANGUAGES, t
from storage.faq import FaqRow

PER_PAGE = 10
UNANSWERED_SHOWN = 20
DRAFT_KEY = "faq_draft"
# The question behind each answer (and "did you mean") message the customer got: message id ->
# (question, its language). Only the latest few, and only until a restart.
QUESTIONS_KEY = "faq_questions"
QUESTIONS_KEPT = 20
# A guided /faq add left alone this long ends without saving.
ADD_TIMEOUT = timedelta(minutes=10)


class AddState(IntEnum):
    """Steps of the guided /faq add."""

    LANGUAGE = 0
    QUESTION = 1
    ALTERNATES = 2
    ANSWER = 3


# ---- customers ---------------------------------------------------------------------------


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
        await tickets.confirm_ticket(update, context, "faq.staff_ticket", created)
        return
    # Not registered yet: no ticket can hold the answer, so the question goes to the staff chat.
    name = f"{user.full_name} (@{user.username})" if user.username else user.full_name
    delivered = await context.care.faq.ask_staff(unanswered_id, name)
    key = "faq.staff_notified" if delivered else "faq.staff_unavailable"
    await reply(update.effective_message, t(key, context.lang))


# ---- staff ---------------------------------------------------------------------------------


@staff_command("faq", needed=Role.STAFF)
async def cmd_faq(update: Update, context: CareContext, role: Role) -> str | None:
    """/faq list|show|add|edit|del|teach."""
    args = list(context.args or [])
    verb = args[0].lower() if args else "list"
    rest = args[1:]
    if verb == "list" and len(rest) <= 1:
        return await _list(update, context, rest)
    if verb == "show" and len(rest) == 1 and rest[0].isdecimal():
        return await _show(update, context, int(rest[0]))
    if verb == "add":
        return await _add_one_line(update, context, rest)
    if verb == "edit" and len(rest) >= 4 and rest[0].isdecimal() and rest[1] in LANGUAGES:
        entry = await context.care.faq.edit(
            int(rest[0]), rest[1], rest[2].lower(), " ".join(rest[3:])
        )
        await reply(
            update.effective_message,
            t("faq.saved", context.lang, id=entry.entry_id, lang=entry.language),
        )
        return f"edited {entry.entry_id} {entry.language} {rest[2].lower()}"
    if verb in ("del", "delete") and len(rest) == 1 and rest[0].isdecimal():
        await context.care.faq.delete(int(rest[0]))
        await reply(update.effective_message, t("faq.deleted", context.lang, id=int(rest[0])))
        return f"deleted {rest[0]}"
    if verb == "teach":
        if len(rest) != 2 or not all(a.isdecimal() for a in rest):
            raise InvalidArgument("teach arguments", usage="usage.faq_teach")
        entry = await context.care.faq.teach(int(rest[0]), int(rest[1]))
        question = entry.alternates[-1] if entry.alternates else entry.question
        await reply(
            update.effective_message,
            t("faq.taught", context.lang, question=question, id=entry.entry_id),
        )
        return f"taught {rest[0]} to {entry.entry_id}"
    usage = "usage.faq_edit" if verb == "edit" else "usage.faq"
    raise InvalidArgument("faq arguments", usage=usage)


async def _list(update: Update, context: CareContext, rest: list[str]) -> str:
    if rest and not rest[0].isdecimal():
        raise InvalidArgument("page", usage="usage.faq")
    page = int(rest[0]) if rest else 1
    rows, total = await context.care.faq.page(page, PER_PAGE)
    if total == 0:
        await reply(update.effective_message, t("faq.list_empty", context.lang))
        return "empty"
    pages = max(1, math.ceil(total / PER_PAGE))
    if page > pages:
        await reply(
            update.effective_message, t("faq.list_no_page", context.lang, page=page, pages=pages)
        )
        return f"no page {page}"
    lines = [t("faq.list_header", context.lang, page=page, pages=pages)]
    lines += [
        t("faq.list_line", context.lang, id=r.entry_id, lang=r.language, question=r.question)
        for r in rows
    ]
    await reply(update.effective_message, "\n".join(lines))
    return f"page {page}"


async def _show(update: Update, context: CareContext, entry_id: int) -> str:
    rows = await context.care.faq.show(entry_id)
    texts = [
        t(
            "faq.show",
            context.lang,
            id=r.entry_id,
            lang=r.language,
            question=r.question,
            alternates="; ".join(r.alternates) or t("faq.none", context.lang),
            answer=r.answer,
            helpful=r.helpful,
            unhelpful=r.unhelpful,
            updated=r.updated_at[:10],
        )
        for r in rows
    ]
    await reply(update.effective_message, "\n\n".join(texts))
    return f"shown {entry_id}"


async def _add_one_line(update: Update, context: CareContext, rest: list[str]) -> str:
    entry_id = int(rest.pop(0)) if rest and rest[0].isdecimal() else None
    if not rest or rest[0] not in LANGUAGES:
        raise InvalidArgument("faq add", usage="usage.faq_add")
    lang = rest[0]
    parts = [p.strip() for p in " ".join(rest[1:]).split("|")]
    if len(parts) == 2:
        parts.insert(1, "")
    if len(parts) != 3:
        raise InvalidArgument("faq add", usage="usage.faq_add")
    question, alternates, answer = parts
    saved = await context.care.faq.save(
        lang, question, split_alternates(alternates), answer, entry_id
    )
    await reply(update.effective_message, t("faq.saved", context.lang, id=saved, lang=lang))
    return f"saved {saved} {lang}"


@staff_command("unanswered", needed=Role.STAFF)
async def cmd_unanswered(update: Update, context: CareContext, role: Role) -> str | None:
    """List the questions the bot could not answer, most frequent first."""
    rows = await context.care.faq.unanswered(UNANSWERED_SHOWN)
    if not rows:
        await reply(update.effective_message, t("faq.unanswered_empty", context.lang))
        return "empty"
    lines = [t("faq.unanswered_header", context.lang)]
    lines += [
        t(
            "faq.unanswered_line",
            context.lang,
            n=r.id,
            question=r.example,
            lang=r.language,
            count=r.count,
            last=r.last_seen_at[:10],
        )
        for r in rows
    ]
    await reply(update.effective_message, "\n".join(lines))
    return f"listed {len(rows)}"


# ---- guided /faq add -------------------------------------------------------------------------


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
    draft = _draft(context)
    user = update.effective_user
    answer = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    try:
        saved = await context.care.faq.save(
            draft["lang"], draft["question"], split_alternates(draft["alternates"]), answer
        )
    except InvalidArgument as exc:
        await reply(update.effective_message, error_text(exc, context.lang))
        return ConversationHandler.END
    finally:
        context.user_data.pop(DRAFT_KEY, None)  # type: ignore[union-attr]
    await context.care.staff.audit(user.id, "faq", GUIDED, f"saved {saved} {draft['lang']}")  # type: ignore[union-attr]
    await reply(
        update.effective_message, t("faq.saved", context.lang, id=saved, lang=draft["lang"])
    )
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


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Staff tools and FAQ buttons (the free-text handler is separate: it must come last)."""
    text = filters.TEXT & ~filters.COMMAND
    guided = ConversationHandler(
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
    return [
        guided,
        CommandHandler("faq", cmd_faq),
        CommandHandler("unanswered", cmd_unanswered),
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
