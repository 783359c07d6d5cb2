"""The FAQ in Telegram: free-text questions, "did you mean" buttons, votes, and staff tools."""

from __future__ import annotations

import math
from dataclasses import replace
from enum import IntEnum

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from care.errors import InvalidArgument, NotStaff, UnknownFaqEntry
from care.faq import FaqReply, split_alternates
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
LAST_QUESTION_KEY = "faq_last_question"


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
    if context.user_data is not None:
        context.user_data[LAST_QUESTION_KEY] = message.text
    result = await context.care.faq.ask(message.text, context.lang, record=False)
    if result.decision is Decision.FALLBACK:
        # No answer: a complaint gets the complaint button; anything else is kept for staff.
        if await tickets.offer_complaint(update, context, message.text):
            return
        unanswered_id = await context.care.faq.record_unanswered(message.text, result.lang)
        result = replace(result, unanswered_id=unanswered_id)
    await send_faq_reply(update, context, result)


async def send_faq_reply(update: Update, context: CareContext, result: FaqReply) -> None:
    """Render a FaqReply as a message with its buttons."""
    lang = result.lang
    if result.decision is Decision.ANSWER and result.entry is not None:
        await _send_answer(update, result.entry, lang)
    elif result.decision is Decision.SUGGEST:
        rows = [[(row.question, f"faq:show:{row.entry_id}:{lang}")] for row in result.suggestions]
        rows.append([(t("faq.none_of_these", lang), "faq:none:0")])
        await reply(
            update.effective_message, t("faq.did_you_mean", lang), reply_markup=keyboard(rows)
        )
    else:
        await _send_fallback(update, lang, result.unanswered_id)


async def _send_answer(update: Update, entry: FaqRow, lang: str) -> None:
    votes = [
        [
            (t("faq.helpful", lang), f"faq:vote:{entry.entry_id}:{entry.language}:up"),
            (t("faq.unhelpful", lang), f"faq:vote:{entry.entry_id}:{entry.language}:down"),
        ]
    ]
    await reply(update.effective_message, entry.answer, reply_markup=keyboard(votes))


async def _send_fallback(update: Update, lang: str, unanswered_id: int | None) -> None:
    button = [[(t("faq.ask_staff", lang), f"faq:staff:{unanswered_id or 0}")]]
    await reply(update.effective_message, t("faq.fallback", lang), reply_markup=keyboard(button))


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
    await _send_answer(update, entry, lang)


async def on_none_of_these(update: Update, context: CareContext) -> None:
    """None of the suggestions fitted: record the question and offer a person."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    await _send_fallback(update, context.lang, await _record_last_question(context))


async def on_vote(update: Update, context: CareContext) -> None:
    """👍/👎 on an answer: count it once (the buttons disappear) and thank the customer."""
    query = update.callback_query
    if query is None:
        return
    _, _, entry_id, lang, verdict = (query.data or "").split(":")
    helpful = verdict == "up"
    await context.care.faq.vote(int(entry_id), lang, helpful)
    await query.answer(t("faq.vote_thanks", context.lang))
    await query.edit_message_reply_markup(reply_markup=None)
    if not helpful:
        unanswered_id = await _record_last_question(context)
        button = [[(t("faq.ask_staff", context.lang), f"faq:staff:{unanswered_id or 0}")]]
        await reply(
            update.effective_message,
            t("faq.vote_sorry", context.lang),
            reply_markup=keyboard(button),
        )


async def _record_last_question(context: CareContext) -> int | None:
    """Keep the customer's last question as unanswered (the answers offered did not fit)."""
    text = (context.user_data or {}).get(LAST_QUESTION_KEY)
    if not text:
        return None
    return await context.care.faq.record_unanswered(text, context.lang)


async def on_ask_staff(update: Update, context: CareContext) -> None:
    """Pass the question to the staff chat; say honestly if that was not possible."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    unanswered_id = int((query.data or "0").split(":")[-1])
    await query.edit_message_reply_markup(reply_markup=None)
    question = await context.care.faq.unanswered_question(unanswered_id)
    customer = await context.care.customers.find(user.id)
    if question is not None and customer is not None:
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


async def add_start(update: Update, context: CareContext) -> int:
    """Start the guided /faq add (staff only)."""
    user = update.effective_user
    if user is None or context.user_data is None:
        return ConversationHandler.END
    try:
        await context.care.staff.authorize(user.id, "faq", "add (guided)", Role.STAFF)
    except NotStaff as exc:
        await reply(update.effective_message, error_text(exc, context.lang))
        return ConversationHandler.END
    context.user_data[DRAFT_KEY] = {}
    await reply(update.effective_message, t("faq.add_language", context.lang))
    return AddState.LANGUAGE


async def add_language(update: Update, context: CareContext) -> int:
    """Take the entry's language."""
    text = (update.effective_message.text or "").strip().lower()  # type: ignore[union-attr]
    if text not in LANGUAGES:
        await reply(update.effective_message, t("faq.add_language", context.lang))
        return AddState.LANGUAGE
    _draft(context)["lang"] = text
    await reply(update.effective_message, t("faq.add_question", context.lang))
    return AddState.QUESTION


async def add_question(update: Update, context: CareContext) -> int:
    """Take the question."""
    _draft(context)["question"] = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    await reply(update.effective_message, t("faq.add_alternates", context.lang))
    return AddState.ALTERNATES


async def add_alternates(update: Update, context: CareContext) -> int:
    """Take the alternates (or /skip)."""
    text = update.effective_message.text or ""  # type: ignore[union-attr]
    _draft(context)["alternates"] = "" if text.startswith("/skip") else text
    await reply(update.effective_message, t("faq.add_answer", context.lang))
    return AddState.ANSWER


async def add_answer(update: Update, context: CareContext) -> int:
    """Take the answer and save the entry."""
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
    await context.care.staff.audit(
        user.id, "faq", "add (guided)", f"saved {saved} {draft['lang']}"
    )  # type: ignore[union-attr]
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
        },
        fallbacks=[CommandHandler("cancel", add_cancel)],
        name="faq_add",
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
