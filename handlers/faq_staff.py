"""Staff FAQ commands: /faq list|show|add|edit|del|teach (one line) and /unanswered.

Each command is read here and is one FaqService call, which checks the role and writes the audit
row in the change's transaction; refusals and errors are rendered by the error handler.
"""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CommandHandler

from care import callbacks
from care.callbacks import ID, Choice
from care.faq.results import Review
from care.faq.service import proposal_message, split_alternates
from handlers.common import keyboard, remove_buttons
from handlers.context import CareContext
from handlers.texts import LANGUAGES, t

PER_PAGE = 10
UNANSWERED_SHOWN = 20
DISMISS_BUTTONS = 10  # the most asked questions get a dismiss button
TEACH, DISMISS = "teach", "dismiss"


async def cmd_faq(update: Update, context: CareContext) -> None:
    """/faq list|show|add|edit|del|teach."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    args = list(context.args or [])
    verb = args[0].lower() if args else "list"
    rest = args[1:]
    faq, lang, actor = context.care.faq, context.lang, user.id
    if verb == "list" and (not rest or (len(rest) == 1 and rest[0].isdecimal())):
        await _list(message, context, actor, int(rest[0]) if rest else 1)
    elif verb == "show" and len(rest) == 1 and rest[0].isdecimal():
        await _show(message, context, actor, int(rest[0]))
    elif verb == "add" and (parsed := _parse_add(rest)) is not None:
        entry_id, entry_lang, question, alternates, answer = parsed
        saved = await faq.add(actor, entry_lang, question, alternates, answer, entry_id)
        await message.reply_text(t("faq.saved", lang, id=saved, lang=entry_lang))
    elif verb == "edit" and len(rest) >= 4 and rest[0].isdecimal() and rest[1] in LANGUAGES:
        entry = await faq.edit(actor, int(rest[0]), rest[1], rest[2].lower(), " ".join(rest[3:]))
        await message.reply_text(t("faq.saved", lang, id=entry.entry_id, lang=entry.language))
    elif verb in ("del", "delete") and len(rest) == 1 and rest[0].isdecimal():
        await faq.delete(actor, int(rest[0]))
        await message.reply_text(t("faq.deleted", lang, id=int(rest[0])))
    elif verb == "teach" and len(rest) == 2 and all(a.isdecimal() for a in rest):
        entry = await faq.teach(actor, int(rest[0]), int(rest[1]))
        question = entry.alternates[-1] if entry.alternates else entry.question
        await message.reply_text(t("faq.taught", lang, question=question, id=entry.entry_id))
    else:
        usage = {"edit": "usage.faq_edit", "add": "usage.faq_add", "teach": "usage.faq_teach"}
        await faq.refuse_usage(actor, " ".join(args), usage.get(verb, "usage.faq"))


def _parse_add(
    rest: list[str],
) -> tuple[int | None, str, str, tuple[str, ...], str] | None:
    """`[id] <lang> question | alternates | answer` (alternates may be left out), else None."""
    rest = list(rest)
    entry_id = int(rest.pop(0)) if rest and rest[0].isdecimal() else None
    if not rest or rest[0] not in LANGUAGES:
        return None
    parts = [p.strip() for p in " ".join(rest[1:]).split("|")]
    if len(parts) == 2:
        parts.insert(1, "")
    if len(parts) != 3:
        return None
    question, alternates, answer = parts
    return entry_id, rest[0], question, split_alternates(alternates), answer


async def _list(message: Message, context: CareContext, actor: int, page: int) -> None:
    lang = context.lang
    listing = await context.care.faq.list_page(actor, page, PER_PAGE)
    if listing.total == 0:
        await message.reply_text(t("faq.list_empty", lang))
        return
    if page > listing.pages:
        await message.reply_text(t("faq.list_no_page", lang, page=page, pages=listing.pages))
        return
    lines = [t("faq.list_header", lang, page=page, pages=listing.pages)]
    lines += [
        t("faq.list_line", lang, id=r.entry_id, lang=r.language, question=r.question)
        for r in listing.rows
    ]
    await message.reply_text("\n".join(lines))


async def _show(message: Message, context: CareContext, actor: int, entry_id: int) -> None:
    lang = context.lang
    rows = await context.care.faq.show(actor, entry_id)
    texts = [
        t(
            "faq.show",
            lang,
            id=r.entry_id,
            lang=r.language,
            question=r.question,
            alternates="; ".join(r.alternates) or t("faq.none", lang),
            answer=r.answer,
            helpful=r.helpful,
            unhelpful=r.unhelpful,
            updated=r.updated_at[:10],
        )
        + (t("faq.stale", lang) if r.stale else "")
        for r in rows
    ]
    await message.reply_text("\n\n".join(texts))


async def cmd_unanswered(update: Update, context: CareContext) -> None:
    """/unanswered [dismiss <n>]: the questions the bot could not answer, grouped, and the
    phrasings proposed for existing entries (Yes / No); dismiss takes one off the list."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    args, faq, lang = list(context.args or []), context.care.faq, context.lang
    if len(args) == 2 and args[0].lower() == "dismiss" and args[1].isdecimal():
        await faq.dismiss(user.id, int(args[1]))
        await message.reply_text(t("faq.dismissed", lang, n=int(args[1])))
        return
    if args:
        await faq.refuse_usage(user.id, "unanswered " + " ".join(args), "usage.unanswered")
    review = await faq.review(user.id, UNANSWERED_SHOWN)
    if not review.unanswered and not review.proposals:
        await message.reply_text(t("faq.unanswered_empty", lang))
        return
    if review.unanswered:
        await message.reply_text(
            _listing(review, lang), reply_markup=_dismiss_buttons(review, lang)
        )
    for proposal in review.proposals:
        built = proposal_message(message.chat.id, lang, proposal)
        buttons = [[(t(key, lang), data)] for key, data in built.buttons]
        await message.reply_text(
            t(built.key, lang, **built.fields), reply_markup=keyboard(buttons)
        )


