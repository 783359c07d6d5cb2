"""Who is drifting away, as of a moment: every customer's stage, recency and reason, read-only.

`customers status` (the command line), `/customers at-risk` (staff), the customer card and the
weekly staff list all read this view, and it is the bot's own evaluation: the facts the stage
engine loads, known at the moment asked (purchases and ratings up to it), decided by
`StageService.decide` — the code every purchase and the nightly job run — and nothing written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from care.clock import Clock, iso
from care.errors import ExpiredButton, InvalidArgument
from care.loyalty.units import format_money
from care.outbox import Outbox
from care.ports import OutboundMessage, Text
from care.roles import Role
from care.staff import StaffService
from care.stages.reasons import Reason
from care.stages.rules import known_at
from care.stages.service import StageService
from storage import stages as repo
from storage.db import Database
from storage.stages import FactsRow

AT_RISK_PAGE_SIZE = 8
VALUE_WINDOW = timedelta(days=365)  # "value" is what the customer spent in the last year
WEEKLY_LIST_SIZE = 10
WEEKLY_KIND = "customers.at_risk_weekly"
WEEKLY_HOUR = 9  # local time: the list is there when the shop opens, not at midnight
_BATCH = 500


@dataclass(frozen=True, slots=True)
class CustomerStatus:
    """One customer as of a moment: stage, recency with the model's probability and reason,
    the last purchase, when a win-back would go (None: none owed) and the last year's spend."""

    customer_id: int
    member_code: str
    name: str | None
    stage: str
    recency: str  # active | at_risk | lapsed
    probability: float | None
    reason: Reason
    last_purchase_at: str | None
    winback_due_at: str | None
    value_cents: int
    purchases: int

    def as_json(self) -> dict[str, Any]:
        """The customer's entry in `customers status --json` (documented in the README)."""
        return {
            "member_code": self.member_code,
            "stage": self.stage,
            "recency": self.recency,
            "probability": None if self.probability is None else round(self.probability, 4),
            "reason": {"key": self.reason.key, "fields": self.reason.values()},
            "last_purchase_at": self.last_purchase_at,
            "winback_due_at": self.winback_due_at,
            "value_cents": self.value_cents,
            "purchases": self.purchases,
        }


@dataclass(frozen=True, slots=True)
class AtRiskPage:
    """One page of `/customers at-risk`, highest value first."""

    customers: list[CustomerStatus]
    page: int
    pages: int
    total: int


