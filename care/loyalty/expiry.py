"""Points expiry: the oldest points go first; customers are warned a few days ahead, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from care.clock import iso, parse_iso
from care.loyalty.units import add_months, customer_zone, local_date
from care.outbox import Hooks, Outbox
from care.ports import OutboundMessage, SendStatus
from care.settings import LocaleSettings, LoyaltySettings
from storage import customers as customers_repo
from storage import notices as notices_repo
from storage import points as points_repo
from storage.outbox import OutboxRow

EXPIRY_NOTICE = "points_expiry"
WARNING_KIND = "loyalty.expiry_warning"


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    """What one run of the expiry job did."""

    expired_customers: int
    expired_points: int
    warned: int  # warnings queued in the outbox


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


async def expire_all(tx: aiosqlite.Connection, now: datetime, months: int) -> tuple[int, int]:
    """Expire every customer's due points; (customers, points)."""
    customers = points = 0
    cutoff = iso(add_months(now, -months))
    for customer_id in await points_repo.customers_with_lots_until(tx, cutoff):
        expired = await expire_customer(tx, customer_id, now, months)
        customers += expired > 0
        points += expired
    return customers, points


async def queue_warnings(
    tx: aiosqlite.Connection,
    outbox: Outbox,
    now: datetime,
    settings: LoyaltySettings,
    locale: LocaleSettings,
) -> int:
    """Queue one warning per customer and expiry date for points expiring soon; how many."""
    months = settings.expiry_months
    if months is None:
        return 0
    horizon = now + timedelta(days=settings.expiry_warning_days)
    until = iso(add_months(horizon, -months))
    warned = 0
    for customer_id in await points_repo.customers_with_lots_until(tx, until):
        customer = await customers_repo.get(tx, customer_id)
        if customer.telegram_id is None or not customer.reachable or customer.opted_out:
            continue  # not claimed: they are warned if they come back before the date
        added, spent = await points_repo.positive_and_spent(tx, customer_id, until)
        oldest = await points_repo.oldest_unspent_lot(tx, customer_id, spent)
        if added - spent <= 0 or oldest is None:
            continue
        expires = add_months(parse_iso(oldest), months)
        occasion = expires.date().isoformat()
        if not await notices_repo.claim(tx, customer_id, EXPIRY_NOTICE, occasion, iso(now)):
            continue
        message = OutboundMessage(
            customer.telegram_id,
            WARNING_KIND,
            customer.language,
            {
                "points": added - spent,
                "date": local_date(expires, customer_zone(customer, locale)),
            },
        )
        await outbox.add(
            tx, message, kind=WARNING_KIND, customer_id=customer_id, ref=occasion,
            dedupe_key=f"{EXPIRY_NOTICE}:{customer_id}:{occasion}", promotional=True,
        )  # fmt: skip
        warned += 1
    return warned


def warning_hooks(outbox: Outbox, now: Callable[[], datetime]) -> None:
    """Record in the notices table how each queued warning ended."""

    async def sent(tx: aiosqlite.Connection, row: OutboxRow, message_id: int) -> None:
        await _finish(tx, row, "sent", None)

    async def undelivered(tx: aiosqlite.Connection, row: OutboxRow, status: SendStatus) -> None:
        await _finish(tx, row, "failed", status.value)

    async def _finish(
        tx: aiosqlite.Connection, row: OutboxRow, status: str, reason: str | None
    ) -> None:
        if row.customer_id is not None and row.ref is not None:
            await notices_repo.finish(
                tx, row.customer_id, EXPIRY_NOTICE, row.ref, status, iso(now()), reason
            )

    outbox.on(WARNING_KIND, Hooks(sent=sent, undelivered=undelivered))
