"""Feedback and complaints, the customer's side: the /feedback and /complaint conversation.

Feedback asks for a 1–5 rating and an optional comment; a complaint for a category, a
description and an optional photo. Either ends with the ticket's number and when to expect an
answer (`confirm_ticket`, also used by the FAQ's 'ask staff' path). While a flow runs, `FLOW_KEY`
is set so the ticket threads (`handlers.ticket_threads`) leave the customer's messages to it.
A complaint starts from /complaint, the menu, or the offer made for free text that reads like
one (`handlers.tickets.offer_complaint`); only the offer's own button files the offered text.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from enum import IntEnum

from telegram import CallbackQuery, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from care import callbacks
from care.callbacks import Choice, Number
from care.errors import CareError
from care.tickets.results import TicketCreated
from care.tickets.service import CATEGORIES
from handlers.common import (
    error_text,
    keyboard,
    remove_buttons,
    reply,
    require_text_message,
)
from handlers.context import CareContext
from handlers.texts import t

FLOW_KEY = "tickets.flow"  # set while a flow collects the customer's messages
DRAFT_KEY = "tickets.draft"  # free text offered as a complaint, until the offer is answered
RATING_KEY, CATEGORY_KEY, TEXT_KEY, PHOTO_KEY = (
    "tickets.rating",
    "tickets.category",
    "tickets.text",
    "tickets.photo",
)
FLOW_TIMEOUT = timedelta(minutes=30)
MAX_DRAFT = 1000
STAY = None  # a ConversationHandler callback returning None keeps the current step


class Flow(IntEnum):
    """The states of the customer's feedback and complaint conversation."""

    RATING = 0
    COMMENT = 1
    CATEGORY = 2
    DESCRIPTION = 3
    PHOTO = 4


async def refuse_button(query: CallbackQuery, exc: CareError, lang: str) -> None:
    """Answer a button whose press was refused (expired, forged, not the caller's)."""
    await query.answer(error_text(exc, lang), show_alert=True)


# ---------------------------------------------------------------------------- customer flows


async def _registered(update: Update, context: CareContext) -> None:
    """Answer a pressed button; NotRegistered before /start (the error handler tells it, on
    the button itself, so the button is answered only after the check)."""
    assert update.effective_user is not None
    await context.care.customers.require(update.effective_user.id)
    if update.callback_query is not None:
        await update.callback_query.answer()


def _start_flow(context: CareContext) -> None:
    """Mark the flow as running and forget what an earlier flow collected."""
    assert context.user_data is not None
    for key in (RATING_KEY, CATEGORY_KEY, TEXT_KEY, PHOTO_KEY, DRAFT_KEY):
        context.user_data.pop(key, None)
    context.user_data[FLOW_KEY] = True


def _end_flow(context: CareContext) -> int:
    if context.user_data is not None:
        for key in (FLOW_KEY, RATING_KEY, CATEGORY_KEY, TEXT_KEY, PHOTO_KEY):
            context.user_data.pop(key, None)
    return ConversationHandler.END


async def cmd_feedback(update: Update, context: CareContext) -> int:
    """/feedback or the menu's Feedback button: ask for a 1–5 rating."""
    await _registered(update, context)
    _start_flow(context)
    return await _ask_rating(update, context, "tickets.feedback_ask_rating")


async def _ask_rating(update: Update, context: CareContext, key: str) -> int:
    stars = [(f"{n} ⭐", callbacks.build("tickets", "rating", n)) for n in range(1, 6)]
    await reply(update.effective_message, t(key, context.lang), reply_markup=keyboard([stars]))
    return Flow.RATING


