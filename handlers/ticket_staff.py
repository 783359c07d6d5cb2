"""Tickets, staff side: /reply, /resolve, /reopen, /tickets, /ticket, the Take and Resolve
buttons on a ticket's post, and answers given by replying to that post (all role-checked and
audited)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care.errors import CareError, InvalidArgument, NotStaff
from care.roles import Role
from care.tickets import SCOPES, Delivery, display_name
from handlers.common import error_text, reply, staff_command
from handlers.context import CareContext
from handlers.texts import t
from storage.tickets import LIST_LIMIT, TicketRow


async def answer_from_staff_chat(
    update: Update, context: CareContext, ticket: TicketRow, text: str
) -> None:
    """A staff reply to a ticket's post: the same checks and audit as /reply."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    arguments = f"{ticket.number} (reply to post)"
    try:
        await context.care.staff.authorize(user.id, "reply", arguments, Role.STAFF)
        delivery = await context.care.tickets.reply(user.id, ticket.number, text)
    except CareError as exc:
        if not isinstance(exc, NotStaff):
            await context.care.staff.audit(
                user.id, "reply", arguments, f"error: {type(exc).__name__}"
            )
        await message.reply_text(error_text(exc, context.lang))
        return
    await context.care.staff.audit(user.id, "reply", arguments, _delivery_result(delivery))
    await message.reply_text(_delivery_text(delivery, context.lang))


def _delivery_text(delivery: Delivery, lang: str) -> str:
    key = "tickets.reply_sent" if delivery.delivered else "tickets.reply_undelivered"
    return t(key, lang, name=delivery.customer_name, number=delivery.ticket.number)


def _delivery_result(delivery: Delivery) -> str:
    return "delivered" if delivery.delivered else "undelivered: customer unreachable"


# ---------------------------------------------------------------------------- staff


def _number(args: list[str], usage: str) -> int:
    """The ticket number in the first argument ('1042' or '#1042')."""
    text = args[0].lstrip("#") if args else ""
    if not text.isdecimal() or len(text) > 9:
        raise InvalidArgument(f"not a ticket number: {text}", usage=usage)
    return int(text)


@staff_command("reply")
async def cmd_reply(update: Update, context: CareContext, role: Role) -> str | None:
    """/reply <n> <text>: answer the customer through the bot."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    parts = (message.text or "").split(maxsplit=2)
    number = _number(parts[1:2], "usage.reply")
    if len(parts) < 3:
        raise InvalidArgument("empty reply", usage="usage.reply")
    delivery = await context.care.tickets.reply(user.id, number, parts[2])
    await message.reply_text(_delivery_text(delivery, context.lang))
    return _delivery_result(delivery)


@staff_command("resolve")
async def cmd_resolve(update: Update, context: CareContext, role: Role) -> str | None:
    """/resolve <n> [note]: resolve and ask the customer for a rating."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    parts = (message.text or "").split(maxsplit=2)
    number = _number(parts[1:2], "usage.resolve")
    delivery = await context.care.tickets.resolve(
        user.id, number, parts[2] if len(parts) > 2 else None
    )
    await message.reply_text(_resolved_text(delivery, context.lang))
    return _delivery_result(delivery)


def _resolved_text(delivery: Delivery, lang: str) -> str:
    key = "tickets.resolved_asked" if delivery.delivered else "tickets.resolved_unreachable"
    return t(key, lang, number=delivery.ticket.number, name=delivery.customer_name)


@staff_command("reopen")
async def cmd_reopen(update: Update, context: CareContext, role: Role) -> str | None:
    """/reopen <n>."""
    user = update.effective_user
    assert user is not None
    number = _number(list(context.args or []), "usage.reopen")
    await context.care.tickets.reopen(user.id, number)
    await reply(update.effective_message, t("tickets.reopened", context.lang, number=number))
    return "reopened"


