"""Feedback and complaints, the customer's side: the /feedback and /complaint conversation.

Feedback asks for a 1–5 rating and an optional comment; a complaint for a category, a
description and an optional photo. Either ends with the ticket's number and when to expect an
answer (`confirm_ticket`, also used by the FAQ's 'ask staff' path). While a flow runs, `FLOW_KEY`
is set so the ticket threads (`handlers.ticket_threads`) leave the customer's messages to it.
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from enum import IntEnum

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from care.tickets import CATEGORIES, TicketCreated
from handlers.common import keyboard, reply
from handlers.context import CareContext
from handlers.texts import t
from storage.customers import CustomerRow

log = logging.getLogger(__name__)

FLOW_KEY = "tickets.flow"  # set while a flow collects the customer's messages
DRAFT_KEY = "tickets.draft"  # free text offered as a complaint
RATING_KEY, CATEGORY_KEY, TEXT_KEY, PHOTO_KEY = (
    "tickets.rating",
    "tickets.category",
    "tickets.text",
    "tickets.photo",
)
FLOW_TIMEOUT = timedelta(minutes=30)
MAX_DRAFT = 1000


class Flow(IntEnum):
    """The states of the customer's feedback and complaint conversation."""

    RATING = 0
    COMMENT = 1
    CATEGORY = 2
    DESCRIPTION = 3
    PHOTO = 4


# ---------------------------------------------------------------------------- customer flows


async def _start_flow(update: Update, context: CareContext) -> CustomerRow | None:
    """Answer a pressed button, require a registered customer and mark the flow as running."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    user = update.effective_user
    customer = await context.care.customers.find(user.id) if user else None
    if customer is None:
        await reply(update.effective_message, t("common.press_start", context.lang))
        return None
    assert context.user_data is not None
    for key in (RATING_KEY, CATEGORY_KEY, TEXT_KEY, PHOTO_KEY):
        context.user_data.pop(key, None)
    context.user_data[FLOW_KEY] = True
    return customer


def _end_flow(context: CareContext) -> int:
    if context.user_data is not None:
        for key in (FLOW_KEY, RATING_KEY, CATEGORY_KEY, TEXT_KEY, PHOTO_KEY):
            context.user_data.pop(key, None)
    return ConversationHandler.END


async def cmd_feedback(update: Update, context: CareContext) -> int:
    """/feedback or the menu's Feedback button: ask for a 1–5 rating."""
    if await _start_flow(update, context) is None:
        return _end_flow(context)
    stars = [(f"{n} ⭐", f"tickets:rating:{n}") for n in range(1, 6)]
    markup = keyboard([stars])
    await reply(
        update.effective_message,
        t("tickets.feedback_ask_rating", context.lang),
        reply_markup=markup,
    )
    return Flow.RATING


async def on_rating(update: Update, context: CareContext) -> int:
    """Keep the rating and offer to add a comment."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await query.answer()
    rating = int((query.data or "").rsplit(":", 1)[1])
    context.user_data[RATING_KEY] = rating
    skip = keyboard([[(t("tickets.button_skip", context.lang), "tickets:skip:comment")]])
    text = t("tickets.feedback_ask_comment", context.lang, stars="⭐" * rating)
    await query.edit_message_text(text, reply_markup=skip)
    return Flow.COMMENT


async def on_comment(update: Update, context: CareContext) -> int:
    """The comment (text) or Skip: create the feedback ticket."""
    message = update.effective_message
    comment = message.text if message is not None and update.callback_query is None else None
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_reply_markup(None)
    assert context.user_data is not None and update.effective_user is not None
    customer = await context.care.customers.require(update.effective_user.id)
    rating = int(context.user_data.get(RATING_KEY, 5))
    created = await context.care.tickets.open_feedback(customer.id, rating, comment)
    await confirm_ticket(update, context, "tickets.feedback_done", created)
    return _end_flow(context)


async def cmd_complaint(update: Update, context: CareContext) -> int:
    """/complaint, the menu's Complaint button or the offer button: ask for a category."""
    if await _start_flow(update, context) is None:
        return _end_flow(context)
    names = [
        (t(f"tickets.category_{c}", context.lang), f"tickets:category:{c}") for c in CATEGORIES
    ]
    rows = [names[0:2], names[2:4], names[4:]]
    await reply(
        update.effective_message,
        t("tickets.complaint_ask_category", context.lang),
        reply_markup=keyboard(rows),
    )
    return Flow.CATEGORY


