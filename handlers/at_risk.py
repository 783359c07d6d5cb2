"""Staff: /customers at-risk, the at-risk customers with their reasons, highest value first."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care import callbacks
from care.callbacks import Number
from care.errors import CareError
from care.stages.status import AtRiskPage, CustomerStatus, line_fields
from handlers.common import answer_error, keyboard, reply, require_text_message
from handlers.context import CareContext
from handlers.stages import reason_text
from handlers.texts import t

FEATURE = "customers"
MAX_PAGE = 100_000


def status_line(status: CustomerStatus, lang: str) -> str:
    """One at-risk customer: who, their year's spend, last visit and the model's reason."""
    fields = line_fields(status)
    fields["reason"] = reason_text(status.reason, lang)
    return t("customers.at_risk_line", lang, **fields)


def render_page(page: AtRiskPage, lang: str) -> tuple[str, list[list[tuple[str, str]]]]:
    """The text of one page and its previous/next buttons."""
    if not page.total:
        return t("customers.at_risk_none", lang), []
    lines = [
        t("customers.at_risk_header", lang, total=page.total, page=page.page + 1, pages=page.pages)
    ]
    lines += [status_line(status, lang) for status in page.customers]
    nav = []
    if page.page > 0:
        nav.append(
            (t("customers.page_previous", lang), callbacks.build(FEATURE, "atrisk", page.page - 1))
        )
    if page.page < page.pages - 1:
        nav.append(
            (t("customers.page_next", lang), callbacks.build(FEATURE, "atrisk", page.page + 1))
        )
    return "\n".join(lines), [nav] if nav else []


async def cmd_customers(update: Update, context: CareContext) -> None:
    """/customers at-risk: the first page."""
    user = update.effective_user
    if user is None:
        return
    page = await context.care.status.at_risk_for(user.id, 0, list(context.args or []))
    text, rows = render_page(page, context.lang)
    await reply(update.effective_message, text, reply_markup=keyboard(rows) if rows else None)


async def on_page(update: Update, context: CareContext) -> None:
    """Another page in the same message; the role is checked again on every press."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        (number,) = callbacks.parse(query.data, FEATURE, "atrisk", Number(0, MAX_PAGE))
        require_text_message(query)
        page = await context.care.status.at_risk_for(user.id, int(number))
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    text, rows = render_page(page, context.lang)
    try:
        await query.edit_message_text(text, reply_markup=keyboard(rows) if rows else None)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [
        CommandHandler("customers", cmd_customers),
        CallbackQueryHandler(on_page, pattern=callbacks.pattern(FEATURE, "atrisk")),
    ]
