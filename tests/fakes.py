"""Test doubles: a clock that only moves when told, and a messenger that records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from care.ports import OutboundMessage, SendResult, SendStatus

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class FakeClock:
    """A Clock for tests: starts at a fixed moment and moves with `advance`."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start

    def now(self) -> datetime:
        """The current fake time."""
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move time forward by `delta` (or timedelta(**kwargs)) and return the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a moment."""
        self._now = moment


class RecordingMessenger:
    """A Messenger that records what it would send; `statuses` scripts failures per chat."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.statuses: dict[int, SendStatus] = {}

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record the message and report the scripted status (SENT by default)."""
        status = self.statuses.get(message.chat_id, SendStatus.SENT)
        if status is SendStatus.SENT:
            self.sent.append(message)
            return SendResult(status, message_id=len(self.sent))
        return SendResult(status, error=status.value)
