"""`carebot outreach plan` (dry run) and `carebot outreach run-once` (plan and send, then exit)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from typing import TextIO

from telegram import Bot

from bot.config import Settings
from bot.database import migrated_database
from bot.messenger import TelegramMessenger
from bot.request import BotApiRequest
from care.clock import Clock, SystemClock
from care.ports import OutboundMessage, SendResult, SendStatus
from care.services import CareServices


class OffsetClock:
    """The system clock moved to start at a given moment (for `run-once --now`)."""

    def __init__(self, start: datetime, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset: timedelta = start - self._base.now()

    def now(self) -> datetime:
        """The given moment plus the time elapsed since."""
        return self._base.now() + self._offset


class NoMessenger:
    """A dry run sends nothing."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Refuse: nothing is sent in a dry run."""
        return SendResult(SendStatus.FAILED, error="dry run")


def parse_now(text: str | None) -> datetime | None:
    """An ISO-8601 moment with its offset; ValueError without one."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"--now needs a UTC offset, e.g. {text}+00:00")
    return moment


async def plan(settings: Settings, day: date, *, as_json: bool, out: TextIO | None = None) -> int:
    """Print who would get what on `day`; write nothing."""
    out = out or sys.stdout
    from bot.app import care_settings

    async with migrated_database(settings.storage.path) as db:
        care = CareServices.build(db, SystemClock(), care_settings(settings), NoMessenger())
        items = await care.outreach.preview(day)
    if as_json:
        for item in items:
            out.write(json.dumps(item.as_json(), ensure_ascii=False) + "\n")
        return 0
    for item in items:
        what = f"due {item.due_at}" if item.status == "due" else f"skipped ({item.reason})"
        out.write(f"{item.kind:8} {item.occasion:22} customer {item.customer_id:>8} {what}\n")
    counts = Counter(item.status for item in items)
    out.write(f"{day}: {counts['due']} due, {counts['skipped']} skipped\n")
    return 0


async def run_once(
    settings: Settings, now: datetime | None, out: TextIO | None = None
) -> tuple[Counter[str], Counter[str]]:
    """Plan and send what is due at `now` through the Bot API, then return the counts."""
    out = out or sys.stdout
    from bot.app import care_settings

    clock: Clock = OffsetClock(now) if now is not None else SystemClock()
    async with migrated_database(settings.storage.path) as db:
        bot = Bot(
            settings.telegram.token,
            base_url=settings.telegram.base_url or "https://api.telegram.org/bot",
            base_file_url=settings.telegram.base_file_url or "https://api.telegram.org/file/bot",
            request=BotApiRequest(),
        )
        async with bot:
            care = CareServices.build(db, clock, care_settings(settings), TelegramMessenger(bot))
            planned, sent = await care.outreach.run_once()
    out.write(
        "planned: "
        + (" ".join(f"{k}={v}" for k, v in sorted(planned.items()) if v) or "nothing")
        + "\nsent: "
        + (" ".join(f"{k}={v}" for k, v in sorted(sent.items()) if v) or "nothing")
        + "\n"
    )
    return planned, sent