async def on_category(update: Update, context: CareContext) -> int:
    """Keep the category; use the offered draft as the description if there is one."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await query.answer()
    category = (query.data or "").rsplit(":", 1)[1]
    context.user_data[CATEGORY_KEY] = category
    await query.edit_message_text(
        f"{t('tickets.complaint_ask_category', context.lang)}\n→ "
        f"{t(f'tickets.category_{category}', context.lang)}"
    )
    draft = context.user_data.pop(DRAFT_KEY, None)
    if draft:
        context.user_data[TEXT_KEY] = draft
        return await _ask_photo(update, context)
    await reply(update.effective_message, t("tickets.complaint_ask_text", context.lang))
    return Flow.DESCRIPTION


async def on_description(update: Update, context: CareContext) -> int:
    """The description; a captioned photo is description and photo at once."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    if message.photo:
        context.user_data[PHOTO_KEY] = message.photo[-1].file_id
        if not message.caption:
            await message.reply_text(t("tickets.complaint_ask_text", context.lang))
            return Flow.DESCRIPTION
        context.user_data[TEXT_KEY] = message.caption
        return await _finish_complaint(update, context)
    context.user_data[TEXT_KEY] = message.text or ""
    if PHOTO_KEY in context.user_data:
        return await _finish_complaint(update, context)
    return await _ask_photo(update, context)


async def _ask_photo(update: Update, context: CareContext) -> int:
    skip = keyboard([[(t("tickets.button_skip", context.lang), "tickets:skip:photo")]])
    await reply(
        update.effective_message, t("tickets.complaint_ask_photo", context.lang), reply_markup=skip
    )
    return Flow.PHOTO


async def on_photo(update: Update, context: CareContext) -> int:
    """The optional photo, or Skip: create the complaint."""
    assert context.user_data is not None
    message = update.effective_message
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_reply_markup(None)
    elif message is not None and message.photo:
        context.user_data[PHOTO_KEY] = message.photo[-1].file_id
        if message.caption:
            context.user_data[TEXT_KEY] = (
                f"{context.user_data.get(TEXT_KEY, '')}\n{message.caption}"
            )
    return await _finish_complaint(update, context)


async def _finish_complaint(update: Update, context: CareContext) -> int:
    assert context.user_data is not None and update.effective_user is not None
    customer = await context.care.customers.require(update.effective_user.id)
    photo = context.user_data.get(PHOTO_KEY)
    created = await context.care.tickets.open_complaint(
        customer.id,
        str(context.user_data.get(CATEGORY_KEY, "other")),
        str(context.user_data.get(TEXT_KEY, "")),
        photo,
    )
    await confirm_ticket(update, context, "tickets.complaint_done", created)
    staff_chat = context.care.settings.staff.chat_id
    if photo and created.posted and staff_chat is not None:
        try:  # staff see the photo itself under the ticket's post
            await context.bot.send_photo(
                staff_chat,
                photo,
                caption=f"#{created.ticket.number}",
                reply_to_message_id=created.ticket.staff_message_id,
            )
        except TelegramError as exc:
            log.warning("ticket photo not posted number=%s error=%s", created.ticket.number, exc)
    return _end_flow(context)


