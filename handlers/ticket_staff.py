"""Tickets, staff side: /reply, /resolve, /reopen, /tickets, /ticket and the Take and Resolve
buttons on a ticket's post. Care checks the caller's role and audits every one of them."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care import callbacks
from care.callbacks import ID
from care.errors import CareError, TicketAlreadyResolved
from care.tickets.results import Delivery, Outcome
from handlers.common import error_text, reply
from handlers.context import CareContext
from handlers.texts import t
from handlers.ticket_flows import refuse_button

MAX_TRANSCRIPT = 4000

_REPLY_KEYS = {
    Outcome.QUEUED: "tickets.reply_sent",
    Outcome.FORGOTTEN: "tickets.reply_forgotten",
    Outcome.NO_CHAT: "tickets.reply_no_chat",
}
_RESOLVED_KEYS = {
    Outcome.QUEUED: "tickets.resolved_asked",
    Outcome.FORGOTTEN: "tickets.resolved_forgotten",
    Outcome.NO_CHAT: "tickets.resolved_no_chat",
}


def reply_text(delivery: Delivery, lang: str) -> str:
    """What staff are told after a reply: on its way, or why it cannot reach the customer."""
    key = _REPLY_KEYS[delivery.outcome]
    return t(key, lang, name=delivery.customer_name, number=delivery.ticket.number)


def _resolved_text(delivery: Delivery, lang: str) -> str:
    key = _RESOLVED_KEYS[delivery.outcome]
    return t(key, lang, number=delivery.ticket.number, name=delivery.customer_name)


def _words(message: Message | None, parts: int) -> list[str]:
    """The command's arguments, the last one keeping its spaces and line breaks ('' if absent)."""
    words = (message.text or "").split(maxsplit=parts)[1:] if message else []
    return words + [""] * (parts - len(words))


async def cmd_reply(update: Update, context: CareContext) -> None:
    """/reply <n> <text>: answer the customer through the bot."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    number, text = _words(message, 2)
    delivery = await context.care.tickets.reply(user.id, number, text)
    await message.reply_text(reply_text(delivery, context.lang))


async def cmd_resolve(update: Update, context: CareContext) -> None:
    """/resolve <n> [note]: resolve and ask the customer for a rating."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    number, note = _words(message, 2)
    delivery = await context.care.tickets.resolve(user.id, number, note or None)
    await message.reply_text(_resolved_text(delivery, context.lang))


async def cmd_reopen(update: Update, context: CareContext) -> None:
    """/reopen <n>."""
    user = update.effective_user
    if user is None:
        return
    (number,) = _words(update.effective_message, 1)
    ticket = await context.care.tickets.reopen(user.id, number)
    await reply(
        update.effective_message, t("tickets.reopened", context.lang, number=ticket.number)
    )


async def cmd_tickets(update: Update, context: CareContext) -> None:
    """/tickets [open|mine|all]."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    scope = " ".join(context.args or [])
    listing = await context.care.tickets.list_for_staff(user.id, scope)
    shown = t(f"tickets.scope_{listing.scope}", lang)
    if not listing.lines:
        await reply(update.effective_message, t("tickets.list_empty", lang, scope=shown))
        return
    lines = [t("tickets.list_header", lang, scope=shown, count=len(listing.lines))]
    if listing.truncated_at is not None:
        lines.append(t("tickets.list_truncated", lang, count=listing.truncated_at))
    for line in listing.lines:
        ticket = line.ticket
        lines.append(
            t(
                "tickets.list_line",
                lang,
                number=ticket.number,
                kind=t(f"tickets.kind_{ticket.kind}", lang),
                status=t(f"tickets.staff_status_{ticket.status}", lang),
                name=line.customer_name,
                date=ticket.created_at[:16].replace("T", " "),
            )
        )
    await reply(update.effective_message, "\n".join(lines))


async def cmd_ticket(update: Update, context: CareContext) -> None:
    """/ticket <n>: the full transcript, in staff wording."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    view = await context.care.tickets.find(user.id, " ".join(context.args or []))
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
            number=ticket.number,
            kind=t(f"tickets.kind_{ticket.kind}", lang),
            category=f"({ticket.category}) " if ticket.category else "",
            status=t(f"tickets.staff_status_{ticket.status}", lang),
            name=view.customer_name,
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
    await reply(update.effective_message, "\n".join(lines)[:MAX_TRANSCRIPT])


async def on_staff_button(update: Update, context: CareContext) -> None:
    """Take or Resolve on a ticket's post: the presser's role is checked on every press; a
    second tap changes nothing and is answered quietly."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    verb = callbacks.verb_of(query.data)
    try:
        (number,) = callbacks.parse(query.data, "tickets", verb, ID)
        if verb == "take":
            taken = await context.care.tickets.take(user.id, number)
            text = (
                None
                if taken.already
                else t("tickets.taken", context.lang, who=user.full_name, number=number)
            )
        else:
            delivery = await context.care.tickets.resolve(user.id, number, action="ticket_resolve")
            text = _resolved_text(delivery, context.lang)
    except TicketAlreadyResolved as exc:  # e.g. a second tap on Resolve
        await query.answer(error_text(exc, context.lang))
        return
    except CareError as exc:
        await refuse_button(query, exc, context.lang)
        return
    await query.answer()
    if text is not None:
        await reply(update.effective_message, text)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The staff commands and buttons."""
    return [
        CommandHandler("reply", cmd_reply),
        CommandHandler("resolve", cmd_resolve),
        CommandHandler("reopen", cmd_reopen),
        CommandHandler("tickets", cmd_tickets),
        CommandHandler("ticket", cmd_ticket),
        CallbackQueryHandler(
            on_staff_button, pattern=callbacks.pattern("tickets", "take", "resolve")
        ),
    ]
