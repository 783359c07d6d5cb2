"""The segment filter: `key OP value` terms, all of which a customer must meet (pure code).

    stage>=trust recency=active language=zh,en last_purchase<30d tag!=staff open_ticket=no

OP is one of `= != >= <= > <`; a comma in the value means any of (with `!=`: none of), and is
allowed with `=` and `!=` only. `stage` is ordered aware < engaged < understanding < trust <
alliance, `tier` by the configured thresholds, `birthday_month` 1–12. `last_purchase` compares the
newest purchase with a date (`2026-01-31`, the day in UTC) or a span back from now (`30d`):
`last_purchase>30d` bought within the last 30 days, `last_purchase<30d` not since; a customer who
never bought matches no `last_purchase` term. `recency` is the stage engine's own (active,
at_risk, lapsed from the stored moments of `care.stages`). An unknown key, operator or value is a
`BadFilter` naming it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from care.clock import parse_iso
from care.errors import CareError
from care.settings import LANGUAGES, STAGES
from care.stages.rules import RECENCY, Recency
from storage.segments import CustomerFacts

KEYS = (
    "stage",
    "recency",
    "tier",
    "language",
    "last_purchase",
    "birthday_month",
    "tag",
    "open_ticket",
)
OPS = ("!=", ">=", "<=", "=", ">", "<")  # two-character operators first
_TERM = re.compile(r"^([a-z_]+)(!=|>=|<=|=|>|<)(.+)$")
_SPAN = re.compile(r"^(\d{1,4})d$")
_TAG = re.compile(r"^[\w\-.]{1,32}$")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


class BadFilter(CareError):
    """A segment filter that cannot be read: `problem` says what, `term` and `value` name it."""

    def __init__(self, problem: str, term: str, value: str = "", allowed: str = "") -> None:
        super().__init__(f"{problem}: {term} {value}".strip())
        self.problem = problem
        self.key = f"segments.error.{problem}"
        self.fields = {"term": term, "value": value, "allowed": allowed}


@dataclass(frozen=True, slots=True)
class Term:
    """One `key OP value…` condition."""

    key: str
    op: str
    values: tuple[str, ...]

    def text(self) -> str:
        """The term as written back (normalised)."""
        return f"{self.key}{self.op}{','.join(self.values)}"


@dataclass(frozen=True, slots=True)
class Filter:
    """All the terms a customer must meet (no terms: everyone)."""

    terms: tuple[Term, ...]

    def text(self) -> str:
        """The filter in its normal form, as stored."""
        return " ".join(term.text() for term in self.terms)

    def tags(self) -> set[str]:
        """The tags the filter names."""
        return {value for term in self.terms if term.key == "tag" for value in term.values}


def parse_filter(text: str, tiers: Sequence[str]) -> Filter:
    """Read a filter; BadFilter names the first unknown key, operator or value."""
    terms = []
    for word in text.split():
        match = _TERM.match(word.strip())
        if match is None:
            raise BadFilter("not_a_term", word, allowed=" ".join(OPS))
        key, op, raw = match.group(1).lower(), match.group(2), match.group(3)
        if key not in KEYS:
            raise BadFilter("unknown_key", word, key, ", ".join(KEYS))
        values = tuple(value.strip() for value in raw.split(","))
        if len(values) > 1 and op not in ("=", "!="):
            raise BadFilter("comma_needs_equals", word)
        terms.append(Term(key, op, tuple(_value(key, op, v, word, tiers) for v in values)))
    return Filter(tuple(terms))


def _value(key: str, op: str, value: str, word: str, tiers: Sequence[str]) -> str:
    ordered = key in ("stage", "tier", "last_purchase", "birthday_month")
    if not ordered and op not in ("=", "!="):
        raise BadFilter("not_ordered", word, key)
    choices: Sequence[str] | None = {
        "stage": STAGES,
        "recency": RECENCY,
        "tier": tiers,
        "language": LANGUAGES,
        "open_ticket": ("yes", "no"),
    }.get(key)
    lowered = value.lower().replace("-", "_") if key == "recency" else value.lower()
    if choices is not None:
        if key == "tier":
            found = next((tier for tier in tiers if tier.lower() == lowered), None)
            if found is None:
                raise BadFilter("unknown_value", word, value, ", ".join(tiers))
            return found
        if lowered not in choices:
            raise BadFilter("unknown_value", word, value, ", ".join(choices))
        return lowered
    if key == "birthday_month":
        if not (value.isdecimal() and 1 <= int(value) <= 12):
            raise BadFilter("unknown_value", word, value, "1–12")
        return str(int(value))
    if key == "last_purchase":
        if _SPAN.match(lowered):
            return lowered
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise BadFilter("unknown_value", word, value, "YYYY-MM-DD, 30d") from None
    if not _TAG.match(lowered):
        raise BadFilter("unknown_value", word, value)
    return lowered  # tag


def normal_tag(text: str) -> str:
    """A tag as stored (lower case); BadFilter if it is not one word."""
    tag = text.strip().lower()
    if not _TAG.match(tag):
        raise BadFilter("unknown_value", f"tag={text}", text)
    return tag


def matches(f: Filter, c: CustomerFacts, now: datetime, tiers: Sequence[str], tier: str) -> bool:
    """Whether customer `c` (whose tier is `tier`) meets every term at `now`."""
    return all(_meets(term, c, now, tiers, tier) for term in f.terms)


def recency_of(c: CustomerFacts, now: datetime) -> str:
    """active, at_risk or lapsed, by the moments the stage engine stored."""
    moments = Recency(
        parse_iso(c.at_risk_at) if c.at_risk_at else None,
        parse_iso(c.lapsed_at) if c.lapsed_at else None,
    )
    return moments.status(now)


def _meets(term: Term, c: CustomerFacts, now: datetime, tiers: Sequence[str], tier: str) -> bool:
    if term.key in ("stage", "tier", "birthday_month"):
        if term.key == "stage":
            have: int | None = STAGES.index(c.stage) if c.stage in STAGES else None
            wanted = [STAGES.index(v) for v in term.values]
        elif term.key == "tier":
            have = list(tiers).index(tier) if tier in tiers else None
            wanted = [list(tiers).index(v) for v in term.values]
        else:
            month = (c.birthday or "")[-5:-3]
            have = int(month) if month.isdecimal() else None
            wanted = [int(v) for v in term.values]
        if have is None:
            return False
        return _ordered(term.op, have, wanted)
    if term.key == "last_purchase":
        if c.last_purchase_at is None:
            return False
        value = term.values[0]
        span = _SPAN.match(value)
        if span:
            have_at = c.last_purchase_at
            limit = (now - timedelta(days=int(span.group(1)))).isoformat()
            return (
                _COMPARE[term.op](have_at, limit)
                if term.op not in ("=", "!=")
                else (_COMPARE[term.op](have_at[:10], limit[:10]))
            )
        return _COMPARE[term.op](c.last_purchase_at[:10], value)
    have_values: set[str]
    if term.key == "recency":
        have_values = {recency_of(c, now)}
    elif term.key == "language":
        have_values = {c.language}
    elif term.key == "open_ticket":
        have_values = {"yes" if c.open_tickets else "no"}
    else:  # tag
        have_values = set(c.tags)
    hit = bool(have_values & set(term.values))
    return hit if term.op == "=" else not hit


def _ordered(op: str, have: int, wanted: list[int]) -> bool:
    if op == "=":
        return have in wanted
    if op == "!=":
        return have not in wanted
    return _COMPARE[op](have, wanted[0])
