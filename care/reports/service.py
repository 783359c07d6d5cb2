"""The owner's report: every measure over a period in one read transaction, /report, the digest.

Recency comes from the moments the stage engine stored (`care.stages`: at_risk_at, lapsed_at
from its P(alive) model), never from a second model; response times are counted as the SLA
check counts them (`care.tickets.hours.counted_time`); tiers as loyalty reaches them
(the highest threshold the points earned in the tier window reach, as
`care.loyalty.tiers.tier_for` decides, counted in SQL).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.errors import InvalidArgument
from care.loyalty.tiers import TIER_WINDOW_MONTHS
from care.loyalty.units import add_months
from care.outbox import Outbox
from care.reports import measures as m
from care.reports.digest import digest_message
from care.reports.measures import Period, Report, Totals
from care.roles import Role
from care.settings import (
    STAGES,
    LocaleSettings,
    LoyaltySettings,
    ReportSettings,
    StaffSettings,
    StageSettings,
    TicketSettings,
)
from care.staff import StaffService
from care.stages.rules import rank
from care.tickets.hours import counted_time
from storage import customers as customers_repo
from storage import ops as ops_repo
from storage import outreach as outreach_repo
from storage import reports as repo
from storage.db import Database
from storage.reports import TicketTimes

PERIODS = {"week": 7, "month": 30}
DIGEST = "reports.digest"
DIGEST_FACT = "report_digest_week"  # the week (its start date) whose digest was queued
DIGEST_OFF = "report_digest_off:"  # + an owner's id: "1" while they opted out with /report digest


class ReportService:
    """Computes the report, answers /report and queues the weekly digest to the owners."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        locale: LocaleSettings,
        stages: StageSettings,
        tickets: TicketSettings,
        loyalty: LoyaltySettings,
        owners: StaffSettings,
        settings: ReportSettings,
        staff: StaffService,
        outbox: Outbox,
    ) -> None:
        self._db, self._clock, self._locale = db, clock, locale
        self._stages, self._tickets, self._loyalty = stages, tickets, loyalty
        self._owners, self._s, self._staff, self._outbox = owners, settings, staff, outbox

    def period(self, name: str) -> Period:
        """The last 7 (week) or 30 (month) days up to now."""
        if name not in PERIODS:
            raise InvalidArgument(f"report period {name}", usage="usage.report")
        now = self._clock.now()
        return Period(now - timedelta(days=PERIODS[name]), now)

    def dates(self, first: str, last: str) -> Period:
        """Local days `first` to `last` (YYYY-MM-DD, both included) in the [locale] zone."""
        try:
            start = datetime.combine(datetime.fromisoformat(first).date(), time(0))
            end = datetime.combine(datetime.fromisoformat(last).date(), time(0))
        except ValueError:
            raise InvalidArgument(f"dates {first} {last}", usage="usage.report") from None
        zone = self._locale.zone
        period = Period(
            start.replace(tzinfo=zone).astimezone(UTC),
            (end + timedelta(days=1)).replace(tzinfo=zone).astimezone(UTC),
        )
        if period.end <= period.start:
            raise InvalidArgument("the last day is before the first", usage="usage.report")
        return period

    async def report_for(self, actor_id: int, name: str) -> Report:
        """/report [week|month] (managers and owners): the report, the reading audited."""
        period = self.period(name)
        async with self._staff.act(actor_id, "report", name, Role.MANAGER) as act:
            report = await self._report(act.tx, period)
            act.result = "empty" if report.empty else "shown"
        return report

    async def report(self, period: Period) -> Report:
        """Every measure of `period` and the headline numbers of the one before it."""
        async with self._db.read() as tx:
            return await self._report(tx, period)

    # ------------------------------------------------------------------ digest

    async def set_digest(self, actor_id: int, wanted: bool) -> bool:
        """/report digest on|off (owners): whether the caller gets the weekly digest; audited."""
        state = "on" if wanted else "off"
        async with self._staff.act(actor_id, "report", f"digest {state}", Role.OWNER) as act:
            at = iso(self._clock.now())
            await ops_repo.set_fact(
                act.tx, f"{DIGEST_OFF}{actor_id}", "0" if wanted else "1", actor_id, at
            )
            act.result = f"digest {state}"
        return wanted

    async def queue_digest(self) -> int:
        """On the digest day from the digest time on, queue last week's digest to every owner
        once (the week is recorded with the messages); returns the messages queued."""
        if not self._s.digest or not self._owners.owners:
            return 0
        now = self._clock.now()
        local = now.astimezone(self._locale.zone)
        if local.isoweekday() != self._s.digest_weekday:
            return 0
        if (local.hour, local.minute) < self._s.digest_at:
            return 0
        midnight = datetime.combine(local.date(), time(0), tzinfo=self._locale.zone)
        week = Period(midnight - timedelta(days=7), midnight)
        key = week.start.astimezone(self._locale.zone).date().isoformat()
        async with self._db.read() as tx:
            if await ops_repo.fact(tx, DIGEST_FACT) == key:
                return 0
            report = await self._report(tx, week)
        queued = 0
        async with self._db.transaction() as tx:
            if await ops_repo.fact(tx, DIGEST_FACT) == key:
                return 0
            for owner in self._owners.owners:
                if await ops_repo.fact(tx, f"{DIGEST_OFF}{owner}") == "1":
                    continue
                known = await customers_repo.find_by_telegram_id(tx, owner)
                lang = known.language if known else self._locale.default_language
                queued += await self._outbox.add(
                    tx,
                    digest_message(owner, lang, report, key),
                    kind=DIGEST,
                    dedupe_key=f"{DIGEST}:{key}:{owner}",
                )
            await ops_repo.set_fact(tx, DIGEST_FACT, key, 0, iso(now))
        return queued

    # ------------------------------------------------------------------ measures

    async def _report(self, tx: aiosqlite.Connection, period: Period) -> Report:
        start, end = period.bounds
        now = self._clock.now()
        moment = iso(min(period.end, now))
        totals = await self._totals(tx, period)
        previous = await self._totals(tx, period.previous)
        moves = await self._moves(tx, period)
        at_risk_value, at_risk_top = await repo.at_risk_by_value(
            tx, moment, iso(period.end - timedelta(days=m.RFM_WINDOW_DAYS)), m.TOP
        )
        rfm_since = iso(period.end - timedelta(days=m.RFM_WINDOW_DAYS))
        trend_start = m.week_starts(period.end, m.TREND_WEEKS)[0]
        rated = [
            t
            for t in await repo.tickets_resolved_in(tx, iso(trend_start), end)
            if t.csat is not None
        ]
        resolved = await repo.tickets_resolved_in(tx, start, end)
        opened = await repo.tickets_opened_in(tx, start, end)
        report = Report(
            period=period,
            customers_by_stage=_all_stages(await repo.stages_at(tx, end)),
            previous_by_stage=_all_stages(await repo.stages_at(tx, start)),
            moves=moves,
            recency=_all_recency(await repo.recency_at(tx, moment)),
            at_risk_value_cents=at_risk_value,
            at_risk_top=at_risk_top,
            value_by_stage=await repo.value_by_stage(tx, start, end),
            top_customers=await repo.top_customers(tx, start, end, m.TOP),
            rfm=await repo.rfm(
                tx,
                rfm_since,
                end,
                tuple(iso(period.end - timedelta(days=d)) for d in m.RFM_RECENCY_DAYS),
                m.RFM_FREQUENCY,
            ),
            csat=_csat(rated, period),
            tickets=self._service(opened, resolved, await repo.active_tickets(tx), now),
            faq=await _faq(tx, period),
            points=await _points(tx, period),
            members_by_tier=await self._tiers(tx, period.end),
            outreach=await _outreach(tx, start, end),
            totals=totals,
            previous=previous,
        )
        return _with_movers(report)

    async def _totals(self, tx: aiosqlite.Connection, period: Period) -> Totals:
        start, end = period.bounds
        moment = iso(min(period.end, self._clock.now()))
        purchases, spend, buyers = await repo.purchases_total(tx, start, end)
        recency = await repo.recency_at(tx, moment)
        scores = [t.csat for t in await repo.tickets_resolved_in(tx, start, end) if t.csat]
        outcomes = await repo.faq_outcomes(tx, *_hours(period))
        moved = await repo.points_moved(tx, start, end)
        return Totals(
            customers=await repo.customers_before(tx, end),
            new_customers=await repo.new_customers(tx, start, end),
            purchases=purchases,
            spend_cents=spend,
            buyers=buyers,
            at_risk=recency.get("at_risk", 0),
            lapsed=await repo.lapsed_in(tx, start, moment),
            csat_average=round(sum(scores) / len(scores), 2) if scores else None,
            tickets_opened=len(await repo.tickets_opened_in(tx, start, end)),
            faq_questions=sum(outcomes.values()),
            points_issued=moved.get("earn", 0) + moved.get("bonus", 0),
            points_redeemed=-moved.get("redeem", 0),
        )

    async def _moves(self, tx: aiosqlite.Connection, period: Period) -> m.Moves:
        start, end = period.bounds
        up = down = 0
        for source, target, count in await repo.stage_moves(tx, start, end):
            if source in STAGES and target in STAGES:
                if rank(target) > rank(source):
                    up += count
                elif rank(target) < rank(source):
                    down += count
        moment = iso(min(period.end, self._clock.now()))
        # Back after at least the shortest lapse the stage rules allow (`lapsed_min_days`).
        gap = f"-{self._stages.lapsed_min_days} days"
        return m.Moves(
            up=up,
            down=down,
            lapsed=await repo.lapsed_in(tx, start, moment),
            came_back=await repo.came_back(tx, start, end, gap),
        )

    def _counted_hours(self, start: str, end: datetime) -> float:
        waited = counted_time(parse_iso(start), end, self._tickets, self._locale.zone)
        return waited.total_seconds() / 3600

    def _times(self, tickets: list[TicketTimes], threshold: str) -> m.Times:
        hours, met, targeted = [], 0, 0
        for ticket in tickets:
            first = threshold == "first_response"
            stop = ticket.first_response_at if first else ticket.resolved_at
            if stop is None:
                continue
            counted = self._counted_hours(ticket.created_at, parse_iso(stop))
            hours.append(counted)
            target = self._tickets.target_hours(threshold, ticket.kind)
            if target > 0:
                targeted += 1
                met += counted <= target
        median, p90 = m.median_p90(hours)
        return m.Times(len(hours), _round(median), _round(p90), m.share(met, targeted))

    def _service(
        self,
        opened: list[TicketTimes],
        resolved: list[TicketTimes],
        active: list[TicketTimes],
        now: datetime,
    ) -> m.Service:
        overdue = 0
        for ticket in active:
            waited = self._counted_hours(ticket.created_at, now)
            response = self._tickets.target_hours("first_response", ticket.kind)
            resolution = self._tickets.target_hours("resolution", ticket.kind)
            late_reply = ticket.first_response_at is None and 0 < response < waited
            overdue += late_reply or 0 < resolution < waited
        return m.Service(
            opened=len(opened),
            resolved=len(resolved),
            overdue=overdue,
            first_response=self._times(opened, "first_response"),
            resolution=self._times(resolved, "resolution"),
        )

    async def _tiers(self, tx: aiosqlite.Connection, end: datetime) -> dict[str, int]:
        """Customers by the tier their points earned in the tier window reach (`tier_for`)."""
        since = iso(add_months(end, -TIER_WINDOW_MONTHS))
        tiers = self._loyalty.tiers
        counts = await repo.customers_by_earned(
            tx, since, iso(end), tuple(tier.threshold for tier in tiers)
        )
        earning = sum(counts.values())
        everyone = await repo.customers_before(tx, iso(end))
        result = {tier.name: counts.get(i, 0) for i, tier in enumerate(tiers)}
        # Those who earned nothing are in the first tier (threshold 0), as `tier_for` says.
        result[tiers[0].name] += max(0, everyone - earning) + counts.get(-1, 0)
        return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _all_stages(counts: dict[str, int]) -> dict[str, int]:
    return {stage: counts.get(stage, 0) for stage in STAGES}