def _listing(review: Review, lang: str) -> str:
    lines = [t("faq.unanswered_header", lang)]
    lines += [
        t(
            "faq.unanswered_line",
            lang,
            n=r.id,
            question=r.example,
            lang=r.language,
            count=r.count,
            last=r.last_seen_at[:10],
        )
        for r in review.unanswered
    ]
    if review.groups:
        lines += ["", t("faq.group_header", lang)]
        lines += [
            t(
                "faq.group_line",
                lang,
                numbers=", ".join(str(n) for n in g.numbers),
                count=g.count,
                lang=g.lang,
                question=g.question,
                alternates="; ".join(g.alternates),
            )
            for g in review.groups
        ]
    return "\n".join(lines)


def _dismiss_buttons(review: Review, lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(t("faq.button_dismiss", lang, n=r.id), callbacks.build("faq", DISMISS, r.id))]
            for r in review.unanswered[:DISMISS_BUTTONS]
        ]
    )


async def on_proposal(
    update: Update, context: CareContext, query: CallbackQuery, message: Message
) -> None:
    """Yes / No on "add this phrasing to entry N?" (the presser's role is checked)."""
    number, verdict = callbacks.parse(query.data, "faq", TEACH, ID, Choice("yes", "no"))
    decided = await context.care.faq.decide(query.from_user.id, int(number), verdict == "yes")
    lang = context.lang
    if decided.already:
        await query.answer(t("faq.proposal_already", lang), show_alert=True)
        await remove_buttons(query)
        return
    await query.answer()
    await remove_buttons(query)
    key = "faq.proposal_accepted" if decided.accepted else "faq.proposal_rejected"
    await message.reply_text(t(key, lang, question=decided.question, id=decided.entry_id))


async def on_dismiss(
    update: Update, context: CareContext, query: CallbackQuery, message: Message
) -> None:
    """A dismiss button on the /unanswered list: that question is no longer listed."""
    (number,) = callbacks.parse(query.data, "faq", DISMISS, ID)
    await context.care.faq.dismiss(query.from_user.id, int(number))
    await query.answer(t("faq.dismissed", context.lang, n=int(number)))
    markup = message.reply_markup
    rows = [
        [(b.text, str(b.callback_data)) for b in row]
        for row in (markup.inline_keyboard if markup else ())
        if not any(b.callback_data == query.data for b in row)
    ]
    await query.edit_message_reply_markup(reply_markup=keyboard(rows) if rows else None)


def staff_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The one-line /faq command and /unanswered (register after the guided /faq add)."""
    return [
        CommandHandler("faq", cmd_faq),
        CommandHandler("unanswered", cmd_unanswered),
    ]
