"""Staff FAQ commands: /faq list|show|add|edit|del|teach (one line) and /unanswered."""

from __future__ import annotations

import math
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from care.errors import InvalidArgument
from care.faq import split_alternates
from care.roles import Role
from handlers.common import reply, staff_command
from handlers.context import CareContext
from handlers.texts import LANGUAGES, t

PER_PAGE = 10
UNANSWERED_SHOWN = 20


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


def staff_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The one-line /faq command and /unanswered (register after the guided /faq add)."""
    return [
        CommandHandler("faq", cmd_faq),
        CommandHandler("unanswered", cmd_unanswered),
    ]