def _all_recency(counts: dict[str, int]) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in ("active", "at_risk", "lapsed")}


def _hours(period: Period) -> tuple[str, str]:
    """The FAQ counters' hours that overlap the period: from its start's hour to its end's."""
    start, end = iso(period.start)[:13], iso(period.end)[:13]
    # An end inside an hour takes that hour in: "~" sorts after every "HH" of the same hour.
    return start, end if iso(period.end)[13:19] == ":00:00" else end + "~"


def _csat(rated: list[TicketTimes], period: Period) -> m.Csat:
    start, end = period.bounds
    scores = [t for t in rated if t.resolved_at is not None and start <= t.resolved_at < end]
    values = [int(t.csat or 0) for t in scores]
    distribution = {score: values.count(score) for score in range(1, 6)}
    kinds: dict[str, list[int]] = {}
    for ticket in scores:
        kinds.setdefault(ticket.kind, []).append(int(ticket.csat or 0))
    weekly = []
    for week in m.week_starts(period.end, m.TREND_WEEKS):
        lo, hi = iso(week), iso(week + timedelta(days=7))
        in_week = [int(t.csat or 0) for t in rated if t.resolved_at and lo <= t.resolved_at < hi]
        average = round(sum(in_week) / len(in_week), 2) if in_week else None
        weekly.append((lo[:10], average, len(in_week)))
    return m.Csat(
        average=round(sum(values) / len(values), 2) if values else None,
        count=len(values),
        distribution=distribution,
        low_share=m.share(distribution[1] + distribution[2], len(values)),
        by_kind={k: round(sum(v) / len(v), 2) for k, v in sorted(kinds.items())},
        weekly=weekly,
    )


