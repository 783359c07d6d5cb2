"""Relationship stages (aware → alliance) and recency (active, at risk, lapsed), from facts.

The rules, with thresholds from `[stages]` (defaults in `care.settings.StageSettings`):

* aware: knows us (started the bot or was imported), no purchase and no return visit.
* engaged: at least one purchase, or came back to the bot on another day within
  `interaction_window_days`.
* understanding: `understanding_purchases` purchases within `understanding_window_days`.
* trust: `trust_purchases` within `trust_window_days`, and ratings (if any, last
  `rating_window_days`) averaging at least `trust_min_rating`.
* alliance: `alliance_purchases` within `alliance_window_days`, `alliance_tenure_days` since the
  first contact, `alliance_lifetime_points` earned in all, ratings averaging `alliance_min_rating`.

Windows make stages fall as well as rise: a customer who stopped buying drops back as purchases
leave the windows. An open complaint blocks promotion (the stage stays where it is) but never
demotes by itself.

Recency: at risk when no purchase for longer than `at_risk_gap_factor` × the median gap between
the customer's own purchases (never under `at_risk_min_days`; `at_risk_default_days` when they
have fewer than `gap_min_purchases` purchases); lapsed past `lapsed_factor` × that span (never
under `lapsed_min_days`). The moments are stored so outreach can select due customers by index.

Reasons are results, not sentences: a `Reason` names a catalogue key (`stage.reason.<code>`) and
its fields, and `stage_history.reason` stores it in a compact form that either language can render
later (`rule:purchases_in_window:count=5,days=180`, `staff:@anna:our landlord`). Rows written in
free text (by older versions, imports, merges, demo data) read back as free text, shown as is.
"""

from __future__ import annotations

import logging
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.errors import InvalidArgument
from care.settings import STAGES, OutreachSettings, StageSettings
from storage import stages as repo
from storage.db import Database
from storage.stages import FactsRow

RECENCY = ("active", "at_risk", "lapsed")
STAFF_CODES = ("staff", "staff_note")

_RULE_FORM = re.compile(r"rule:([a-z_]+)(?::([a-z_]+=[^,=:]*(?:,[a-z_]+=[^,=:]*)*))?")
_STAFF_FORM = re.compile(r"staff:([^:\s]+)(?::(.*))?", re.DOTALL)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a stage is what it is: the catalogue key `stage.reason.<code>` and its fields.

    A `code` of "" is free text stored by something else (an older version, an import, a merge,
    demo data): `text` holds it, to be shown as it is. Field values are short tokens (numbers,
    dates, stage names) except a staff member's `note`, kept as written; a field named `stage`
    holds a stage name.
    """

    code: str
    fields: tuple[tuple[str, str], ...] = ()
    text: str = ""

    @property
    def key(self) -> str | None:
        """The catalogue key, or None for free text."""
        return f"stage.reason.{self.code}" if self.code else None

    @property
    def by_rule(self) -> bool:
        """Whether the rules gave this reason (not staff, not free text)."""
        return bool(self.code) and self.code not in STAFF_CODES

    def values(self) -> dict[str, str]:
        """The fields as a dict (for the catalogue template)."""
        return dict(self.fields)

    def stored(self) -> str:
        """The form kept in `stage_history.reason` (`parse` reads it back); free text as it is."""
        if not self.code:
            return self.text
        values = self.values()
        if self.code in STAFF_CODES:
            note = values.get("note", "")
            return f"staff:{values.get('staff', '?')}" + (f":{note}" if note else "")
        pairs = ",".join(f"{name}={value}" for name, value in self.fields)
        return f"rule:{self.code}" + (f":{pairs}" if pairs else "")

    @classmethod
    def parse(cls, stored: str) -> Reason:
        """A stored reason: the compact form back to key and fields, anything else as free text."""
        if match := _RULE_FORM.fullmatch(stored):
            code, pairs = match.group(1), match.group(2)
            fields = tuple(
                (name, value)
                for name, _, value in (pair.partition("=") for pair in (pairs or "").split(","))
                if name
            )
            return cls(code, fields)
        if match := _STAFF_FORM.fullmatch(stored):
            return staff_reason(match.group(1), match.group(2) or "")
        return cls("", (), stored)


def rule_reason(code: str, **fields: object) -> Reason:
    """A reason the rules give, e.g. `rule_reason("purchases_in_window", count=3, days=90)`."""
    return Reason(code, tuple((name, str(value)) for name, value in fields.items()))


def staff_reason(staff_name: str, note: str = "") -> Reason:
    """A stage set by staff, with the staff member's own words (kept as they wrote them)."""
    note = note.strip()
    if note:
        return Reason("staff_note", (("staff", staff_name), ("note", note)))
    return Reason("staff", (("staff", staff_name),))


def rank(stage: str) -> int:
    """The stage's position, aware = 0."""
    return STAGES.index(stage)


