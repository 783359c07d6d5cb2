"""Phone linking: a Telegram customer shares their number and takes over their imported record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from care.clock import Clock, iso
from care.customers import find_by_phone
from care.errors import NotRegistered
from care.phones import region_for, telegram_phone
from care.settings import LocaleSettings
from care.stages.service import StageService
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


class PhoneLinking:
    """Stores a customer's own phone number and merges an imported record that has it."""

    def __init__(
        self, db: Database, clock: Clock, locale: LocaleSettings, stages: StageService
    ) -> None:
        self._db, self._clock, self._stages = db, clock, stages
        self._region = region_for(locale)

    async def link_phone(self, telegram_id: int, phone: str) -> LinkResult:
        """Link `phone` (the sender's own, as Telegram shares it) to the Telegram customer; an
        imported record with the number is merged, and the stage follows, in one transaction."""
        number = telegram_phone(phone, self._region)
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            me = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if me is None:
                raise NotRegistered(telegram_id)
            holder = await find_by_phone(tx, number, self._region)
            if holder is not None and holder.id == me.id:
                outcome, merged = LinkOutcome.ALREADY, 0
            elif holder is not None and (
                holder.telegram_id is not None or holder.forgotten_at is not None
            ):
                outcome, merged = LinkOutcome.TAKEN, 0
            elif holder is None:
                await admin_repo.update_profile(tx, me.id, {"phone": number})
                outcome, merged = LinkOutcome.LINKED, 0
            else:
                before = await points_repo.balance(tx, me.id)
                await points_repo.move_confirmations(tx, holder.id, me.id)
                counts = await admin_repo.merge_records(tx, holder.id, me.id, now)
                await admin_repo.adopt_record(
                    tx,
                    me.id,
                    phone=number,
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
                await self._stages.refresh_in(tx, me.id)
            customer = await customers_repo.get(tx, me.id)
            balance = await points_repo.balance(tx, me.id)
        return LinkResult(outcome, customer, balance, merged)
