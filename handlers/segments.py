"""Staff: /segment new|show|list (saved filters over customers) and /tag <customer> <tag>."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from care.segments.service import SegmentView
from handlers.common import reply
from handlers.context import CareContext
from handlers.texts import t


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


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [CommandHandler("segment", cmd_segment), CommandHandler("tag", cmd_tag)]
