"""Small pieces every handler module shares: replies, keyboards and error texts."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from telegram.error import BadRequest

from care.errors import CareError, ExpiredButton
from care.ports import Label
from handlers.texts import label, t

log = logging.getLogger(__name__)


def error_text(exc: CareError, lang: str) -> str:
    """The catalogue text for a domain error: its key, its fields, labels translated."""
    fields = {
        name: label(value.key, value.text, lang) if isinstance(value, Label) else value
        for name, value in exc.fields.items()
    }
    return t(exc.key, lang, **fields)


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (text, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def reply(message: Message | None, text: str, **kwargs: object) -> None:
    """Reply if there is a message to reply to."""
    if message is not None:
        await message.reply_text(text, **kwargs)  # type: ignore[arg-type]


async def edit_quietly(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the button's message; a second tap that would change nothing stays quiet."""
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def remove_buttons(query: CallbackQuery) -> None:
    """Take the buttons off the button's message; when it has none (a second tap, or a press
    forged on another message) there is nothing to edit and nothing to say."""
    if isinstance(query.message, Message) and query.message.reply_markup is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def require_text_message(query: CallbackQuery) -> None:
    """ExpiredButton unless the button's message is a text the handler can replace: these
    buttons live only on texts, so one pressed on a photo or a sticker was forged."""
    if isinstance(query.message, Message) and query.message.text is None:
        raise ExpiredButton()


async def answer_error(query: CallbackQuery, exc: CareError, lang: str) -> None:
    """Answer a button with the domain error's text (e.g. "this button has expired")."""
    await query.answer(error_text(exc, lang), show_alert=True)
