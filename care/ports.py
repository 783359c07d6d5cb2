"""Ports to the outside world that `care` needs and `bot` implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class SendStatus(StrEnum):
    """What happened to one outbound message."""

    SENT = "sent"
    BLOCKED = "blocked"  # 403: the user blocked the bot or was deactivated
    NOT_FOUND = "not_found"  # 400: chat not found
    FAILED = "failed"  # retried and still failing (timeouts, 5xx)

    @property
    def unreachable(self) -> bool:
        """The chat cannot get messages from us until it writes again (403, chat not found)."""
        return self in (SendStatus.BLOCKED, SendStatus.NOT_FOUND)


@dataclass(frozen=True, slots=True)
class Label:
    """A field value to translate: the catalogue text for `key` if there is one, else `text`."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """A field value that is a catalogue text with its own fields, rendered in the message's
    language when sent (a list of them renders one per line)."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message for a chat, as a catalogue key and its fields (never a finished text)."""

    chat_id: int
    key: str
    lang: str
    fields: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[str, str], ...] = ()  # (catalogue key, callback data)
    reply_to_message_id: int | None = None
    photo: str | None = None  # a Telegram file id: sent as a photo with the text as caption
    link: tuple[str, str] | None = None  # (catalogue key, https URL): a button that opens it


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of a send: status, Telegram's message id when sent, and the error text."""

    status: SendStatus
    message_id: int | None = None
    error: str | None = None
    # With BLOCKED: the user never opened a private chat with the bot, so it may not write first.
    never_started: bool = False


class Messenger(Protocol):
    """Sends messages to Telegram chats outside a conversation."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; never raises for Telegram's refusals, reports them instead."""
        ...


# Called with a customer id after a fact the relationship stage depends on (a purchase, a
# complaint, a rating) was committed; the stage engine re-evaluates that customer.
CustomerChanged = Callable[[int], Awaitable[None]]


async def ignore_change(customer_id: int) -> None:
    """A CustomerChanged that does nothing (services used without the stage engine)."""
