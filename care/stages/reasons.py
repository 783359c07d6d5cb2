"""Stage reasons: why a stage is what it is, as a catalogue key and fields, and how it is stored.

Reasons are results, not sentences: a `Reason` names a catalogue key (`stage.reason.<code>`) and
its fields, and `stage_history.reason` stores it in a compact form that either language can render
later (`rule:purchases_in_window:count=5,days=180`, `staff:@anna:our landlord`). Rows written in
free text (by older versions, imports, merges, demo data) read back as free text, shown as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STAFF_CODES = ("staff", "staff_note")

_RULE_FORM = re.compile(r"rule:([a-z_]+)(?::([a-z_]+=[^,=:]*(?:,[a-z_]+=[^,=:]*)*))?")
_STAFF_FORM = re.compile(r"staff:([^:\s]+)(?::(.*))?", re.DOTALL)


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
