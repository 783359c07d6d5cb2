"""Telegram's my_chat_member updates: a customer blocking or unblocking the bot."""

from __future__ import annotations

from telegram import Chat, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from handlers.context import CareContext


async def on_my_chat_member(update: Update, context: CareContext) -> None:
    """The bot's status in a private chat changed: the customer is (un)reachable at once."""
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.PRIVATE:
        return  # the bot added to or removed from a group: not a customer's reachability
    await context.care.customers.membership_changed(
        change.from_user.id, change.new_chat_member.status
    )


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)]
