"""Segments and tags: staff save named filters over customers, count them, and tag customers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from care.clock import Clock, iso
from care.customers import find_customer
from care.errors import CareError, InvalidArgument
from care.loyalty.tiers import TIER_WINDOW_MONTHS, tier_for
from care.loyalty.units import add_months
from care.roles import Role
from care.segments.filter import BadFilter, Filter, matches, normal_tag, parse_filter
from care.settings import LoyaltySettings, OutreachSettings
from care.staff import StaffService
from storage import segments as repo
from storage.db import Database
from storage.segments import CustomerFacts

SAMPLES = 5
_NAME = re.compile(r"^[\w\-.]{1,32}$")


class UnknownSegment(CareError):
    """No segment has this name."""

    key = "segments.error.unknown_segment"

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown segment {name}")
        self.fields = {"name": name}


@dataclass(frozen=True, slots=True)
class SegmentView:
    """A segment with its live count and a few of its customers' names."""

    name: str
    filter: str
    count: int
    samples: tuple[str, ...]
    created: bool = False


@dataclass(frozen=True, slots=True)
class Tagged:
    """The outcome of /tag: whose, which tag, and whether it is new."""

    who: str
    tag: str
    added: bool


class SegmentService:
    """Parses, saves and evaluates segment filters; tags customers."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        loyalty: LoyaltySettings,
        outreach: OutreachSettings,
        staff: StaffService,
    ) -> None:
        self._db, self._clock, self._loyalty, self._outreach = db, clock, loyalty, outreach
        self._staff = staff
        self.tiers = tuple(tier.name for tier in loyalty.tiers)

    def parse(self, text: str) -> Filter:
        """A filter in the /segment syntax (BadFilter names what is wrong)."""
        return parse_filter(text, self.tiers)

    async def define(self, actor_id: int, name: str, text: str) -> SegmentView:
        """/segment new NAME terms…: save (or replace) the segment; its live count."""
        async with self._staff.act(actor_id, "segment", f"new {name} {text}", Role.STAFF) as act:
            if not _NAME.match(name) or not text.strip():
                raise InvalidArgument("segment name or terms", usage="usage.segment")
            parsed = await self.checked(act.tx, text)
            now = iso(self._clock.now())
            created = await repo.save(act.tx, name, parsed.text(), actor_id, now)
            view = await self._view(act.tx, name, parsed, created)
            act.result = f"saved {name} count={view.count}"
        return view

    async def show(self, actor_id: int, name: str) -> SegmentView:
        """/segment show NAME: the live count and five sample names."""
        async with self._staff.act(actor_id, "segment", f"show {name}", Role.STAFF) as act:
            row = await repo.find(act.tx, name)
            if row is None:
                raise UnknownSegment(name)
            view = await self._view(act.tx, name, self.parse(row.filter), False)
            act.result = f"count={view.count}"
        return view

    async def names(self, actor_id: int) -> list[tuple[str, str]]:
        """/segment list: every saved segment's name and filter."""
        async with self._staff.act(actor_id, "segment", "list", Role.STAFF) as act:
            rows = await repo.list_all(act.tx)
            act.result = f"listed {len(rows)}"
        return [(row.name, row.filter) for row in rows]

    async def tag(self, actor_id: int, reference: str, tag: str) -> Tagged:
        """/tag <customer> <tag>: put a tag on a customer (audited)."""
        async with self._staff.act(actor_id, "tag", f"{reference} {tag}", Role.STAFF) as act:
            if not reference.strip() or not tag.strip():
                raise InvalidArgument("tag arguments", usage="usage.tag")
            customer = await find_customer(act.tx, reference, act.region)
            normal = normal_tag(tag)
            added = await repo.add_tag(act.tx, customer.id, normal, iso(self._clock.now()))
            act.result = f"{'tagged' if added else 'had'} {customer.id} {normal}"
        return Tagged(customer.name or customer.member_code, normal, added)

    async def checked(self, tx: aiosqlite.Connection, text: str) -> Filter:
        """A parsed filter whose tags exist (an unknown tag is an error that names it)."""
        parsed = self.parse(text)
        unknown = sorted(parsed.tags() - await repo.known_tags(tx))
        if unknown:
            raise BadFilter("unknown_tag", f"tag={unknown[0]}", unknown[0])
        return parsed

    async def resolve(self, tx: aiosqlite.Connection, text: str) -> Filter:
        """A saved segment's filter by name, else `text` read as a filter."""
        row = await repo.find(tx, text.strip())
        return await self.checked(tx, row.filter if row is not None else text)

    async def members(
        self, tx: aiosqlite.Connection, f: Filter, now: datetime
    ) -> list[CustomerFacts]:
        """Every customer the filter selects at `now`, in id order."""
        facts = await repo.all_facts(
            tx,
            earned_since=iso(add_months(now, -TIER_WINDOW_MONTHS)),
            capped_kinds=[
                k for k in self._outreach.promotional if k not in self._outreach.cap_exempt
            ],
        )
        return [c for c in facts if matches(f, c, now, self.tiers, self.tier(c))]

    def tier(self, c: CustomerFacts) -> str:
        """The customer's tier from the points earned in the tier window."""
        return tier_for(self._loyalty, c.earned_12m).name

    async def _view(
        self, tx: aiosqlite.Connection, name: str, f: Filter, created: bool
    ) -> SegmentView:
        found = await self.members(tx, f, self._clock.now())
        samples = tuple(c.name or f"#{c.id}" for c in found[:SAMPLES])
        return SegmentView(name, f.text(), len(found), samples, created)
