"""First-run helpers: /whoami tells anyone their ids, /setup staffchat picks the staff group."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from care.errors import CareError
from handlers.commands_menu import refresh_staff_commands
from handlers.common import error_text, reply
from handlers.context import CareContext
from handlers.texts import t

GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


async def cmd_whoami(update: Update, context: CareContext) -> None:
    """Anyone: their Telegram user id and, in a group, the chat's id (for config.toml)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if chat.type in GROUPS:
        text = t("setup.whoami_group", context.lang, user_id=user.id, chat_id=chat.id)
    else:
        text = t("setup.whoami", context.lang, user_id=user.id)
    await reply(update.effective_message, text)


async def cmd_setup(update: Update, context: CareContext) -> None:
    """An owner, in a group: `/setup staffchat` makes that group the staff chat."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None:
        return
    if list(context.args or []) != ["staffchat"]:
        await reply(message, t("setup.usage", context.lang))
        return
    if chat.type not in GROUPS:
        await reply(message, t("setup.staffchat_in_group", context.lang))
        return
    try:
        result = await context.care.ops.set_staff_chat(user.id, chat.id)
    except CareError as exc:
        await reply(message, error_text(exc, context.lang))
        return
    if result.config_chat_id is not None:
        text = t("setup.staffchat_config_wins", context.lang, config_chat_id=result.config_chat_id)
    else:
        text = t("setup.staffchat_set", context.lang, chat_id=result.chat_id)
        await refresh_staff_commands(context.bot, chat.id, is_staff=True)
    await reply(message, text)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """/whoami and /setup."""
    return [CommandHandler("whoami", cmd_whoami), CommandHandler("setup", cmd_setup)]
