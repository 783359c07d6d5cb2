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
class TierSettings:
    """One loyalty tier: reached with `threshold` points earned in a rolling 12 months."""

    name: str
    threshold: int = 0
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name: must not be empty")
        if self.threshold < 0:
            raise ValueError("threshold: must be zero or more points")
        if not 0 < self.multiplier <= 10:
            raise ValueError("multiplier: must be more than 0 and at most 10")


def _default_tiers() -> list[TierSettings]:
    return [
        TierSettings("member", 0, 1.0),
        TierSettings("silver", 500, 1.25),
        TierSettings("gold", 2000, 1.5),
    ]


@dataclass(frozen=True, slots=True)
class LoyaltySettings:
    """Earning rules, tiers, the daily cap and expiry of loyalty points."""

    points_per_unit: float = 1.0
    tiers: list[TierSettings] = field(default_factory=_default_tiers)
    daily_cap: int | None = None
    expiry_months: int | None = None
    expiry_warning_days: int = 7

    def __post_init__(self) -> None:
        if not 0 < self.points_per_unit <= 1000:
            raise ValueError("points_per_unit: must be more than 0 and at most 1000")
        if not self.tiers:
            raise ValueError("tiers: at least one tier is needed")
        if self.tiers[0].threshold != 0:
            raise ValueError("tiers: the first tier must have threshold 0")
        thresholds = [tier.threshold for tier in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers: thresholds must increase strictly")
        if len({tier.name.lower() for tier in self.tiers}) != len(self.tiers):
            raise ValueError("tiers: names must be unique")
        if self.daily_cap is not None and self.daily_cap <= 0:
            raise ValueError("daily_cap: must be a positive number of points (or left out)")
        if self.expiry_months is not None and not 1 <= self.expiry_months <= 120:
            raise ValueError("expiry_months: must be between 1 and 120 (or left out)")
        if not 1 <= self.expiry_warning_days <= 60:
            raise ValueError("expiry_warning_days: must be between 1 and 60")
