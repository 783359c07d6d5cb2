"""Points expiry: the oldest points go first; customers are warned a few days ahead, once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.ports import Messenger, OutboundMessage, SendStatus
from care.settings import LocaleSettings, LoyaltySettings
from care.loyalty.units import add_months, customer_zone, local_date
from storage import customers as customers_repo
from storage import notices as notices_repo
from storage import points as points_repo
from storage.db import Database

log = logging.getLogger(__name__)

EXPIRY_NOTICE = "points_expiry"


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    """What one run of the expiry job did."""

    expired_customers: int
    expired_points: int
    warned: int


async def expire_customer(
    tx: aiosqlite.Connection, customer_id: int, now: datetime, months: int | None
) -> int:
    """Write one 'expire' entry for the customer's points older than `months`; how many."""
    if months is None:
        return 0
    cutoff = iso(add_months(now, -months))
    added, spent = await points_repo.positive_and_spent(tx, customer_id, cutoff)
    due = added - spent  # points are spent oldest first: what is left of old lots is due
    if due <= 0:
        return 0
    await points_repo.append(
        tx, customer_id, -due, "expire", f"expire:{iso(now)}", iso(now),
        reason=f"older than {months} months",
    )  # fmt: skip
    return due


class PointsExpiry:
    """Runs expiry for every customer and sends the warnings (one at a time)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: LoyaltySettings,
        locale: LocaleSettings,
        messenger: Messenger,
    ) -> None:
        self._db, self._clock, self._settings = db, clock, settings
        self._locale, self._messenger = locale, messenger

    async def expire_due(self) -> ExpiryRun:
        """Expire points older than the configured months and warn customers a week ahead."""
        months = self._settings.expiry_months
        if months is None:
            return ExpiryRun(0, 0, 0)
        now = self._clock.now()
        expired_customers = expired_points = 0
        async with self._db.transaction() as tx:
            cutoff = iso(add_months(now, -months))
            for customer_id in await points_repo.customers_with_lots_until(tx, cutoff):
                points = await expire_customer(tx, customer_id, now, months)
                expired_customers += points > 0
                expired_points += points
        warned = await self._warn_expiring(now, months)
        log.info(
            "points expired customers=%s points=%s warned=%s",
            expired_customers,
            expired_points,
            warned,
        )
        return ExpiryRun(expired_customers, expired_points, warned)

    async def _warn_expiring(self, now: datetime, months: int) -> int:
        horizon = now + timedelta(days=self._settings.expiry_warning_days)
        until = iso(add_months(horizon, -months))
        async with self._db.read() as tx:
            candidates = await points_repo.customers_with_lots_until(tx, until)
        warned = 0
        for customer_id in candidates:  # one at a time, through the messenger's rate limiter
            warned += await self._warn_one(customer_id, now, until, months)
        return warned

    async def _warn_one(self, customer_id: int, now: datetime, until: str, months: int) -> int:
        async with self._db.transaction() as tx:
            customer = await customers_repo.get(tx, customer_id)
            if customer.telegram_id is None or not customer.reachable or customer.opted_out:
                return 0
            added, spent = await points_repo.positive_and_spent(tx, customer_id, until)
            oldest = await points_repo.oldest_unspent_lot(tx, customer_id, spent)
            if added - spent <= 0 or oldest is None:
                return 0
            expires = add_months(parse_iso(oldest), months)
            occasion = expires.date().isoformat()
            if not await notices_repo.claim(tx, customer_id, EXPIRY_NOTICE, occasion, iso(now)):
                return 0
        sent = await self._messenger.send(
            OutboundMessage(
                customer.telegram_id,
                "loyalty.expiry_warning",
                customer.language,
                {
                    "points": added - spent,
                    "date": local_date(expires, customer_zone(customer, self._locale)),
                },
            )
        )
        status = "sent" if sent.status is SendStatus.SENT else "failed"
        async with self._db.transaction() as tx:
            await notices_repo.finish(
                tx, customer_id, EXPIRY_NOTICE, occasion, status, iso(now), sent.error
            )
            if sent.status in (SendStatus.BLOCKED, SendStatus.NOT_FOUND):
                await customers_repo.set_reachable(tx, customer_id, False)
        return int(sent.status is SendStatus.SENT)
