"""`carebot init`: check the token with getMe, write a commented config.toml, then wait for the
owner to open the bot with a one-time code and write their id into [staff] owners."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, User
from telegram.constants import ChatType

from bot.config import TOKEN_ENV, load_settings
from handlers.texts import t

POLL_SECONDS = 10
MESSAGES = ["message"]


class InitError(Exception):
    """`carebot init` cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Answers:
    """What the operator gave `init`."""

    token: str
    token_from_env: bool
    base_url: str | None = None


def config_text(answers: Answers, username: str, owners: list[int]) -> str:
    """A small, commented config.toml (config.example.toml documents every other key)."""
    token = (
        f'# Read from ${TOKEN_ENV} (not written here): set it wherever carebot runs.\ntoken = ""\n'
        if answers.token_from_env
        else "# The token from @BotFather. Keep this file private: it is written with mode 600.\n"
        f"token = {json.dumps(answers.token)}\n"
    )
    base_url = f"base_url = {json.dumps(answers.base_url)}\n" if answers.base_url else ""
    owner_list = ", ".join(str(owner) for owner in owners)
    return (
        f"# carebot configuration for @{username}, written by `carebot init`.\n"
        "# config.example.toml documents every key; unknown keys and bad values stop carebot at\n"
        "# start-up with an error naming the key. Check it with `carebot check-config`.\n"
        "\n[telegram]\n"
        f"{token}{base_url}"
        "\n[storage]\n"
        "# The SQLite file; a relative path is beside this file.\n"
        'path = "carebot.sqlite3"\n'
        "\n[staff]\n"
        "# Owners' Telegram user ids (full rights). Anyone can learn theirs with /whoami.\n"
        f"owners = [{owner_list}]\n"
        "# The staff group: add the bot to it and send /setup staffchat there as an owner, or\n"
        "# set chat_id to the id /whoami shows in the group (this line then wins).\n"
        "# chat_id = -1001234567890\n"
        "\n[business]\n"
        "# The name the bot introduces itself with.\n"
        'name = "our shop"\n'
        "\n[backup]\n"
        "# Online backups beside the database, verified and recorded; see the README.\n"
        'dir = "backups"\n'
        "interval_hours = 24\n"
    )


def write_config(path: Path, text: str) -> None:
    """Write the config readable by its owner only (it may hold the token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


async def wait_for_owner(bot: Bot, code: str, wait_seconds: float) -> User:
    """The first user who sends `/start <code>` in a private chat with the bot."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    offset = 0
    while (left := deadline - loop.time()) > 0:
        updates = await bot.get_updates(
            offset=offset,
            timeout=int(min(POLL_SECONDS, max(left, 1))),
            allowed_updates=["message"],
        )
        for update in updates:
            offset = update.update_id + 1
            message, user = update.message, update.effective_user
            if message is None or user is None or message.chat.type != ChatType.PRIVATE:
                continue
            if (message.text or "").split() == ["/start", code]:
                await bot.get_updates(offset=offset, timeout=0)  # confirm it: not handled twice
                return user
    raise InitError(
        f"nobody sent the code within {int(wait_seconds)} s: run `carebot init --force` again,"
        " or put your id (from /whoami) into [staff] owners yourself"
    )


async def init(
    path: Path,
    answers: Answers,
    say: Callable[[str], None],
    *,
    wait_seconds: float,
    code: str | None = None,
) -> int:
    """Check the token, write the config, wait for the owner and write their id."""
    kwargs = {"base_url": answers.base_url} if answers.base_url else {}
    async with Bot(answers.token, **kwargs) as bot:  # type: ignore[arg-type]
        me = await bot.get_me()
        username = me.username or str(me.id)
        say(f"token ok: the bot is @{username} ({me.first_name})")
        write_config(path, config_text(answers, username, []))
        say(f"wrote {path}")
        code = code or secrets.token_hex(4)
        say(
            f"Now, from your own Telegram account, open https://t.me/{username}?start={code}"
            f" and press Start (or send: /start {code}). Waiting up to {int(wait_seconds)} s…"
        )
        owner = await wait_for_owner(bot, code, wait_seconds)
        lang = "zh" if (owner.language_code or "").startswith("zh") else "en"
        await bot.send_message(owner.id, t("setup.init_owner", lang, user_id=owner.id))
    write_config(path, config_text(answers, username, [owner.id]))
    load_settings(path, environ={TOKEN_ENV: answers.token})  # what was written must load
    say(
        f"owner {owner.id} ({owner.full_name}) written to [staff] owners of {path}.\n"
        f"Start the bot: carebot run --config {path}"
        + (f"  (with ${TOKEN_ENV} set)" if answers.token_from_env else "")
    )
    return 0
