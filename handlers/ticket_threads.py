"""Ticket threads: messages that belong to a ticket are claimed before any feature sees them.

A customer's message that replies to a ticket message (or arrives while a ticket waits for their
answer) is added to the ticket; a staff reply to a ticket's post in the staff chat answers the
customer (`handlers.ticket_staff`). A claimed update is finished and goes no further.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, MessageHandler, filters

from handlers import ticket_staff
from handlers.context import CareContext
from handlers.texts import t
from handlers.ticket_flows import FLOW_KEY


async def on_thread_message(update: Update, context: CareContext) -> None:
    """Claim a customer's answer to a ticket, or a staff reply to a ticket's post."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    if chat.type == "private":
        if context.user_data and context.user_data.get(FLOW_KEY):
            return  # a feedback or complaint flow is collecting this message
        ticket = await context.care.tickets.thread_for_customer(user.id, replied)
        if ticket is None:
            return
        photo = message.photo[-1].file_id if message.photo else None
        await context.care.tickets.add_customer_message(
            ticket, message.text or message.caption, photo
        )
        await message.reply_text(t("tickets.added_to_ticket", context.lang, number=ticket.number))
    elif chat.id == context.care.settings.staff.chat_id and replied is not None:
        found = await context.care.tickets.ticket_for_staff_message(chat.id, replied)
        if found is None:
            return
        await ticket_staff.answer_from_staff_chat(update, context, found, message.text or "")
    else:
        return
    raise ApplicationHandlerStop


def thread_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Run before the features: claim messages that belong to a ticket."""
    content = (filters.TEXT | filters.PHOTO) & ~filters.COMMAND
    where = filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & filters.REPLY)
    return [MessageHandler(content & where, on_thread_message)]