async def confirm_ticket(
    update: Update, context: CareContext, key: str, created: TicketCreated
) -> None:
    """Tell the customer the number and when to expect an answer; replies to it thread in."""
    lang, hours = context.lang, created.expect_hours
    if hours <= 0:
        expect = t("tickets.expect_soon", lang)
    elif context.care.settings.tickets.business_hours:
        expect = t("tickets.expect_business_hours", lang, hours=f"{hours:g}")
    else:
        expect = t("tickets.expect_hours", lang, hours=f"{hours:g}")
    chat = update.effective_chat
    assert chat is not None
    sent = await context.bot.send_message(
        chat.id, t(key, lang, number=created.ticket.number, expect=expect)
    )
    await context.care.tickets.remember_post(created.ticket, chat.id, sent.message_id)


async def cmd_cancel(update: Update, context: CareContext) -> int:
    """/cancel inside a flow: drop everything collected."""
    await reply(update.effective_message, t("tickets.cancelled", context.lang))
    return _end_flow(context)


async def cmd_cancel_outside(update: Update, context: CareContext) -> None:
    """/cancel with no flow running."""
    await reply(update.effective_message, t("tickets.nothing_to_cancel", context.lang))


async def on_unexpected(update: Update, context: CareContext) -> None:
    """Something the current step does not take: say what it needs; stay in the step."""
    await reply(update.effective_message, t("tickets.use_buttons", context.lang))


async def on_need_text(update: Update, context: CareContext) -> None:
    """A sticker, voice note or the like where a description is expected."""
    await reply(update.effective_message, t("tickets.need_text", context.lang))


async def on_need_photo(update: Update, context: CareContext) -> None:
    """Text where the optional photo is expected."""
    await reply(update.effective_message, t("tickets.need_photo", context.lang))


async def on_timeout(update: Update, context: CareContext) -> None:
    """The flow was abandoned: forget what it collected."""
    _end_flow(context)


# ---------------------------------------------------------------------------- registration


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """The /feedback and /complaint conversation, with its steps, timeout and fallbacks."""
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND
    entry = [
        CommandHandler("feedback", cmd_feedback, filters=private),
        CommandHandler("complaint", cmd_complaint, filters=private),
        CallbackQueryHandler(cmd_feedback, pattern=r"^menu:open:feedback$"),
        CallbackQueryHandler(cmd_complaint, pattern=r"^(menu:open|tickets:draft):complaint$"),
    ]
    states = {
        Flow.RATING: [CallbackQueryHandler(on_rating, pattern=r"^tickets:rating:[1-5]$")],
        Flow.COMMENT: [
            MessageHandler(text, on_comment),
            CallbackQueryHandler(on_comment, pattern=r"^tickets:skip:comment$"),
        ],
        Flow.CATEGORY: [
            CallbackQueryHandler(
                on_category, pattern=rf"^tickets:category:({'|'.join(CATEGORIES)})$"
            )
        ],
        Flow.DESCRIPTION: [
            MessageHandler(text | filters.PHOTO, on_description),
            MessageHandler(~filters.COMMAND, on_need_text),
        ],
        Flow.PHOTO: [
            MessageHandler(filters.PHOTO, on_photo),
            CallbackQueryHandler(on_photo, pattern=r"^tickets:skip:photo$"),
            MessageHandler(~filters.COMMAND, on_need_photo),
        ],
        ConversationHandler.TIMEOUT: [TypeHandler(Update, on_timeout)],
    }
    with warnings.catch_warnings():
        # per_message=False is right here (one flow per customer chat, across messages); PTB
        # warns that CallbackQueryHandlers are then tracked per chat, which is what we want.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=entry,  # type: ignore[arg-type]
            states=states,  # type: ignore[arg-type]
            fallbacks=[
                CommandHandler("cancel", cmd_cancel),
                MessageHandler(~filters.COMMAND, on_unexpected),
            ],
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            conversation_timeout=FLOW_TIMEOUT,
            name="tickets",
        )