def _keep_text(update: Update, context: CareContext) -> None:
    """Add the message's text to what the flow collected (it was typed before a button)."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    earlier = str(context.user_data.get(TEXT_KEY) or "")
    context.user_data[TEXT_KEY] = f"{earlier}\n{message.text}" if earlier else message.text or ""


async def on_text_before_rating(update: Update, context: CareContext) -> int:
    """A comment typed before the rating was chosen: kept as the comment; the rating is asked
    again, and its press files the feedback."""
    _keep_text(update, context)
    return await _ask_rating(update, context, "tickets.feedback_rating_after_text")


async def on_rating(update: Update, context: CareContext) -> int | None:
    """Keep the rating and offer to add a comment."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    try:
        (rating,) = callbacks.parse(query.data, "tickets", "rating", Number(1, 5))
        require_text_message(query)
    except CareError as exc:
        await refuse_button(query, exc, context.lang)
        return STAY
    await query.answer()
    context.user_data[RATING_KEY] = rating
    if context.user_data.get(TEXT_KEY):  # the comment came first
        await query.edit_message_reply_markup(None)
        return await _file_feedback(update, context, str(context.user_data[TEXT_KEY]))
    skip = keyboard(
        [[(t("tickets.button_skip", context.lang), callbacks.build("tickets", "skip", "comment"))]]
    )
    text = t("tickets.feedback_ask_comment", context.lang, stars="⭐" * int(rating))
    await query.edit_message_text(text, reply_markup=skip)
    return Flow.COMMENT


async def on_comment(update: Update, context: CareContext) -> int | None:
    """The comment (text) or Skip: create the feedback ticket."""
    message = update.effective_message
    comment = message.text if message is not None and update.callback_query is None else None
    if update.callback_query is not None and not await _skipped(update, context, "comment"):
        return STAY
    return await _file_feedback(update, context, comment)


async def _file_feedback(update: Update, context: CareContext, comment: str | None) -> int:
    assert context.user_data is not None and update.effective_user is not None
    rating = int(context.user_data.get(RATING_KEY, 5))
    created = await context.care.tickets.open_feedback(update.effective_user.id, rating, comment)
    await confirm_ticket(update, context, "tickets.feedback_done", created)
    return _end_flow(context)


async def cmd_complaint(update: Update, context: CareContext) -> int:
    """/complaint or the menu's Complaint button: ask for a category, then a description.

    An offer of free text as a complaint that was not pressed is dropped here: only its own
    button files that text (`on_offer`).
    """
    await _registered(update, context)
    _start_flow(context)
    return await _ask_category(update, context)


