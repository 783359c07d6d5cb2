"""Sending the outbox: one message at a time, paced under Telegram's limits, at most once.

Every rule is checked again when a row is due: opt-outs, reachability, open complaints, the
frequency cap, the grace window (`expires_at`; birthdays: the local day) and quiet hours (the row
is held until the local morning). A row moves queued → sending → sent | failed | skipped | missed,
or back to queued after a send that Telegram did not deliver (see Failures below).

Crash policy (at most once): a row found in 'sending' when the sender starts was being sent when
the process died; Telegram may or may not have delivered it, and we cannot ask. It is marked
failed 'interrupted' and never sent again: a lost greeting is better than a duplicate one.

Failures: 403 and "chat not found" mark the row failed and the customer unreachable. A timeout
(the messenger's error starts with "timeout") may have been delivered: failed 'timeout', never
resent. Any other failure (5xx, network errors, 429 after the messenger's retries) means Telegram
did not deliver: the row goes back to 'queued', due `RETRY_DELAY` later (within its grace window;
past it: missed 'send_failed'). The birthday and holiday bonuses are keyed by occasion, so a
resend grants none again and promises the points already granted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from care import callbacks
from care.clock import Clock, iso, parse_iso
from care.loyalty.service import LoyaltyService
from care.outreach.holidays import Holiday
from care.outreach.rules import (
    after_quiet_hours,
    in_quiet_hours,
    refusal,
    stored_birthday,
    zone_of,
)
from care.pacer import Pacer
from care.ports import Label, Messenger, OutboundMessage, SendStatus
from care.settings import LocaleSettings, OutreachSettings
from storage import customers as customers_repo
from storage import outreach as repo
from storage.db import Database
from storage.outreach import Candidate

log = logging.getLogger(__name__)
RETRY_DELAY = timedelta(minutes=15)
# A FAILED send whose error starts with one of these may have reached the chat: never resent.
TIMEOUT_ERRORS = ("timeout", "timedout")
# A birthday given this recently earns no bonus: no "my birthday is tomorrow" right after joining.
BIRTHDAY_BONUS_WAIT = timedelta(days=30)


def _birthday_too_new(c: Candidate, now: datetime) -> bool:
    first = c.birthday_first_set_at
    return first is not None and now - parse_iso(first) < BIRTHDAY_BONUS_WAIT


def _bought_since(c: Candidate, row: repo.OutboxRow) -> bool:
    """Whether the customer bought after the win-back was planned (or after the purchase the
    lapse followed): the lapse is over, the message would greet a customer who just came."""
    last = c.last_purchase_at
    if last is None:
        return False
    return last > row.created_at or last[:10] != row.occasion.partition(":")[2]


class OutreachSender:
    """Drains the outbox: re-checks each due row, sends it through the Messenger, records it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: OutreachSettings,
        locale: LocaleSettings,
        messenger: Messenger,
        business_name: str,
        promotional: str,
        loyalty: LoyaltyService,
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
        self._locale, self._messenger, self._business = locale, messenger, business_name
        self._promotional = promotional
        self._loyalty = loyalty  # grants birthday and holiday bonuses
        self._calendar = settings.holiday_calendar()
        self._drain_lock = asyncio.Lock()
        self.pacer = Pacer(settings.send_rate)

    async def drain(self, limit: int | None = None) -> Counter[str]:
        """Send what is due, one message at a time at the configured rate (never in parallel)."""
        counts: Counter[str] = Counter()
        if self._drain_lock.locked():
            counts["busy"] += 1
            return counts
        async with self._drain_lock:
            async with self._db.transaction() as tx:
                counts["interrupted"] = await repo.interrupt_sending(tx, iso(self._clock.now()))
            while limit is None or counts["sent"] < limit:
                async with self._db.read() as tx:
                    ids = await repo.due_ids(tx, iso(self._clock.now()), self._s.batch_size)
                if not ids:
                    break
                for outreach_id in ids:
                    counts[await self._send_one(outreach_id)] += 1
                    if limit is not None and counts["sent"] >= limit:
                        break
        if any(counts.values()):
            log.info("outreach sent %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return counts

    async def _send_one(self, outreach_id: int) -> str:
        now = self._clock.now()
        at = iso(now)
        async with self._db.transaction() as tx:
            row = await repo.load(tx, outreach_id, self._promotional)
            if row is None or row.status != "queued":
                return "gone"
            c = row.customer
            zone = zone_of(c.timezone, self._locale.zone)
            expires = parse_iso(row.expires_at or row.due_at)
            reason = refusal(c, row.kind, now, self._s)
            if row.kind == "winback" and _bought_since(c, row):
                await repo.mark(tx, row.id, "skipped", reason="purchased_since", at=at)
                return "skipped"
            if now >= expires:
                await repo.mark(tx, row.id, "missed", reason="downtime", at=at)
                return "missed"
            if row.kind == "winback" and reason == "frequency_cap" and c.last_promo_at:
                # The lapse still deserves its win-back: wait for the cap instead of using it up.
                free = parse_iso(c.last_promo_at) + timedelta(days=self._s.frequency_cap_days)
                due = after_quiet_hours(free, zone, self._s)
                later = due + timedelta(hours=self._s.grace("winback"))
                await repo.defer(tx, row.id, iso(due), iso(later), "held: frequency_cap", at)
                return "deferred"
            if row.kind == "birthday" and not self._still_birthday(c, row.occasion, expires, zone):
                reason = "birthday_changed"
            holiday = self._calendar.find(row.occasion) if row.kind == "holiday" else None
            if row.kind == "holiday" and holiday is None:
                reason = reason or "not_greeted"  # taken out of the configuration since
            if reason is not None:
                await repo.mark(tx, row.id, "skipped", reason=reason, at=at)
                return "skipped"
            if in_quiet_hours(now, zone, self._s):
                until = after_quiet_hours(now, zone, self._s)
                if until >= expires:
                    await repo.mark(tx, row.id, "missed", reason="quiet_hours", at=at)
                    return "missed"
                await repo.hold(tx, row.id, iso(until), at)
                return "held"
            wanted = 0
            if row.kind == "birthday" and not _birthday_too_new(c, now):
                wanted = self._s.birthday_bonus.get(c.stage, 0)
            elif holiday is not None:
                wanted = self._s.holiday_bonus.get(c.stage, 0)
            points = 0
            if row.kind == "birthday" or holiday is not None:
                # Once per occasion (birthday:<year>, holiday:<name>:<year>): a resend carries
                # the points granted the first time.
                points = await self._loyalty.grant_bonus_in(
                    tx, c.customer_id, wanted, row.occasion, row.kind
                )
            message = self._message(row.id, row.kind, c, now, zone, points, holiday)
            valid_until = None
            if row.kind == "winback":
                valid_until = iso(now + timedelta(days=self._s.winback_offer_valid_days))
            await repo.mark(tx, row.id, "sending", at=at, stage=c.stage, valid_until=valid_until)
        await self.pacer.wait(message.chat_id)
        result = await self._messenger.send(message)
        finished = self._clock.now()
        done = iso(finished)
        async with self._db.transaction() as tx:
            if result.status is SendStatus.SENT:
                await repo.mark(
                    tx,
                    row.id,
                    "sent",
                    at=done,
                    from_status="sending",
                    sent_at=done,
                    message_id=result.message_id,
                )
                return "sent"
            if result.status is SendStatus.FAILED:
                return await self._after_failure(tx, row.id, result.error or "", expires, finished)
            if result.status.unreachable:  # the outbox sender's rule, and the same update
                await customers_repo.set_reachable(tx, c.customer_id, False)
            why = {SendStatus.BLOCKED: "blocked", SendStatus.NOT_FOUND: "chat_not_found"}
            reason = why.get(result.status) or f"error: {(result.error or '')[:120]}"
            await repo.mark(tx, row.id, "failed", reason=reason, at=done, from_status="sending")
        return "failed"

    async def _after_failure(
        self, tx: Any, outreach_id: int, error: str, expires: datetime, now: datetime
    ) -> str:
        """A FAILED send: a timeout stays failed (it may have arrived); anything else was not
        delivered and is queued again a little later, or missed once past its grace window."""
        at = iso(now)
        if error.strip().lower().startswith(TIMEOUT_ERRORS):
            await repo.mark(
                tx, outreach_id, "failed", reason="timeout", at=at, from_status="sending"
            )
            return "failed"
        # Leave the sender a chance to run before the row expires (it runs every interval).
        margin = max(timedelta(minutes=1), timedelta(seconds=self._s.send_interval_seconds))
        retry = min(now + RETRY_DELAY, expires - margin)
        if retry <= now:
            await repo.mark(
                tx, outreach_id, "missed", reason="send_failed", at=at, from_status="sending"
            )
            return "missed"
        await repo.requeue(tx, outreach_id, iso(retry), f"retry: {error[:120]}", at)
        log.info("outreach send failed, retry at %s outreach_id=%s", iso(retry), outreach_id)
        return "retry"

    def _still_birthday(self, c: Candidate, occasion: str, expires: datetime, zone: Any) -> bool:
        birthday = stored_birthday(c.birthday)
        year = int(occasion.split(":")[1])
        day = (expires.astimezone(zone) - timedelta(hours=12)).date()
        return birthday is not None and birthday.on(year, self._s.feb29) == day

    def _message(
        self,
        outreach_id: int,
        kind: str,
        c: Candidate,
        now: datetime,
        zone: Any,
        points: int,
        holiday: Holiday | None = None,
    ) -> OutboundMessage:
        stage = c.stage
        fields: dict[str, Any] = {
            "name": (c.name or "").split(" ")[0],
            "business": self._business,
            "points": points,
        }
        if kind == "winback":
            until = now + timedelta(days=self._s.winback_offer_valid_days)
            fields["valid_until"] = until.astimezone(zone).date().isoformat()
        buttons: tuple[tuple[str, str], ...] = ()
        if kind == "checkin":
            buttons = tuple(
                (f"outreach.rate_{n}", callbacks.build("outreach", "rate", outreach_id, n))
                for n in range(1, 6)
            )
        buttons += (("outreach.mute_button", callbacks.build("outreach", "mute", outreach_id)),)
        key = f"outreach.{kind}.{stage}"
        if holiday is not None:
            # The catalogue's name for a curated holiday, else the package's in that language.
            name = holiday.names.get(c.language) or holiday.name
            fields["holiday"] = Label(f"holiday.name.{holiday.slug}", name)
            key = "outreach.holiday.eve" if holiday.eve else "outreach.holiday.day"
        if kind in ("birthday", "holiday") and fields["points"]:
            key += "_bonus"
        return OutboundMessage(c.telegram_id or 0, key, c.language, fields, buttons)
