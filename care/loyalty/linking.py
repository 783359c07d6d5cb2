"""Phone linking: a Telegram customer shares their number and takes over their imported record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from care.clock import Clock, iso
from care.customers import normalise_phone
from care.errors import NotRegistered
from care.ports import CustomerChanged, ignore_change
from storage import customer_admin as admin_repo
from storage import customers as customers_repo
from storage import points as points_repo
from storage.customers import CustomerRow
from storage.db import Database

log = logging.getLogger(__name__)

INITIAL_STAGE = "aware"


class LinkOutcome(StrEnum):
    """What sharing a phone number did."""

    LINKED = "linked"  # the number is now stored; no imported record had it
    MERGED = "merged"  # an imported record with the number was merged into the customer
    ALREADY = "already"  # the customer already had this number
    TAKEN = "taken"  # another Telegram customer has this number: nothing changed


@dataclass(frozen=True, slots=True)
class LinkResult:
    """The outcome of linking a phone number."""

    outcome: LinkOutcome
    customer: CustomerRow
    balance: int
    merged_points: int = 0


def phone_variants(phone: str) -> list[str]:
    """Telegram sends contact numbers without '+': try the number with and without it."""
    normal = normalise_phone(phone)
    digits = normal.lstrip("+")
    return [f"+{digits}", digits]


class PhoneLinking:
    """Stores a customer's own phone number and merges an imported record that has it."""

    def __init__(
        self, db: Database, clock: Clock, on_change: CustomerChanged = ignore_change
    ) -> None:
        self._db, self._clock, self._on_change = db, clock, on_change

    async def link_phone(self, telegram_id: int, phone: str) -> LinkResult:
        """Link `phone` (the sender's own) to the Telegram customer, merging in one transaction."""
        variants = phone_variants(phone)
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            me = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if me is None:
                raise NotRegistered(telegram_id)
            holder = None
            for variant in variants:
                holder = holder or await customers_repo.find_by_phone(tx, variant)
            if holder is not None and holder.id == me.id:
                outcome, merged = LinkOutcome.ALREADY, 0
            elif holder is not None and (
                holder.telegram_id is not None or holder.forgotten_at is not None
            ):
                outcome, merged = LinkOutcome.TAKEN, 0
            elif holder is None:
                await admin_repo.update_profile(tx, me.id, {"phone": variants[0]})
                outcome, merged = LinkOutcome.LINKED, 0
            else:
                before = await points_repo.balance(tx, me.id)
                counts = await admin_repo.merge_records(tx, holder.id, me.id, now)
                await admin_repo.adopt_record(
                    tx,
                    me.id,
                    phone=holder.phone or variants[0],
                    member_code=holder.member_code,
                    name=holder.name,
                    birthday=holder.birthday,
                    timezone=holder.timezone,
                )
                if me.stage == INITIAL_STAGE and holder.stage != INITIAL_STAGE:
                    await admin_repo.set_stage(
                        tx, me.id, holder.stage, "merged imported record", now
                    )
                outcome = LinkOutcome.MERGED
                merged = await points_repo.balance(tx, me.id) - before
                log.info(
                    "records merged source=%s target=%s entries=%s duplicates=%s purchases=%s",
                    holder.id,
                    me.id,
                    counts.entries,
                    counts.duplicates,
                    counts.purchases,
                )
            customer = await customers_repo.get(tx, me.id)
            balance = await points_repo.balance(tx, me.id)
        if outcome is LinkOutcome.MERGED:
            await self._on_change(customer.id)
        return LinkResult(outcome, customer, balance, merged)
