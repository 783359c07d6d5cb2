"""Callback data for inline buttons: built, matched and parsed in one place, never trusted.

Callback data is `feature:verb[:arg…]`. Telegram returns whatever a client sends, so parsing
checks the shape, every number's range and every word against its choices, and raises
`ExpiredButton` for anything else; the handler answers that button as expired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from care.errors import ExpiredButton

MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
MAX_ID = 2**53  # Telegram ids fit; SQLite's INTEGER (2**63 - 1) is never overflowed

Arg = int | str


@dataclass(frozen=True, slots=True)
class Choice:
    """An argument that must be one of a few words."""

    words: tuple[str, ...]

    def __init__(self, *words: str) -> None:
        object.__setattr__(self, "words", words)


@dataclass(frozen=True, slots=True)
class Number:
    """A whole-number argument within [low, high]."""

    low: int = 0
    high: int = MAX_ID


ID = Number(1, MAX_ID)
ArgSpec = Number | Choice


def build(feature: str, verb: str, *args: Arg) -> str:
    """The callback data for a button; ValueError if Telegram would refuse it."""
    data = ":".join((feature, verb, *(str(arg) for arg in args)))
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data longer than {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def pattern(feature: str, *verbs: str) -> re.Pattern[str]:
    """A pattern for a CallbackQueryHandler: this feature and one of these verbs, any args."""
    alternatives = "|".join(re.escape(verb) for verb in verbs) if verbs else r"[a-z_]+"
    return re.compile(rf"^{re.escape(feature)}:(?:{alternatives})(?::|$)")


def parse(data: str | None, feature: str, verb: str, *specs: ArgSpec) -> tuple[Arg, ...]:
    """The arguments of `feature:verb:…`, checked against `specs`; ExpiredButton otherwise."""
    parts = (data or "").split(":")
    if len(parts) != 2 + len(specs) or parts[0] != feature or parts[1] != verb:
        raise ExpiredButton()
    return tuple(_check(text, spec) for text, spec in zip(parts[2:], specs, strict=True))


def verb_of(data: str | None) -> str:
    """The verb of callback data (the second part), or '' when there is none."""
    parts = (data or "").split(":")
    return parts[1] if len(parts) > 1 else ""


def _check(text: str, spec: ArgSpec) -> Arg:
    if isinstance(spec, Choice):
        if text not in spec.words:
            raise ExpiredButton()
        return text
    # isdecimal() also accepts other scripts' digits; a button we built is plain ASCII.
    if not text.isascii() or not text.isdecimal() or len(text) > len(str(spec.high)):
        raise ExpiredButton()
    number = int(text)
    if not spec.low <= number <= spec.high:
        raise ExpiredButton()
    return number
