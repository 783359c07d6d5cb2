"""Outreach: /birthday for customers, check-in answers and mutes, staff /outreach."""

from __future__ import annotations

from collections import Counter
from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care import callbacks
from care.callbacks import ID, Number
from care.errors import CareError, InvalidArgument
from care.outreach.rules import Birthday
from care.outreach.service import Preview
from handlers.common import answer_error, edit_quietly, reply, require_text_message
from handlers.context import CareContext
from handlers.texts import label, t

PREVIEW_LINES = 20
SCORE = Number(1, 5)


def _shown(birthday: Birthday, lang: str) -> str:
    """A birthday as the reader writes dates: 25-12[-1990], or 12月25日 / 1990年12月25日."""
    if lang == "zh":
        text = f"{birthday.month}月{birthday.day}日"
        return f"{birthday.year}年{text}" if birthday.year else text
    text = f"{birthday.day:02d}-{birthday.month:02d}"
    return f"{text}-{birthday.year}" if birthday.year else text


async def cmd_birthday(update: Update, context: CareContext) -> None:
    """/birthday shows the stored birthday; /birthday DD-MM[-YYYY], YYYY-MM-DD or 12月25日 sets
    it; staff: /birthday <customer> <date> corrects a customer's."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    args = context.args or []
    outreach = context.care.outreach
    if len(args) >= 2:
        saved = await outreach.set_birthday_for(user.id, args[0], " ".join(args[1:]))
        text = t("birthday.staff_saved", lang, who=saved.who, date=_shown(saved.birthday, lang))
    elif args:
        own = await outreach.set_birthday(user.id, args[0])
        text = t("birthday.saved", lang, date=_shown(own, lang))
    elif current := await outreach.birthday_of(user.id):
        text = t("birthday.current", lang, date=_shown(current, lang))
    else:
        text = t("birthday.none", lang)
    await reply(update.effective_message, text)


async def on_checkin_answer(update: Update, context: CareContext) -> None:
    """A 1–5 check-in button: record it as feedback and thank the customer."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        outreach_id, score = callbacks.parse(query.data, "outreach", "rate", ID, SCORE)
        require_text_message(query)
        answer = await context.care.outreach.answer_checkin(user.id, int(outreach_id), int(score))
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    if not answer.already:  # a repeated tap changes nothing, and says nothing
        await edit_quietly(query, t("outreach.rated", context.lang, score=answer.score))


async def on_mute(update: Update, context: CareContext) -> None:
    """'No more messages like this': a per-kind opt-out (a repeated tap changes nothing)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        (outreach_id,) = callbacks.parse(query.data, "outreach", "mute", ID)
        muted = await context.care.outreach.mute(user.id, int(outreach_id))
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    if muted.changed:
        await reply(update.effective_message, t(f"outreach.muted.{muted.kind}", context.lang))


async def cmd_outreach(update: Update, context: CareContext) -> None:
    """/outreach preview [YYYY-MM-DD] | /outreach stats."""
    user, args, lang = update.effective_user, context.args or [], context.lang
    if user is None:
        return
    verb = args[0].lower() if args else ""
    if verb == "stats" and len(args) == 1:
        stats = await context.care.outreach.stats_for(user.id, 30)
        await reply(update.effective_message, _stats_text(stats, lang))
        return
    if verb != "preview" or len(args) > 2:
        raise InvalidArgument("outreach arguments", usage="usage.outreach")
    try:
        day = date.fromisoformat(args[1]) if len(args) == 2 else None
    except ValueError:
        raise InvalidArgument(f"not a date: {args[1]}", usage="usage.outreach") from None
    preview = await context.care.outreach.preview_for(user.id, day)
    await reply(update.effective_message, _preview_text(preview, lang))


def _preview_text(preview: Preview, lang: str) -> str:
    items, day, due = preview.items, preview.day, preview.due
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
    return "\n".join(lines)


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
        CallbackQueryHandler(on_checkin_answer, pattern=callbacks.pattern("outreach", "rate")),
        CallbackQueryHandler(on_mute, pattern=callbacks.pattern("outreach", "mute")),
    ]
