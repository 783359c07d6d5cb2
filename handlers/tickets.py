"""Feedback and complaints: the customer's flows and ticket threads (staff side: ticket_staff).

Two handler lists:
- `thread_handlers()` runs in its own group before the features: a customer's message that
  replies to a ticket message (or arrives while a ticket waits for their answer), and a staff
  reply to a ticket's post in the staff chat, are claimed there and go no further
  (`handlers.ticket_threads`).
- `handlers()` holds the /feedback and /complaint conversation (`handlers.ticket_flows`),
  /mytickets, the satisfaction and staff buttons, and the staff commands; it goes in FEATURES
  before the fallback handlers.
- `offer_complaint()` is for any free-text path that found nothing better (fallback, FAQ).

The flows' and threads' names are re-exported here, where callers have always found them.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care.errors import CareError
from care.tickets import looks_like_complaint
from handlers import ticket_staff
from handlers.common import keyboard, reply
from handlers.context import CareContext
from handlers.texts import t
from handlers.ticket_flows import (
    CATEGORY_KEY,
    DRAFT_KEY,
    FLOW_KEY,
    FLOW_TIMEOUT,
    MAX_DRAFT,
    PHOTO_KEY,
    RATING_KEY,
    TEXT_KEY,
    Flow,
    cmd_cancel,
    cmd_complaint,
    cmd_feedback,
    confirm_ticket,
    conversation,
    on_category,
    on_comment,
    on_description,
    on_need_photo,
    on_need_text,
    on_photo,
    on_rating,
    on_timeout,
    on_unexpected,
)
from handlers.ticket_threads import on_thread_message, thread_handlers

__all__ = [
    "CATEGORY_KEY",
    "DRAFT_KEY",
    "FLOW_KEY",
    "FLOW_TIMEOUT",
    "MAX_DRAFT",
    "PHOTO_KEY",
    "RATING_KEY",
    "TEXT_KEY",
    "Flow",
    "cmd_cancel",
    "cmd_cancel_outside",
    "cmd_complaint",
    "cmd_feedback",
    "cmd_mytickets",
    "confirm_ticket",
    "handlers",
    "offer_complaint",
    "on_category",
    "on_comment",
    "on_csat",
    "on_description",
    "on_need_photo",
    "on_need_text",
    "on_photo",
    "on_rating",
    "on_thread_message",
    "on_timeout",
    "on_unexpected",
    "thread_handlers",
]


async def cmd_cancel_outside(update: Update, context: CareContext) -> None:
    """/cancel with no flow running."""
    await reply(update.effective_message, t("tickets.nothing_to_cancel", context.lang))


async def offer_complaint(update: Update, context: CareContext, text: str) -> bool:
    """Offer to file free text that reads like a complaint as one; True if offered.

    Call it where free text matches nothing (the fallback now, the FAQ's no-match path later).
    """
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or chat.type != "private":
        return False
    if not looks_like_complaint(text) or context.user_data is None:
        return False
    context.user_data[DRAFT_KEY] = text[:MAX_DRAFT]
    button = keyboard([[(t("tickets.button_offer", context.lang), "tickets:draft:complaint")]])
    await message.reply_text(t("tickets.offer_complaint", context.lang), reply_markup=button)
    return True


async def cmd_mytickets(update: Update, context: CareContext) -> None:
    """/mytickets: the customer's tickets with their status."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    tickets = await context.care.tickets.for_customer(user.id)
    if not tickets:
        await reply(update.effective_message, t("tickets.mytickets_empty", lang))
        return
    lines = [t("tickets.mytickets_header", lang)]
    lines += [
        t(
            "tickets.mytickets_line",
            lang,
            number=ticket.number,
            kind=t(f"tickets.kind_{ticket.kind}", lang),
            status=t(f"tickets.status_{ticket.status}", lang),
            date=ticket.created_at[:10],
        )
        for ticket in tickets
    ]
    await reply(update.effective_message, "\n".join(lines))


async def on_csat(update: Update, context: CareContext) -> None:
    """A satisfaction press: counted once; a late second press is thanked, not counted."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _, _, number, score = (query.data or "").split(":")
    try:
        rating = await context.care.tickets.rate(user.id, int(number), int(score))
    except CareError:
        await query.answer(t("common.expired_button", context.lang), show_alert=True)
        return
    if not rating.accepted:
        await query.answer(t("tickets.csat_already", context.lang))
        return
    await query.answer()
    thanks = t("tickets.csat_thanks", context.lang, number=number, score=score)
    original = query.message.text if isinstance(query.message, Message) else None
    await query.edit_message_text(f"{original}\n\n{thanks}" if original else thanks)


# ---------------------------------------------------------------------------- registration


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The flows, customer and staff commands, and buttons, before the fallback handlers."""
    return [
        conversation(),
        CommandHandler("cancel", cmd_cancel_outside),
        CommandHandler("mytickets", cmd_mytickets),
        CallbackQueryHandler(on_csat, pattern=r"^tickets:csat:\d+:[1-5]$"),
        *ticket_staff.handlers(),
    ]
