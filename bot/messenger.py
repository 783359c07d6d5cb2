"""Implements care's Messenger with the PTB Bot: the one place that maps Telegram's failures."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from care.ports import Label, OutboundMessage, SendResult, SendStatus, Text
from handlers.texts import label, t

log = logging.getLogger(__name__)


def rendered(value: Any, lang: str) -> Any:
    """A field value as text: a label translated, a nested text rendered, a list one per line."""
    if isinstance(value, Label):
        return label(value.key, value.text, lang)
    if isinstance(value, Text):
        return t(value.key, lang, **{k: rendered(v, lang) for k, v in value.fields.items()})
    if isinstance(value, list | tuple):
        return "\n".join(str(rendered(item, lang)) for item in value)
    return value


class TelegramMessenger:
    """Sends catalogue messages; waits out 429s; reports 403, 400, 5xx and timeouts."""

    def __init__(self, bot: Any, *, max_attempts: int = 4) -> None:
        self._bot = bot
        self._max_attempts = max_attempts

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; never raises for Telegram's refusals."""
        text = rendered(Text(message.key, message.fields), message.lang)
        rows = [
            [InlineKeyboardButton(t(key, message.lang), callback_data=data)]
            for key, data in message.buttons
        ]
        if message.link is not None:
            rows.insert(
                0, [InlineKeyboardButton(t(message.link[0], message.lang), url=message.link[1])]
            )
        markup = InlineKeyboardMarkup(rows) if rows else None
        error = "no attempt"
        for attempt in range(1, self._max_attempts + 1):
            try:
                if message.photo is not None:
                    sent = await self._bot.send_photo(
                        message.chat_id,
                        message.photo,
                        caption=text,
                        reply_markup=markup,
                        reply_to_message_id=message.reply_to_message_id,
                    )
                else:
                    sent = await self._bot.send_message(
                        message.chat_id,
                        text,
                        reply_markup=markup,
                        reply_to_message_id=message.reply_to_message_id,
                    )
                return SendResult(SendStatus.SENT, message_id=sent.message_id)
            except RetryAfter as exc:
                error = f"retry_after {exc.retry_after}"
                await asyncio.sleep(_seconds(exc.retry_after))
            except Forbidden as exc:
                never_started = "can't initiate conversation" in exc.message.lower()
                return SendResult(
                    SendStatus.BLOCKED, error=exc.message, never_started=never_started
                )
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    return SendResult(SendStatus.NOT_FOUND, error=exc.message)
                return SendResult(SendStatus.FAILED, error=exc.message)
            except TimedOut as exc:
                # The request may have reached Telegram: resending could deliver it twice.
                return SendResult(SendStatus.FAILED, error=f"timeout: {exc.message}")
            except NetworkError as exc:
                # 5xx and refused connections were already repeated by bot/request.py; the
                # outbox tries again later.
                return SendResult(SendStatus.FAILED, error=f"{type(exc).__name__}: {exc.message}")
            log.info("send retry chat_id=%s attempt=%s error=%s", message.chat_id, attempt, error)
        return SendResult(SendStatus.FAILED, error=error)


def _seconds(retry_after: Any) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB settings."""
    total = getattr(retry_after, "total_seconds", None)
    return float(total() if total else retry_after)


class OfflineMessenger:
    """A Messenger for command-line tools that have no bot: reports every send as failed."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver nothing; say so."""
        return SendResult(SendStatus.FAILED, error="no bot connection in this command")
