"""Relationship stages (aware → alliance) and recency (active, at risk, lapsed), from facts.

`StageService` applies the rules (`care.stages.rules`, which documents them) to the stored facts,
keeps staff overrides, records the history with its reasons (`care.stages.reasons`) and answers
/stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.customers import find_customer
from care.errors import InvalidArgument
from care.roles import Role
from care.settings import STAGES, OutreachSettings, StaffSettings, StageSettings
from care.staff import StaffService
from care.stages.reasons import Reason, rule_reason, staff_reason
from care.stages.rules import (
    Recency,
    count_since,
    drop_has_held,
    has_new_fact,
    next_checkin,
    next_winback,
    rank,
    recency,
    rule_stage,
    winback_occasion,
)
from storage import stages as repo
from storage.db import Database
from storage.stages import FactsRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of applying the rules to one customer."""

    customer_id: int
    stage: str
    previous: str
    status: str
    reason: Reason
    changed: bool
    manual: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """What one evaluation decides: the stage and why, whether it changes (or a staff-set
    stage is released), the recency and the next check-in and win-back moments."""

    stage: str
    reason: Reason
    changed: bool
    release: bool
    manual: bool
    recency: Recency
    checkin: datetime | None
    winback: datetime | None


@dataclass(frozen=True, slots=True)
class StageChange:
    """One stage change from the history, its reason read back from storage."""

    from_stage: str | None
    to_stage: str
    reason: Reason
    staff_id: int | None
    created_at: str


@dataclass(frozen=True, slots=True)
class StageCommand:
    """What staff /stage did: whose stage (name or member code), the stage now, and the
    report when it was only shown."""

    who: str
    evaluation: Evaluation
    report: StageReport | None


@dataclass(frozen=True, slots=True)
class StageReport:
    """What /stage shows: stage, status, the facts behind them and the history."""

    evaluation: Evaluation
    rule_stage: str
    rule_reason: Reason
    purchases_total: int
    purchases_90d: int
    last_purchase_at: str | None
    open_complaints: int
    rating_average: float | None
    lifetime_points: int
    tenure_days: int
    at_risk_at: str | None
    lapsed_at: str | None
    history: list[StageChange]
    probability: float | None = None
    recency_reason: Reason | None = None