async def _faq(tx: aiosqlite.Connection, period: Period) -> m.Faq:
    start, end = period.bounds
    outcomes = await repo.faq_outcomes(tx, *_hours(period))
    helpful, unhelpful = await repo.faq_votes(tx, start, end)
    return m.Faq(
        questions=sum(outcomes.values()),
        answered=outcomes.get("answer", 0),
        suggested=outcomes.get("suggest", 0),
        fallback=outcomes.get("fallback", 0),
        helpful=helpful,
        unhelpful=unhelpful,
        top_unanswered=await repo.top_unanswered(tx, start, end, 5),
    )


async def _points(tx: aiosqlite.Connection, period: Period) -> m.Points:
    start, end = period.bounds
    moved = await repo.points_moved(tx, start, end)
    return m.Points(
        issued=moved.get("earn", 0) + moved.get("bonus", 0),
        redeemed=-moved.get("redeem", 0),
        expired=-moved.get("expire", 0),
        adjusted=moved.get("adjust", 0),
        outstanding=await repo.points_outstanding(tx, end),
    )


async def _outreach(tx: aiosqlite.Connection, start: str, end: str) -> m.Outreach:
    sent = replies = won_back = 0
    failed: Counter[str] = Counter()
    for _kind, measure, count in await outreach_repo.stats(tx, start, end):
        if measure == "sent":
            sent += count
        elif measure == "replies":
            replies += count
        elif measure == "won_back":
            won_back += count
        elif measure.startswith("failed:"):
            failed[measure.split(":", 1)[1] or "unknown"] += count
    return m.Outreach(sent, dict(sorted(failed.items())), replies, won_back)


def _with_movers(report: Report) -> Report:
    report.movers.extend(m.movers(report.totals, report.previous))
    return report