@dataclass(frozen=True, slots=True)
class Recency:
    """When a customer becomes at risk and lapsed (None without purchases)."""

    at_risk_at: datetime | None
    lapsed_at: datetime | None

    def status(self, now: datetime) -> str:
        """active, at_risk or lapsed at `now`."""
        if self.lapsed_at is not None and now >= self.lapsed_at:
            return "lapsed"
        if self.at_risk_at is not None and now >= self.at_risk_at:
            return "at_risk"
        return "active"


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
class StageChange:
    """One stage change from the history, its reason read back from storage."""

    from_stage: str | None
    to_stage: str
    reason: Reason
    staff_id: int | None
    created_at: str


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


def _count_since(stamps: tuple[str, ...], since: datetime) -> int:
    cutoff = iso(since)
    return sum(1 for stamp in stamps if stamp >= cutoff)


def _ratings_ok(facts: FactsRow, minimum: float, since: datetime) -> tuple[bool, dict[str, str]]:
    """Whether the recent ratings (if any) reach `minimum`, and the average as a reason field."""
    cutoff = iso(since)
    values = [r.value for r in facts.ratings if r.at >= cutoff]
    if not values:
        return True, {}
    average = sum(values) / len(values)
    return average >= minimum, {"rating": f"{average:.1f}"}


def rule_stage(facts: FactsRow, s: StageSettings, now: datetime) -> tuple[str, Reason]:
    """The stage the rules give, and why (e.g. `purchases_in_window` with count 3, days 90)."""
    days = timedelta(days=1)
    p = facts.purchases
    rating_since = now - s.rating_window_days * days
    tenure = (now - parse_iso(facts.created_at)).days
    n = _count_since(p, now - s.alliance_window_days * days)
    ok, rated = _ratings_ok(facts, s.alliance_min_rating, rating_since)
    if (
        n >= s.alliance_purchases
        and ok
        and tenure >= s.alliance_tenure_days
        and facts.lifetime_points >= s.alliance_lifetime_points
    ):
        return "alliance", rule_reason(
            "alliance_rated" if rated else "alliance",
            count=n,
            days=s.alliance_window_days,
            tenure=tenure,
            points=facts.lifetime_points,
            **rated,
        )
    n = _count_since(p, now - s.trust_window_days * days)
    ok, rated = _ratings_ok(facts, s.trust_min_rating, rating_since)
    if n >= s.trust_purchases and ok:
        code = "purchases_in_window_rated" if rated else "purchases_in_window"
        return "trust", rule_reason(code, count=n, days=s.trust_window_days, **rated)
    n = _count_since(p, now - s.understanding_window_days * days)
    if n >= s.understanding_purchases:
        return "understanding", rule_reason(
            "purchases_in_window", count=n, days=s.understanding_window_days
        )
    if p:
        return "engaged", rule_reason("purchases", count=len(p), last=p[-1][:10])
    seen = facts.last_seen_at
    if (
        seen is not None
        and seen[:10] != facts.created_at[:10]
        and parse_iso(seen) >= now - s.interaction_window_days * days
    ):
        return "engaged", rule_reason("came_back", date=seen[:10])
    return "aware", rule_reason("no_purchase")


def recency(facts: FactsRow, s: StageSettings) -> Recency:
    """When the customer becomes at risk and lapsed, from their own purchase rhythm."""
    if not facts.purchases:
        return Recency(None, None)
    moments = [parse_iso(stamp) for stamp in facts.purchases]
    if len(moments) >= s.gap_min_purchases:
        gaps = [
            (b - a).total_seconds() / 86400 for a, b in zip(moments, moments[1:], strict=False)
        ]
        at_risk_days = max(
            float(s.at_risk_min_days), s.at_risk_gap_factor * statistics.median(gaps)
        )
    else:
        at_risk_days = float(s.at_risk_default_days)
    lapsed_days = max(float(s.lapsed_min_days), s.lapsed_factor * at_risk_days)
    last = moments[-1]
    return Recency(last + timedelta(days=at_risk_days), last + timedelta(days=lapsed_days))


def next_checkin(facts: FactsRow, stage: str, o: OutreachSettings) -> datetime | None:
    """When the next check-in is due: a few days after the first purchase, then by cadence.

    Without a previous check-in: `checkin_first_after_days` after the first purchase (or after the
    latest one if that moment is long past, e.g. when outreach is switched on for old customers).
    After a check-in: only once the customer has bought again, `checkin_cadence_days[stage]` after
    the previous check-in and no sooner than `checkin_first_after_days` after that purchase.
    """
    if not facts.purchases:
        return None
    after = timedelta(days=o.checkin_first_after_days)
    first, last = parse_iso(facts.purchases[0]), parse_iso(facts.purchases[-1])
    if facts.last_checkin_due is None:
        due = first + after
        if due + timedelta(hours=o.grace("checkin")) < last:
            due = last + after
        return due
    previous = parse_iso(facts.last_checkin_due)
    cadence = o.checkin_cadence_days.get(stage, 0)
    if last <= previous or cadence <= 0:
        return None
    return max(previous + timedelta(days=cadence), last + after)