class StageService:
    """Applies the stage rules, keeps staff overrides and answers /stage."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: StageSettings,
        outreach: OutreachSettings | None = None,
        staff: StaffService | None = None,
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
        self._staff = staff or StaffService(db, clock, StaffSettings())
        self._o = outreach or OutreachSettings()

    async def refresh(self, customer_id: int) -> None:
        """Re-evaluate after a new fact; a failure is logged, never passed to the caller."""
        try:
            await self.evaluate(customer_id)
        except Exception:  # the purchase or ticket that triggered this is already committed
            log.exception("stage evaluation failed customer_id=%s", customer_id)

    async def refresh_in(self, tx: aiosqlite.Connection, customer_id: int) -> Evaluation | None:
        """Re-evaluate one customer inside the caller's transaction (the fact that moved them
        commits with their new stage, or neither does); None for an unknown customer."""
        rows = await repo.load_facts(tx, customer_id, customer_id)
        return await self._apply(tx, rows[0], self._clock.now()) if rows else None

    async def refresh_many_in(self, tx: aiosqlite.Connection, customer_ids: list[int]) -> int:
        """Re-evaluate these customers inside the caller's transaction (after an import);
        how many stages changed."""
        now = self._clock.now()
        changed = 0
        for facts in await repo.load_facts_for(tx, customer_ids):
            changed += int((await self._apply(tx, facts, now)).changed)
        return changed

    async def evaluate(self, customer_id: int) -> Evaluation:
        """Apply the rules to one customer (call after a purchase, complaint or rating).

        A staff-set stage (`stage_manual`) holds until a new fact (a purchase, a complaint or a
        rating recorded after the stage was set); the first evaluation after such a fact applies
        the rules again, which may confirm or move the stage, and clears the manual flag.
        Recency and the outreach schedule are always recomputed.
        """
        now = self._clock.now()
        async with self._db.transaction() as tx:
            rows = await repo.load_facts(tx, customer_id, customer_id)
            if not rows:
                raise InvalidArgument(f"no customer {customer_id}", usage="usage.stage")
            return await self._apply(tx, rows[0], now)

    async def reevaluate_all(self, batch_size: int = 500) -> dict[str, int]:
        """Re-apply the rules to everyone, a batch per transaction (windows move with time)."""
        counts = {"evaluated": 0, "changed": 0}
        after = 0
        while True:
            now = self._clock.now()
            async with self._db.transaction() as tx:
                ids = await repo.customer_ids_after(tx, after, batch_size)
                if not ids:
                    return counts
                for facts in await repo.load_facts(tx, ids[0], ids[-1]):
                    result = await self._apply(tx, facts, now)
                    counts["evaluated"] += 1
                    counts["changed"] += int(result.changed)
                after = ids[-1]

    async def set_stage(
        self, customer_id: int, stage: str, *, staff_id: int, staff_name: str, note: str = ""
    ) -> Evaluation:
        """Set a stage by hand; it holds until the rules have a new fact to act on.

        Setting the stage the customer already has is not a change: no history row, the stage
        just holds from now on (`changed` is False).
        """
        reason = staff_reason(staff_name, note)
        async with self._db.transaction() as tx:
            return await self._set_in(tx, customer_id, stage, staff_id, reason)

    async def stage_for(self, actor_id: int, staff_name: str, args: Sequence[str]) -> StageCommand:
        """Staff /stage <customer> [<stage> [note]]: show the stage report, or set the stage;
        authorised, resolved, done and audited in one transaction."""
        async with self._staff.act(actor_id, "stage", " ".join(args), Role.STAFF) as act:
            if not args or (len(args) >= 2 and args[1].lower() not in STAGES):
                raise InvalidArgument("stage arguments", usage="usage.stage")
            customer = await find_customer(act.tx, args[0], act.region)
            who = customer.name or customer.member_code
            if len(args) >= 2:
                stage = args[1].lower()
                reason = staff_reason(staff_name, " ".join(args[2:]))
                result = await self._set_in(act.tx, customer.id, stage, actor_id, reason)
                same = "" if result.changed else " (unchanged)"
                act.result = f"set {customer.id} {stage}{same}"
                return StageCommand(who, result, None)
            report = await self._report_in(act.tx, customer.id)
            act.result = f"shown {customer.id}"
            return StageCommand(who, report.evaluation, report)

    async def _set_in(
        self, tx: aiosqlite.Connection, customer_id: int, stage: str, staff_id: int, reason: Reason
    ) -> Evaluation:
        if stage not in STAGES:
            raise InvalidArgument(f"unknown stage {stage}", usage="usage.stage")
        now = self._clock.now()
        rows = await repo.load_facts(tx, customer_id, customer_id)
        if not rows:
            raise InvalidArgument(f"no customer {customer_id}", usage="usage.stage")
        facts = rows[0]
        changed = facts.stage != stage
        if changed:
            await repo.change_stage(
                tx,
                customer_id,
                from_stage=facts.stage,
                to_stage=stage,
                reason=reason.stored(),
                manual=True,
                staff_id=staff_id,
                at=iso(now),
            )
        else:
            await repo.hold_stage(tx, customer_id, at=iso(now))
        status = recency(facts, self._s, now).status(now)
        return Evaluation(customer_id, stage, facts.stage, status, reason, changed, True)

    async def report(self, customer_id: int) -> StageReport:
        """Evaluate, then gather the facts and history /stage shows."""
        async with self._db.transaction() as tx:
            return await self._report_in(tx, customer_id)

    async def _report_in(self, tx: aiosqlite.Connection, customer_id: int) -> StageReport:
        now = self._clock.now()
        rows = await repo.load_facts(tx, customer_id, customer_id)
        if not rows:
            raise InvalidArgument(f"no customer {customer_id}", usage="usage.stage")
        evaluation = await self._apply(tx, rows[0], now)
        facts = (await repo.load_facts(tx, customer_id, customer_id))[0]
        history = [
            StageChange(
                row.from_stage,
                row.to_stage,
                Reason.parse(row.reason),
                row.staff_id,
                row.created_at,
            )
            for row in await repo.history(tx, customer_id, 10)
        ]
        stage, reason = rule_stage(facts, self._s, now)
        moments = recency(facts, self._s, now)
        since = iso(now - timedelta(days=self._s.rating_window_days))
        values = [r.value for r in facts.ratings if r.at >= since]
        return StageReport(
            evaluation=evaluation,
            rule_stage=stage,
            rule_reason=reason,
            purchases_total=len(facts.purchases),
            purchases_90d=count_since(facts.purchases, now - timedelta(days=90)),
            last_purchase_at=facts.purchases[-1] if facts.purchases else None,
            open_complaints=facts.open_complaints,
            rating_average=sum(values) / len(values) if values else None,
            lifetime_points=facts.lifetime_points,
            tenure_days=(now - parse_iso(facts.created_at)).days,
            at_risk_at=iso(moments.at_risk_at) if moments.at_risk_at else None,
            lapsed_at=iso(moments.lapsed_at) if moments.lapsed_at else None,
            history=history,
            probability=moments.probability,
            recency_reason=moments.reason(now),
        )

    def decide(self, facts: FactsRow, now: datetime) -> Decision:
        """What an evaluation at `now` gives for these facts, writing nothing (the bot's writes
        and `customers status` both start here)."""
        target, reason = rule_stage(facts, self._s, now)
        current, manual = facts.stage, facts.stage_manual
        if not manual and rank(target) < rank(current):
            # Hysteresis: an earned stage drops one step per evaluation, and only once the drop
            # has been due for `demote_after_days` (a staff-set one that a new fact releases
            # goes straight to what the rules say).
            if not drop_has_held(facts, self._s, now):
                target, reason = current, rule_reason("holding", stage=target)
            else:
                target = STAGES[rank(current) - 1]
        release = manual and has_new_fact(facts)
        manual = manual and not release
        stage, changed = current, False
        if not manual and target != current:
            if rank(target) > rank(current) and facts.open_complaints:
                reason = rule_reason("blocked", stage=target)
            else:
                stage, changed = target, True
        moments = recency(facts, self._s, now)
        checkin = next_checkin(facts, stage, self._o)
        if changed and facts.last_checkin_due and checkin is not None and checkin < now:
            # A new stage's shorter cadence must not put the check-in in the past (it would be
            # recorded as missed for a downtime that never happened): due now at the earliest.
            stored = parse_iso(facts.next_checkin_at) if facts.next_checkin_at else None
            if stored is None or stored > checkin:
                checkin = now
        if checkin is not None and checkin + timedelta(hours=self._o.grace("checkin")) < now:
            # Past its grace already when first worked out (history imported, outreach switched
            # on for old customers): "how was your visit?" months later is not owed, and it was
            # never missed. One stored earlier stays, so a real downtime is still recorded.
            stored = parse_iso(facts.next_checkin_at) if facts.next_checkin_at else None
            if stored != checkin:
                checkin = None
        last = facts.purchases[-1] if facts.purchases else None
        winback = None
        if last is not None and winback_occasion(last) not in facts.winback_occasions:
            winback = next_winback(moments.lapsed_at, now)
        return Decision(stage, reason, changed, release, manual, moments, checkin, winback)

    async def _apply(self, tx: aiosqlite.Connection, facts: FactsRow, now: datetime) -> Evaluation:
        d = self.decide(facts, now)
        if d.release:
            await repo.release_manual(tx, facts.customer_id)
        if d.changed:
            await repo.change_stage(
                tx,
                facts.customer_id,
                from_stage=facts.stage,
                to_stage=d.stage,
                reason=d.reason.stored(),
                manual=False,
                staff_id=None,
                at=iso(now),
            )
        moments = d.recency
        await repo.set_schedule(
            tx,
            facts.customer_id,
            last_purchase_at=facts.purchases[-1] if facts.purchases else None,
            at_risk_at=iso(moments.at_risk_at) if moments.at_risk_at else None,
            lapsed_at=iso(moments.lapsed_at) if moments.lapsed_at else None,
            next_checkin_at=iso(d.checkin) if d.checkin else None,
            winback_due_at=iso(d.winback) if d.winback else None,
            at=iso(now),
        )
        return Evaluation(
            facts.customer_id,
            d.stage,
            facts.stage,
            moments.status(now),
            d.reason,
            d.changed,
            d.manual,
        )
