"""Outreach: /birthday for customers, check-in answers and mutes, staff /outreach."""

from __future__ import annotations

from collections import Counter
from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care.errors import InvalidArgument, InvalidBirthday, NotAnswerable
from care.outreach.rules import Birthday
from care.roles import Role
from handlers.common import error_text, reply, staff_command
from handlers.context import CareContext
from handlers.texts import label, t

PREVIEW_LINES = 20


def _shown(birthday: Birthday) -> str:
    text = f"{birthday.day:02d}-{birthday.month:02d}"
    return f"{text}-{birthday.year}" if birthday.year else text


async def cmd_birthday(update: Update, context: CareContext) -> None:
    """/birthday shows the stored birthday; /birthday DD-MM[-YYYY] or YYYY-MM-DD sets it."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    args = context.args or []
    try:
        if not args:
            current = await context.care.outreach.birthday_of(user.id)
            text = (
                t("birthday.current", lang, date=_shown(current))
                if current
                else t("birthday.none", lang)
            )
        else:
            saved = await context.care.outreach.set_birthday(user.id, " ".join(args))
            text = t("birthday.saved", lang, date=_shown(saved))
    except InvalidBirthday as exc:
        text = t(exc.key, lang, text=exc.text, day=exc.day, month=exc.month)
    except InvalidArgument as exc:
        text = error_text(exc, lang)
    await reply(update.effective_message, text)


async def on_checkin_answer(update: Update, context: CareContext) -> None:
    """A 1–5 check-in button: record it as feedback and thank the customer."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _, _, outreach_id, score = (query.data or "").split(":")
    try:
        answer = await context.care.outreach.answer_checkin(user.id, int(outreach_id), int(score))
    except NotAnswerable:
        await query.answer(t("common.expired_button", context.lang), show_alert=True)
        return
    await query.answer()
    key = "outreach.already_rated" if answer.already else "outreach.rated"
    await query.edit_message_text(t(key, context.lang, score=answer.score))


async def on_mute(update: Update, context: CareContext) -> None:
    """'No more messages like this': a per-kind opt-out."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        kind = await context.care.outreach.mute(user.id, int((query.data or "").split(":")[2]))
    except NotAnswerable:
        await query.answer(t("common.expired_button", context.lang), show_alert=True)
        return
    await query.answer()
    await reply(update.effective_message, t(f"outreach.muted.{kind}", context.lang))


@staff_command("outreach", needed=Role.STAFF)
async def cmd_outreach(update: Update, context: CareContext, role: Role) -> str | None:
    """/outreach preview [YYYY-MM-DD] | /outreach stats."""
    args, lang = context.args or [], context.lang
    verb = args[0].lower() if args else ""
    if verb == "stats" and len(args) == 1:
        stats = await context.care.outreach.stats(30)
        await reply(update.effective_message, _stats_text(stats, lang))
        return "stats"
    if verb != "preview" or len(args) > 2:
        raise InvalidArgument("outreach arguments", usage="usage.outreach")
    try:
        day = date.fromisoformat(args[1]) if len(args) == 2 else context.care.clock.now().date()
    except ValueError:
        raise InvalidArgument(f"not a date: {args[1]}", usage="usage.outreach") from None
    items = await context.care.outreach.preview(day)
    due = sum(1 for item in items if item.status == "due")
    lines = [t("outreach.preview_header", lang, date=day, due=due, skipped=len(items) - due)]
    for item in items[:PREVIEW_LINES]:
        status = (
            t("outreach.status_due", lang, time=item.due_at[11:16])
            if item.status == "due"
            else t("outreach.status_skipped", lang, reason=_skip_reason(item.reason or "", lang))
        )
        who = item.name or str(item.telegram_id or item.customer_id)
        lines.append(
            t(
                "outreach.preview_line",
                lang,
                who=who,
                kind=_kind(item.kind, lang),
                stage=label(f"stages.{item.stage}", item.stage, lang),
                status=status,
            )
        )
    if len(items) > PREVIEW_LINES:
        lines.append(t("outreach.preview_more", lang, count=len(items) - PREVIEW_LINES, date=day))
    await reply(update.effective_message, "\n".join(lines))
    return f"preview {day} due={due} total={len(items)}"


def _kind(kind: str, lang: str) -> str:
    """An outreach kind (birthday, checkin, winback) in `lang`."""
    return label(f"outreach.kind.{kind}", kind, lang)


def _skip_reason(reason: str, lang: str) -> str:
    """Why a message would be skipped, in `lang`; a reason without a text shows as it is."""
    return label(f"outreach.skip.{reason}", reason, lang)


def _stats_text(stats: dict[str, Counter[str]], lang: str) -> str:
    if not stats:
        return t("outreach.stats_empty", lang, days=30)
    lines = [t("outreach.stats_header", lang, days=30)]
    for kind in sorted(stats):
        counts = stats[kind]

        def total(prefix: str, counts: Counter[str] = counts) -> str:
            parts = {
                k.split(":", 1)[1] or "?": v for k, v in counts.items() if k.startswith(prefix)
            }
            detail = ", ".join(
                f"{_skip_reason(reason, lang)} {n}" for reason, n in sorted(parts.items())
            )
            return f"{sum(parts.values())}" + (f" ({detail})" if detail else "")

        lines.append(
            t(
                "outreach.stats_line",
                lang,
                kind=_kind(kind, lang),
                sent=counts["sent"],
                replies=counts["replies"],
                won_back=counts["won_back"],
                failed=total("failed:"),
                missed=total("missed:"),
                skipped=total("skipped:"),
            )
        )
    return "\n".join(lines)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [
        CommandHandler("birthday", cmd_birthday),
        CommandHandler("outreach", cmd_outreach),
        CallbackQueryHandler(on_checkin_answer, pattern=r"^outreach:rate:\d+:[1-5]$"),
        CallbackQueryHandler(on_mute, pattern=r"^outreach:mute:\d+$"),
    ]
