"""Managers: /campaign new|stats|cancel and the preview's buttons; customers: "stop these"."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from care import callbacks
from care.callbacks import ID
from care.campaigns.results import CampaignStats, Preview
from care.campaigns.service import FEATURE
from handlers.common import edit_quietly, keyboard, reply
from handlers.context import CareContext
from handlers.texts import t

CAPTION = r"^/campaign(@\w+)?(\s|$)"


def preview_text(p: Preview, lang: str) -> str:
    """The preview: who gets it, who not and why, and the message in each language."""
    excluded = ", ".join(
        t("campaigns.excluded_item", lang, reason=t(f"campaigns.reason.{r}", lang), count=n)
        for r, n in p.excluded.items()
    ) or t("campaigns.nobody_excluded", lang)
    when = t("campaigns.at_local", lang, at=p.at.replace("T", " ")) if p.at else ""
    if p.quiet_hours:
        when += t("campaigns.quiet_hours", lang, count=p.quiet_hours)
    by_language = ", ".join(f"{code} {n}" for code, n in p.by_language.items())
    lines = [
        t("campaigns.preview", lang, id=p.campaign_id, name=p.name, filter=p.filter or "—",
          recipients=p.recipients, by_language=by_language, when=when, excluded=excluded)
    ]  # fmt: skip
    lines += [
        t("campaigns.preview_text", lang, lang=code, text=text) for code, text in p.texts.items()
    ]
    for code in p.missing:
        fallback = next(
            c for c, text in p.texts.items() if c not in p.missing and text == p.texts[code]
        )
        lines.append(t("campaigns.missing_translation", lang, lang=code, fallback=fallback))
    return "\n".join(lines)


def preview_buttons(preview: Preview, lang: str) -> InlineKeyboardMarkup:
    """The preview's send and cancel buttons (a draft's, so it has an id)."""
    assert preview.campaign_id is not None
    number = preview.campaign_id
    return keyboard([[
        (t("campaigns.confirm_button", lang), callbacks.build(FEATURE, "confirm", number)),
        (t("campaigns.cancel_button", lang), callbacks.build(FEATURE, "cancel", number)),
    ]])  # fmt: skip


def stats_text(s: CampaignStats, lang: str) -> str:
    """/campaign stats: where the messages stand."""

    def reasons(table: dict[str, int]) -> str:
        return ", ".join(f"{reason} {n}" for reason, n in table.items()) or "—"

    return t("campaigns.stats", lang, id=s.campaign_id, name=s.name, status=s.status,
             recipients=s.recipients, queued=s.queued, sent=s.sent, failed=s.failed,
             failed_reasons=reasons(s.failed_by_reason), blocked=s.blocked, skipped=s.skipped,
             skipped_reasons=reasons(s.skipped_by_reason), replies=s.replies)  # fmt: skip


async def cmd_campaign(update: Update, context: CareContext) -> None:
    """/campaign new … | stats <id> | cancel <id> (managers and owners)."""
    user, message, lang = update.effective_user, update.effective_message, context.lang
    if user is None or message is None:
        return
    rest = (message.text or message.caption or "").partition(" ")[2].strip()
    verb, _, number = rest.partition(" ")
    campaigns = context.care.campaigns
    if verb in ("stats", "cancel") and number.strip().isdecimal():
        campaign_id = int(number)
        if verb == "stats":
            await reply(message, stats_text(await campaigns.stats_for(user.id, campaign_id), lang))
            return
        unsent = await campaigns.cancel(user.id, campaign_id)
        await reply(message, t("campaigns.cancelled", lang, id=campaign_id, unsent=unsent))
        return
    if verb != "new":
        await campaigns.usage(user.id, rest)
        return
    photo = message.photo[-1].file_id if message.photo else None  # the largest size
    preview = await campaigns.create(user.id, rest, photo)
    await reply(message, preview_text(preview, lang), reply_markup=preview_buttons(preview, lang))


async def on_confirm(update: Update, context: CareContext) -> None:
    """The preview's send button: queue every message (the role is checked again)."""
    query, user, lang = update.callback_query, update.effective_user, context.lang
    if query is None or user is None:
        return
    (campaign_id,) = callbacks.parse(query.data, FEATURE, "confirm", ID)
    done = await context.care.campaigns.confirm(user.id, int(campaign_id))
    await query.answer()
    text = t("campaigns.queued", lang, id=campaign_id, recipients=done.recipients)
    await edit_quietly(query, text)


async def on_cancel(update: Update, context: CareContext) -> None:
    """The preview's cancel button."""
    query, user, lang = update.callback_query, update.effective_user, context.lang
    if query is None or user is None:
        return
    (campaign_id,) = callbacks.parse(query.data, FEATURE, "cancel", ID)
    unsent = await context.care.campaigns.cancel(user.id, int(campaign_id))
    await query.answer()
    await edit_quietly(query, t("campaigns.cancelled", lang, id=campaign_id, unsent=unsent))


async def on_stop(update: Update, context: CareContext) -> None:
    """A customer's "stop these" under a campaign: no more promotions."""
    query, user, lang = update.callback_query, update.effective_user, context.lang
    if query is None or user is None:
        return
    (campaign_id,) = callbacks.parse(query.data, FEATURE, "stop", ID)
    stopped = await context.care.campaigns.stop_these(user.id, int(campaign_id))
    await query.answer()
    if query.message is not None:
        key = "campaigns.stopped" if stopped else "campaigns.already_stopped"
        await context.bot.send_message(query.message.chat.id, t(key, lang))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [
        CommandHandler("campaign", cmd_campaign),
        # a photo whose caption is the /campaign command: the campaign carries the photo
        MessageHandler(
            filters.PHOTO & filters.CaptionRegex(r"^/campaign(@\w+)?(\s|$)"), cmd_campaign
        ),
        CallbackQueryHandler(on_confirm, pattern=callbacks.pattern(FEATURE, "confirm")),
        CallbackQueryHandler(on_cancel, pattern=callbacks.pattern(FEATURE, "cancel")),
        CallbackQueryHandler(on_stop, pattern=callbacks.pattern(FEATURE, "stop")),
    ]
