"""Feedback and complaints: the customer's commands and buttons, and the feature's handler lists.

- `thread_handlers()` runs in its own group before the features: a customer's message that
  replies to a ticket message (or arrives while a ticket waits for their answer), and a staff
  reply to a ticket's post in the staff chat, are claimed there and go no further
  (`handlers.ticket_threads`).
- `handlers()` holds the /feedback and /complaint conversation (`handlers.ticket_flows`),
  /mytickets, the satisfaction buttons and the staff commands (`handlers.ticket_staff`); it goes
  in FEATURES before the fallback handlers.
- `offer_complaint()` is for any free-text path that found nothing better (fallback, FAQ).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care import callbacks
from care.callbacks import ID, ArgSpec, Choice, Number
from care.errors import CareError, ExpiredButton
from care.tickets.complaints import looks_like_complaint
from care.tickets.service import CATEGORIES
from handlers import ticket_staff, ticket_threads
from handlers.common import keyboard, reply, require_text_message
from handlers.context import CareContext
from handlers.texts import t
from handlers.ticket_flows import (
    DRAFT_KEY,
    MAX_DRAFT,
    conversation,
    refuse_button,
)


async def offer_complaint(
    update: Update,
    context: CareContext,
    text: str,
    after: Sequence[Sequence[tuple[str, str]]] = (),
    key: str = "tickets.offer_complaint",
) -> Message | None:
    """Offer to file free text that reads like a complaint as one; the offer, if sent.

    Call it where free text matches nothing better (the fallback, the FAQ). The complaint
    button comes first; `after` are more button rows (the FAQ's suggestions). The text is kept
    until the offer's button is pressed or another complaint is started.
    """
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or chat.type != "private":
        return None
    if not looks_like_complaint(text) or context.user_data is None:
        return None
    context.user_data[DRAFT_KEY] = text[:MAX_DRAFT]
    data = callbacks.build("tickets", "draft", "complaint")
    rows = [[(t("tickets.button_offer", context.lang), data)], *after]
    return await message.reply_text(t(key, context.lang), reply_markup=keyboard(rows))


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
    """A satisfaction press: counted once; a second press is thanked quietly, not counted."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        number, score = callbacks.parse(query.data, "tickets", "csat", ID, Number(1, 5))
        require_text_message(query)
        rating = await context.care.tickets.rate(user.id, int(number), int(score))
    except CareError as exc:
        await refuse_button(query, exc, context.lang)
        return
    if not rating.accepted:
        await query.answer(t("tickets.csat_already", context.lang))
        return
    await query.answer()
    thanks = t("tickets.csat_thanks", context.lang, number=number, score=score)
    original = query.message.text if isinstance(query.message, Message) else None
    await query.edit_message_text(f"{original}\n\n{thanks}" if original else thanks)


# The flow's buttons, as they were built: a repeat of one of these is a double tap (or a press
# after its step), answered quietly; anything else has expired or was forged.
FLOW_BUTTONS: tuple[tuple[str, ArgSpec], ...] = (
    ("rating", Number(1, 5)),
    ("category", Choice(*CATEGORIES)),
    ("skip", Choice("comment", "photo")),
    ("draft", Choice("complaint")),
)


async def on_stale_button(update: Update, context: CareContext) -> None:
    """A ticket button nothing else took: a flow's button pressed again (or after its step) is
    a quiet no-op; anything else gets "this button has expired"."""
    query = update.callback_query
    if query is None:
        return
    for verb, spec in FLOW_BUTTONS:
        try:
            callbacks.parse(query.data, "tickets", verb, spec)
        except ExpiredButton:
            continue
        await query.answer()
        return
    await refuse_button(query, ExpiredButton(), context.lang)


# ---------------------------------------------------------------------------- registration


def thread_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Run before the features: claim messages that belong to a ticket."""
    return ticket_threads.handlers()


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The flows, customer and staff commands, and buttons, before the fallback handlers."""
    return [
        conversation(),
        CommandHandler("mytickets", cmd_mytickets),
        CallbackQueryHandler(on_csat, pattern=callbacks.pattern("tickets", "csat")),
        *ticket_staff.handlers(),
        # Last: ticket buttons nothing above took (double taps, old messages, forgeries).
        CallbackQueryHandler(on_stale_button, pattern=callbacks.pattern("tickets")),
    ]