class StatusService:
    """Reads recency as of a moment, and posts the weekly at-risk list to the staff chat."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        stages: StageService,
        staff: StaffService,
        outbox: Outbox,
        lang: str,
        zone: str = "UTC",
    ) -> None:
        self._db, self._clock, self._stages = db, clock, stages
        self._staff, self._outbox, self._lang = staff, outbox, lang
        self._zone = ZoneInfo(zone)

    async def everyone(self, at: datetime | None = None) -> list[CustomerStatus]:
        """Every customer not forgotten, as of `at` (default now), in id order; writes nothing."""
        moment = at or self._clock.now()
        found: list[CustomerStatus] = []
        async with self._db.read() as tx:
            after = 0
            while ids := await repo.customer_ids_after(tx, after, _BATCH):
                found += await self._statuses(
                    tx, await repo.load_facts(tx, ids[0], ids[-1]), moment
                )
                after = ids[-1]
        return found

    async def status_in(self, tx: aiosqlite.Connection, customer_id: int) -> CustomerStatus | None:
        """One customer now, inside the caller's transaction (the customer card)."""
        facts = await repo.load_facts(tx, customer_id, customer_id)
        found = await self._statuses(tx, facts, self._clock.now())
        return found[0] if found else None

    async def at_risk_for(
        self, actor_id: int, page: int, args: Sequence[str] = ("at-risk",)
    ) -> AtRiskPage:
        """Staff `/customers at-risk`: the at-risk customers, highest value first, a page at a
        time; a page that does not exist (a stale or forged button) is an ExpiredButton."""
        arguments = " ".join(args)
        async with self._staff.act(
            actor_id, "customers", f"{arguments} {page}", Role.STAFF
        ) as act:
            if [arg.lower() for arg in args] != ["at-risk"]:
                raise InvalidArgument("customers arguments", usage="customers.usage")
            found = await self._at_risk(act.tx, self._clock.now())
            pages = max(1, math.ceil(len(found) / AT_RISK_PAGE_SIZE))
            if not 0 <= page < pages:
                raise ExpiredButton()
            act.result = f"shown {len(found)} at risk, page {page + 1}/{pages}"
        start = page * AT_RISK_PAGE_SIZE
        return AtRiskPage(found[start : start + AT_RISK_PAGE_SIZE], page, pages, len(found))

    async def post_weekly(self) -> bool:
        """Queue this week's at-risk list for the staff chat, once per ISO week of the shop's
        calendar (idempotent key), from Monday `WEEKLY_HOUR`:00 local time on; False before
        then, without a staff chat, with nobody at risk, or when this week's was queued."""
        chat_id = self._staff.staff_chat_id
        now = self._clock.now()
        local = now.astimezone(self._zone)
        if chat_id is None or local.hour < WEEKLY_HOUR:
            return False
        year, week, _ = local.isocalendar()
        async with self._db.transaction() as tx:
            found = (await self._at_risk(tx, now))[:WEEKLY_LIST_SIZE]
            if not found:
                return False
            lines = [Text("customers.at_risk_line", line_fields(status)) for status in found]
            message = OutboundMessage(
                chat_id,
                "customers.at_risk_weekly",
                self._lang,
                {"lines": lines, "count": len(found)},
            )
            return await self._outbox.add(
                tx, message, kind=WEEKLY_KIND, dedupe_key=f"{WEEKLY_KIND}:{year}-W{week:02d}"
            )

    async def _at_risk(self, tx: aiosqlite.Connection, now: datetime) -> list[CustomerStatus]:
        """The customers at risk now (picked by the stored moments' index, then decided again
        by the bot's code), highest value first."""
        ids = await repo.at_risk_ids(tx, iso(now))
        found = await self._statuses(tx, await repo.load_facts_for(tx, ids), now)
        at_risk = [s for s in found if s.recency == "at_risk"]
        return sorted(
            at_risk, key=lambda s: (-s.value_cents, s.last_purchase_at or "", s.customer_id)
        )

    async def _statuses(
        self, tx: aiosqlite.Connection, rows: list[FactsRow], at: datetime
    ) -> list[CustomerStatus]:
        if not rows:
            return []
        first, last = rows[0].customer_id, rows[-1].customer_id
        names = await repo.names(tx, first, last)
        spend = await repo.spend_between(tx, first, last, iso(at - VALUE_WINDOW), iso(at))
        found = []
        for row in rows:
            facts = known_at(row, at)
            d = self._stages.decide(facts, at)
            code, name = names[row.customer_id]
            found.append(
                CustomerStatus(
                    customer_id=row.customer_id,
                    member_code=code,
                    name=name,
                    stage=d.stage,
                    recency=d.recency.status(at),
                    probability=d.recency.probability,
                    reason=d.recency.explain(at),
                    last_purchase_at=facts.purchases[-1] if facts.purchases else None,
                    winback_due_at=iso(d.winback) if d.winback else None,
                    value_cents=spend.get(row.customer_id, 0),
                    purchases=len(facts.purchases),
                )
            )
        return found


def line_fields(status: CustomerStatus) -> dict[str, Any]:
    """The fields of one `customers.at_risk_line`: who, value, last visit and the reason."""
    return {
        "name": status.name or status.member_code,
        "code": status.member_code,
        "value": format_money(status.value_cents),
        "last": (status.last_purchase_at or "")[:10],
        "reason": Text(status.reason.key or "", status.reason.values()),
    }
