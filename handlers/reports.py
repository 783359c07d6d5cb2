"""Managers' /report [week|month]: an album of charts with the three numbers that moved most;
owners' /report digest on|off: the weekly digest for themselves."""

from __future__ import annotations

import asyncio

from telegram import InputMediaPhoto, Update
from telegram.ext import BaseHandler, CommandHandler

from care.errors import InvalidArgument
from handlers import report_charts
from handlers.context import CareContext
from handlers.texts import t


async def cmd_report(update: Update, context: CareContext) -> None:
    """Managers and owners: the last 7 (week, the default) or 30 days (month) as charts."""
    user, message, lang = update.effective_user, update.effective_message, context.lang
    if user is None or message is None:
        return
    args = [arg.lower() for arg in context.args or []]
    if len(args) == 2 and args[0] == "digest" and args[1] in ("on", "off"):
        wanted = await context.care.reports.set_digest(user.id, args[1] == "on")
        await message.reply_text(t("reports.digest_on" if wanted else "reports.digest_off", lang))
        return
    if len(args) > 1:
        raise InvalidArgument("report arguments", usage="usage.report")
    report = await context.care.reports.report_for(user.id, args[0] if args else "week")
    text = report_charts.summary(report, lang)
    if report.empty:
        await message.reply_text(text)
        return
    charts = await asyncio.to_thread(report_charts.render, report, lang, report_charts.ALBUM)
    media = [InputMediaPhoto(chart.png) for chart in charts]
    media[0] = InputMediaPhoto(charts[0].png, caption=text)
    await message.reply_media_group(media)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [CommandHandler("report", cmd_report)]