def next_winback(at_risk_at: datetime | None, now: datetime) -> datetime | None:
    """When the win-back of a lapse episode that has no outbox row yet is due.

    At the at-risk moment, or now if that moment has passed (the episode began long ago, e.g.
    when outreach is switched on for old customers or after a long downtime): a win-back that
    was never planned is still owed once, never born 'missed' because the lapse is old.
    """
    if at_risk_at is None:
        return None
    return max(at_risk_at, now)


def winback_occasion(last_purchase_at: str) -> str:
    """The outbox occasion of the lapse episode that began after this purchase."""
    return f"winback:{last_purchase_at[:10]}"


def has_new_fact(facts: FactsRow) -> bool:
    """Whether a purchase, complaint or rating arrived after the stage was last set."""
    newest = max(
        (facts.purchases[-1] if facts.purchases else "", facts.last_ticket_at or ""),
    )
    return newest > facts.stage_since


class StageService:
    """Applies the stage rules, keeps staff overrides and answers /stage."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: StageSettings,
        outreach: OutreachSettings | None = None,
    ) -> None:
        self._db, self._clock, self._s = db, clock, settings
        self._o = outreach or OutreachSettings()

    async def refresh(self, customer_id: int) -> None:
        """Re-evaluate after a new fact; a failure is logged, never passed to the caller."""
        try:
            await self.evaluate(customer_id)
        except Exception:  # the purchase or ticket that triggered this is already committed
            log.exception("stage evaluation failed customer_id=%s", customer_id)

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
        if stage not in STAGES:
            raise InvalidArgument(f"unknown stage {stage}", usage="usage.stage")
        now = self._clock.now()
        reason = staff_reason(staff_name, note)
        async with self._db.transaction() as tx:
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
            status = recency(facts, self._s).status(now)
        return Evaluation(customer_id, stage, facts.stage, status, reason, changed, True)

    async def report(self, customer_id: int) -> StageReport:
        """Evaluate, then gather the facts and history /stage shows."""
        evaluation = await self.evaluate(customer_id)
        now = self._clock.now()
        async with self._db.read() as tx:
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
        moments = recency(facts, self._s)
        since = iso(now - timedelta(days=self._s.rating_window_days))
        values = [r.value for r in facts.ratings if r.at >= since]
        return StageReport(
            evaluation=evaluation,
            rule_stage=stage,
            rule_reason=reason,
            purchases_total=len(facts.purchases),
            purchases_90d=_count_since(facts.purchases, now - timedelta(days=90)),
            last_purchase_at=facts.purchases[-1] if facts.purchases else None,
            open_complaints=facts.open_complaints,
            rating_average=sum(values) / len(values) if values else None,
            lifetime_points=facts.lifetime_points,
            tenure_days=(now - parse_iso(facts.created_at)).days,
            at_risk_at=iso(moments.at_risk_at) if moments.at_risk_at else None,
            lapsed_at=iso(moments.lapsed_at) if moments.lapsed_at else None,
            history=history,
        )

    async def _apply(self, tx: aiosqlite.Connection, facts: FactsRow, now: datetime) -> Evaluation:
        target, reason = rule_stage(facts, self._s, now)
        current, manual = facts.stage, facts.stage_manual
        changed = False
        if manual and has_new_fact(facts):
            await repo.release_manual(tx, facts.customer_id)
            manual = False
        if not manual and target != current:
            if rank(target) > rank(current) and facts.open_complaints:
                reason = rule_reason("blocked", stage=target)
            else:
                await repo.change_stage(
                    tx,
                    facts.customer_id,
                    from_stage=current,
                    to_stage=target,
                    reason=reason.stored(),
                    manual=False,
                    staff_id=None,
                    at=iso(now),
                )
                current, changed = target, True
        moments = recency(facts, self._s)
        checkin = next_checkin(facts, current, self._o)
        last = facts.purchases[-1] if facts.purchases else None
        winback = None
        if last is not None and winback_occasion(last) not in facts.winback_occasions:
            winback = next_winback(moments.at_risk_at, now)
        await repo.set_schedule(
            tx,
            facts.customer_id,
            last_purchase_at=last,
            at_risk_at=iso(moments.at_risk_at) if moments.at_risk_at else None,
            lapsed_at=iso(moments.lapsed_at) if moments.lapsed_at else None,
            next_checkin_at=iso(checkin) if checkin else None,
            winback_due_at=iso(winback) if winback else None,
            at=iso(now),
        )
        return Evaluation(
            facts.customer_id, current, facts.stage, moments.status(now), reason, changed, manual
        )
