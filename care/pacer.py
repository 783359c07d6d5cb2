"""Pacing for bulk sends: a rate overall and a minimum spacing per chat."""

from __future__ import annotations

import asyncio
import time as monotonic_time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Pacer:
    """Spaces sends: `rate` per second overall and one per `per_chat` seconds per chat.

    Slots are scheduled from the previous slot, not from the end of the previous send, so the
    configured rate is reached when sends are fast; a slow send (a 429 the messenger slept on)
    moves the next slot later instead of causing a catch-up burst, beyond the `catch_up`
    seconds of lateness a bulk sender may make up.
    """

    rate: float
    per_chat: float = 1.0
    monotonic: Callable[[], float] = monotonic_time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    # Seconds of lateness (slow sends) made up by sending early: a burst of at most
    # catch_up × rate messages, never faster per chat.
    catch_up: float = 0.0
    _next: float = 0.0
    _chats: dict[int, float] = field(default_factory=dict)

    async def wait(self, chat_id: int) -> None:
        """Wait for the next slot free for this chat."""
        now = self.monotonic()
        slot = max(self._next, now - self.catch_up)
        sent_at = max(slot, now, self._chats.get(chat_id, -1e9) + self.per_chat)
        if sent_at > now:
            await self.sleep(sent_at - now)
        self._next = max(slot, sent_at - self.catch_up) + 1.0 / self.rate
        if len(self._chats) > 10_000:
            self._chats = {k: v for k, v in self._chats.items() if v > sent_at - self.per_chat}
        self._chats[chat_id] = sent_at
