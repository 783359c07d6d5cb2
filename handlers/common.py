"""Small pieces every handler module shares: replies, error texts and the staff gate."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest

from care.errors import CareError, ExpiredButton, NotStaff
from care.ports import Label
from care.roles import Role
from handlers.context import CareContext
from handlers.texts import label, t

log = logging.getLogger(__name__)

Handler = Callable[[Update, CareContext], Coroutine[Any, Any, None]]
StaffAction = Callable[[Update, CareContext, Role], Awaitable[str | None]]
NeededRole = Role | Callable[[Sequence[str]], Role]


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


def staff_command(
    action: str, needed: NeededRole = Role.STAFF
) -> Callable[[StaffAction], Handler]:
    """Gate a staff command: check the stored role on every call and audit the outcome."""

    def decorate(func: StaffAction) -> Handler:
        @functools.wraps(func)
        async def handler(update: Update, context: CareContext) -> None:
            user, message = update.effective_user, update.effective_message
            if user is None or message is None:
                return
            args = list(context.args or [])
            arguments = " ".join(args)
            role_needed = needed(args) if callable(needed) else needed
            try:
                role = await context.care.staff.authorize(user.id, action, arguments, role_needed)
                result = await func(update, context, role)
            except CareError as exc:
                if not isinstance(exc, NotStaff):
                    await context.care.staff.audit(
                        user.id, action, arguments, f"error: {type(exc).__name__}"
                    )
                await message.reply_text(error_text(exc, context.lang))
                return
            except Exception as exc:
                # E.g. the confirmation could not be sent after the action was committed: the
                # attempt is still on record, and the error handler tells the user.
                await context.care.staff.audit(
                    user.id, action, arguments, f"interrupted: {type(exc).__name__}"
                )
                raise
            await context.care.staff.audit(user.id, action, arguments, result or "ok")

        return handler

    return decorate


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
