"""Staff: /segment new|show|list (saved filters over customers), the guided /segment, and
/tag <customer> <tag>."""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from care.errors import CareError, NotStaff
from care.roles import Role
from care.segments.service import SegmentView
from handlers.common import error_text, reply
from handlers.context import CareContext
from handlers.texts import t

NAME_KEY = "segment_name"
GUIDED_TIMEOUT = timedelta(minutes=10)


class GuidedState(IntEnum):
    """Steps of the guided /segment."""

    NAME = 0
    TERMS = 1


def view_text(view: SegmentView, lang: str, key: str) -> str:
    """A segment's filter, live count and sample names."""
    samples = t("segments.samples", lang, names=", ".join(view.samples)) if view.samples else ""
    return t(key, lang, name=view.name, filter=view.filter or "—", count=view.count,
             samples=samples)  # fmt: skip


async def cmd_segment(update: Update, context: CareContext) -> None:
    """/segment new <name> <terms…> | show <name> | list."""
    user, lang, args = update.effective_user, context.lang, list(context.args or [])
    if user is None:
        return
    segments = context.care.segments
    verb = args[0].lower() if args else ""
    if verb == "show" and len(args) == 2:
        text = view_text(await segments.show(user.id, args[1]), lang, "segments.show")
    elif verb == "list" and len(args) == 1:
        lines = [t("segments.list_line", lang, name=n, filter=f or "—")
                 for n, f in await segments.names(user.id)]  # fmt: skip
        text = "\n".join(lines) or t("segments.none", lang)
    else:  # new, or a malformed command: the service checks the role first, then the shape
        name = args[1] if len(args) > 1 else ""
        saved = await segments.define(user.id, name, " ".join(args[2:]) if verb == "new" else "")
        text = view_text(saved, lang, "segments.saved")
    await reply(update.effective_message, text)


async def cmd_tag(update: Update, context: CareContext) -> None:
    """/tag <customer> <tag>."""
    user, lang, args = update.effective_user, context.lang, list(context.args or [])
    if user is None:
        return
    reference, tag = (args[0], args[1]) if len(args) == 2 else ("", "")
    done = await context.care.segments.tag(user.id, reference, tag)
    key = "tags.added" if done.added else "tags.had"
    await reply(update.effective_message, t(key, lang, who=done.who, tag=done.tag))


async def guided_start(update: Update, context: CareContext) -> int:
    """/segment alone: ask for the new segment's name (staff only)."""
    user = update.effective_user
    if user is None:
        return ConversationHandler.END
    try:
        await context.care.staff.authorize(user.id, "segment", "new (guided)", Role.STAFF)
    except NotStaff as exc:  # authorize audited the refusal
        await reply(update.effective_message, error_text(exc, context.lang))
        return ConversationHandler.END
    await reply(update.effective_message, t("segments.ask_name", context.lang))
    return GuidedState.NAME


async def guided_name(update: Update, context: CareContext) -> int:
    """Take the name; ask for the terms."""
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if not text or " " in text:
        await reply(update.effective_message, t("segments.ask_name", context.lang))
        return GuidedState.NAME
    context.user_data[NAME_KEY] = text  # type: ignore[index]
    await reply(update.effective_message, t("segments.ask_terms", context.lang, name=text))
    return GuidedState.TERMS


async def guided_terms(update: Update, context: CareContext) -> int:
    """Take the terms and save the segment; a bad term is named and asked again."""
    user, lang = update.effective_user, context.lang
    name = (context.user_data or {}).get(NAME_KEY, "")
    terms = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    try:
        saved = await context.care.segments.define(user.id, name, terms)  # type: ignore[union-attr]
    except NotStaff as exc:
        await reply(update.effective_message, error_text(exc, lang))
        return ConversationHandler.END
    except CareError as exc:
        await reply(update.effective_message, error_text(exc, lang))
        return GuidedState.TERMS
    context.user_data.pop(NAME_KEY, None)  # type: ignore[union-attr]
    await reply(update.effective_message, view_text(saved, lang, "segments.saved"))
    return ConversationHandler.END


async def guided_cancel(update: Update, context: CareContext) -> int:
    """Leave the guided /segment without saving."""
    if context.user_data is not None:
        context.user_data.pop(NAME_KEY, None)
    await reply(update.effective_message, t("segments.cancelled", context.lang))
    return ConversationHandler.END


def guided_handler() -> ConversationHandler[Any]:
    """The guided /segment (registered before the one-line command)."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[
            CommandHandler("segment", guided_start, filters=filters.Regex(r"^/segment(@\w+)?\s*$"))
        ],
        states={
            GuidedState.NAME: [MessageHandler(text, guided_name)],
            GuidedState.TERMS: [MessageHandler(text, guided_terms)],
        },
        fallbacks=[CommandHandler("cancel", guided_cancel)],
        name="segment_guided",
        conversation_timeout=GUIDED_TIMEOUT,
    )


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [
        guided_handler(),
        CommandHandler("segment", cmd_segment),
        CommandHandler("tag", cmd_tag),
    ]