async def on_offer(update: Update, context: CareContext) -> int | None:
    """The offer's button: a complaint whose description is the offered text."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    try:
        callbacks.parse(query.data, "tickets", "draft", Choice("complaint"))
    except CareError as exc:
        await refuse_button(query, exc, context.lang)
        return STAY
    draft = context.user_data.get(DRAFT_KEY)
    if draft is None and context.user_data.get(FLOW_KEY):
        await query.answer()  # a second tap: the flow it started is running
        return STAY
    await _registered(update, context)
    _start_flow(context)
    if draft:
        context.user_data[TEXT_KEY] = draft
    return await _ask_category(update, context)


async def _ask_category(
    update: Update, context: CareContext, key: str = "tickets.complaint_ask_category"
) -> int:
    names = [
        (t(f"tickets.category_{c}", context.lang), callbacks.build("tickets", "category", c))
        for c in CATEGORIES
    ]
    rows = [names[0:2], names[2:4], names[4:]]
    await reply(update.effective_message, t(key, context.lang), reply_markup=keyboard(rows))
    return Flow.CATEGORY


async def on_text_before_category(update: Update, context: CareContext) -> int:
    """The description typed before a category was chosen: kept (nothing the customer wrote is
    lost), and only the category is asked again."""
    _keep_text(update, context)
    return await _ask_category(update, context, "tickets.complaint_category_after_text")


async def on_category(update: Update, context: CareContext) -> int | None:
    """Keep the category; the offered text (from the offer's button) is the description."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    try:
        (category,) = callbacks.parse(query.data, "tickets", "category", Choice(*CATEGORIES))
        require_text_message(query)
    except CareError as exc:
        await refuse_button(query, exc, context.lang)
        return STAY
    await query.answer()
    context.user_data[CATEGORY_KEY] = category
    await query.edit_message_text(
        f"{t('tickets.complaint_ask_category', context.lang)}\n→ "
        f"{t(f'tickets.category_{category}', context.lang)}"
    )
    if context.user_data.get(TEXT_KEY):
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
    data = callbacks.build("tickets", "skip", "photo")
    skip = keyboard([[(t("tickets.button_skip", context.lang), data)]])
    await reply(
        update.effective_message, t("tickets.complaint_ask_photo", context.lang), reply_markup=skip
    )
    return Flow.PHOTO


async def on_photo(update: Update, context: CareContext) -> int | None:
    """The optional photo, or Skip: create the complaint."""
    assert context.user_data is not None
    message = update.effective_message
    if update.callback_query is not None:
        if not await _skipped(update, context, "photo"):
            return STAY
    elif message is not None and message.photo:
        context.user_data[PHOTO_KEY] = message.photo[-1].file_id
        if message.caption:
            context.user_data[TEXT_KEY] = (
                f"{context.user_data.get(TEXT_KEY, '')}\n{message.caption}"
            )
    return await _finish_complaint(update, context)


async def _skipped(update: Update, context: CareContext, step: str) -> bool:
    """A Skip press for this step: answered and its button removed; False if refused."""
    query = update.callback_query
    assert query is not None
    try:
        callbacks.parse(query.data, "tickets", "skip", Choice(step))
    except CareError as exc:
        await refuse_button(query, exc, context.lang)
        return False
    await query.answer()
    await remove_buttons(query)
    return True


async def _finish_complaint(update: Update, context: CareContext) -> int:
    assert context.user_data is not None and update.effective_user is not None
    created = await context.care.tickets.open_complaint(
        update.effective_user.id,
        str(context.user_data.get(CATEGORY_KEY, "other")),
        str(context.user_data.get(TEXT_KEY, "")),
        context.user_data.get(PHOTO_KEY),
    )
    await confirm_ticket(update, context, "tickets.complaint_done", created)
    return _end_flow(context)


async def confirm_ticket(
    update: Update, context: CareContext, key: str, created: TicketCreated
) -> None:
    """Tell the customer the number and when to expect an answer; replies to it thread in."""
    lang, hours = context.lang, created.expect_hours
    if hours <= 0:
        expect = t("tickets.expect_soon", lang)
    elif created.business_hours:
        expect = t("tickets.expect_business_hours", lang, hours=f"{hours:g}")
    else:
        expect = t("tickets.expect_hours", lang, hours=f"{hours:g}")
    chat = update.effective_chat
    assert chat is not None
    sent = await context.bot.send_message(
        chat.id, t(key, lang, number=created.ticket.number, expect=expect)
    )
    await context.care.tickets.remember_post(created.ticket.id, chat.id, sent.message_id)


async def cmd_cancel(update: Update, context: CareContext) -> int:
    """/cancel inside a flow: drop everything collected."""
    await reply(update.effective_message, t("tickets.cancelled", context.lang))
    return _end_flow(context)


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
        CallbackQueryHandler(cmd_complaint, pattern=r"^menu:open:complaint$"),
        CallbackQueryHandler(on_offer, pattern=callbacks.pattern("tickets", "draft")),
    ]
    states = {
        Flow.RATING: [
            CallbackQueryHandler(on_rating, pattern=callbacks.pattern("tickets", "rating")),
            MessageHandler(text, on_text_before_rating),
        ],
        Flow.COMMENT: [
            MessageHandler(text, on_comment),
            CallbackQueryHandler(on_comment, pattern=callbacks.pattern("tickets", "skip")),
        ],
        Flow.CATEGORY: [
            CallbackQueryHandler(on_category, pattern=callbacks.pattern("tickets", "category")),
            MessageHandler(text, on_text_before_category),
        ],
        Flow.DESCRIPTION: [
            MessageHandler(text | filters.PHOTO, on_description),
            MessageHandler(~filters.COMMAND, on_need_text),
        ],
        Flow.PHOTO: [
            MessageHandler(filters.PHOTO, on_photo),
            CallbackQueryHandler(on_photo, pattern=callbacks.pattern("tickets", "skip")),
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