@staff_command("tickets")
async def cmd_tickets(update: Update, context: CareContext, role: Role) -> str | None:
    """/tickets [open|mine|all]."""
    user, lang = update.effective_user, context.lang
    assert user is not None
    args = [a.lower() for a in context.args or []]
    scope = args[0] if args else "open"
    if len(args) > 1 or scope not in SCOPES:
        raise InvalidArgument(f"scope {scope}", usage="usage.tickets")
    tickets = await context.care.tickets.list_for_staff(scope, user.id)
    shown = t(f"tickets.scope_{scope}", lang)
    if not tickets:
        await reply(update.effective_message, t("tickets.list_empty", lang, scope=shown))
        return "empty"
    lines = [t("tickets.list_header", lang, scope=shown, count=len(tickets))]
    if len(tickets) >= LIST_LIMIT:
        lines.append(t("tickets.list_truncated", lang, count=LIST_LIMIT))
    for ticket in tickets:
        view = await context.care.tickets.find(ticket.number)
        lines.append(
            t(
                "tickets.list_line",
                lang,
                number=ticket.number,
                kind=t(f"tickets.kind_{ticket.kind}", lang),
                status=t(f"tickets.status_{ticket.status}", lang),
                name=display_name(view.customer),
                date=ticket.created_at[:16].replace("T", " "),
            )
        )
    await reply(update.effective_message, "\n".join(lines))
    return f"listed {len(tickets)}"


@staff_command("ticket")
async def cmd_ticket(update: Update, context: CareContext, role: Role) -> str | None:
    """/ticket <n>: the full transcript."""
    lang = context.lang
    number = _number(list(context.args or []), "usage.ticket")
    view = await context.care.tickets.find(number)
    ticket = view.ticket
    extra = ""
    if ticket.rating:
        extra += t("tickets.transcript_rating", lang, rating=ticket.rating)
    if ticket.csat:
        extra += t("tickets.transcript_csat", lang, csat=ticket.csat)
    if ticket.customer_unreachable:
        extra += t("tickets.transcript_unreachable", lang)
    lines = [
        t(
            "tickets.transcript_header",
            lang,
            number=number,
            kind=t(f"tickets.kind_{ticket.kind}", lang),
            category=f"({ticket.category}) " if ticket.category else "",
            status=t(f"tickets.status_{ticket.status}", lang),
            name=display_name(view.customer),
            date=ticket.created_at[:16].replace("T", " "),
            extra=extra,
        )
    ]
    for entry in view.messages:
        body = entry.body or ""
        if entry.photo_file_id:
            body = f"{body} {t('tickets.photo', lang)}".strip()
        lines.append(
            t(
                "tickets.transcript_line",
                lang,
                at=entry.created_at[5:16].replace("T", " "),
                who=t(f"tickets.author_{entry.author}", lang),
                body=body,
            )
        )
    await reply(update.effective_message, "\n".join(lines)[:4000])
    return "shown"


async def on_staff_button(update: Update, context: CareContext) -> None:
    """Take or Resolve on a ticket's post: role checked and audited like the commands."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _, verb, number_text = (query.data or "").split(":")
    number, action = int(number_text), f"ticket_{verb}"
    try:
        await context.care.staff.authorize(user.id, action, number_text, Role.STAFF)
        if verb == "take":
            await context.care.tickets.take(user.id, number)
            text, result = (
                t("tickets.taken", context.lang, who=user.full_name, number=number),
                "taken",
            )
        else:
            delivery = await context.care.tickets.resolve(user.id, number)
            text, result = _resolved_text(delivery, context.lang), _delivery_result(delivery)
    except CareError as exc:
        if not isinstance(exc, NotStaff):
            await context.care.staff.audit(
                user.id, action, number_text, f"error: {type(exc).__name__}"
            )
        await query.answer(error_text(exc, context.lang), show_alert=True)
        return
    await context.care.staff.audit(user.id, action, number_text, result)
    await query.answer()
    await reply(update.effective_message, text)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The staff commands and buttons."""
    return [
        CommandHandler("reply", cmd_reply),
        CommandHandler("resolve", cmd_resolve),
        CommandHandler("reopen", cmd_reopen),
        CommandHandler("tickets", cmd_tickets),
        CommandHandler("ticket", cmd_ticket),
        CallbackQueryHandler(on_staff_button, pattern=r"^tickets:(take|resolve):\d+$"),
    ]
