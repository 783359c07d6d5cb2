"""The slices of configuration that `care` services need (filled in by `bot.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("en", "zh")


@dataclass(frozen=True, slots=True)
class LocaleSettings:
    """Defaults for customers whose own language or time zone is unknown."""

    default_language: str = "en"
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.default_language not in LANGUAGES:
            raise ValueError(f"default_language: must be one of {', '.join(LANGUAGES)}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown IANA time zone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The default time zone as a ZoneInfo."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class StaffSettings:
    """Who owns the bot and where staff talk."""

    owners: list[int] = field(default_factory=list)
    chat_id: int | None = None

    def __post_init__(self) -> None:
        if any(owner <= 0 for owner in self.owners):
            raise ValueError("owners: Telegram user ids are positive integers")


@dataclass(frozen=True, slots=True)
class BusinessSettings:
    """Who the bot speaks for, and limits on what customers send."""

    name: str = "our shop"
    max_text_length: int = 2000

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name: must not be empty")
        if not 1 <= self.max_text_length <= 4096:
            raise ValueError("max_text_length: must be between 1 and 4096 (Telegram's limit)")


@dataclass(frozen=True, slots=True)
class FaqSettings:
    """When the FAQ matcher answers, suggests or falls back (scores 0–100; see the README)."""

    answer_threshold: float = 40.0
    suggest_threshold: float = 34.0
    margin: float = 10.0
    max_suggestions: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.suggest_threshold <= self.answer_threshold <= 100:
            raise ValueError(
                "suggest_threshold: need 0 <= suggest_threshold <= answer_threshold <= 100"
            )
        if not 0 <= self.margin <= 100:
            raise ValueError("margin: must be between 0 and 100")
        if not 0 <= self.max_suggestions <= 5:
            raise ValueError("max_suggestions: must be between 0 and 5")
