"""Ticket threads: messages that belong to a ticket are claimed before any feature sees them.

A customer's message that replies to a ticket message (or arrives while a ticket waits for their
answer) is added to the ticket; a staff reply to a ticket's message in the staff chat answers the
customer. Care decides whether a message belongs to a ticket; a claimed update is finished and
goes no further.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, MessageHandler, filters

from care.errors import CareError
from handlers.common import error_text
from handlers.context import CareContext
from handlers.texts import t
from handlers.ticket_flows import FLOW_KEY
from handlers.ticket_staff import reply_text


async def on_thread_message(update: Update, context: CareContext) -> None:
    """Claim a customer's answer to a ticket, or a staff reply to a ticket's message."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    tickets = context.care.tickets
    if chat.type == "private":
        if context.user_data and context.user_data.get(FLOW_KEY):
            return  # a feedback or complaint flow is collecting this message
        photo = message.photo[-1].file_id if message.photo else None
        thread = await tickets.add_customer_message(
            user.id, replied, message.text or message.caption, photo
        )
        if thread is None:
            return
        await message.reply_text(t("tickets.added_to_ticket", context.lang, number=thread.number))
    elif replied is not None:
        try:
            delivery = await tickets.reply_in_staff_chat(
                user.id, chat.id, replied, message.text or ""
            )
        except CareError as exc:  # refused or invalid: told here, and the update ends here
            await message.reply_text(error_text(exc, context.lang))
        else:
            if delivery is None:
                return
            await message.reply_text(reply_text(delivery, context.lang))
    else:
        return
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Run before the features: claim messages that belong to a ticket."""
    content = (filters.TEXT | filters.PHOTO) & ~filters.COMMAND
    where = filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & filters.REPLY)
    return [MessageHandler(content & where, on_thread_message)]
