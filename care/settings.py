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


STAGES = ("aware", "engaged", "understanding", "trust", "alliance")
OUTREACH_KINDS = ("birthday", "checkin", "winback")


@dataclass(frozen=True, slots=True)
class StageSettings:
    """Thresholds of the relationship-stage rules (see config.example.toml for the reasons)."""

    understanding_purchases: int = 2
    understanding_window_days: int = 90
    trust_purchases: int = 4
    trust_window_days: int = 180
    trust_min_rating: float = 4.0
    alliance_purchases: int = 8
    alliance_window_days: int = 365
    alliance_tenure_days: int = 365
    alliance_lifetime_points: int = 1000
    alliance_min_rating: float = 4.5
    rating_window_days: int = 365
    interaction_window_days: int = 90
    at_risk_gap_factor: float = 2.0
    at_risk_min_days: int = 14
    at_risk_default_days: int = 45
    gap_min_purchases: int = 3
    lapsed_factor: float = 2.0
    lapsed_min_days: int = 90
    reevaluate_every_hours: int = 24

    def __post_init__(self) -> None:
        for name in (
            "understanding_purchases",
            "understanding_window_days",
            "trust_purchases",
            "trust_window_days",
            "alliance_purchases",
            "alliance_window_days",
            "rating_window_days",
            "interaction_window_days",
            "at_risk_min_days",
            "at_risk_default_days",
            "lapsed_min_days",
            "reevaluate_every_hours",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if not self.understanding_purchases <= self.trust_purchases <= self.alliance_purchases:
            raise ValueError(
                "trust_purchases: must lie between the understanding and alliance ones"
            )
        for name in ("trust_min_rating", "alliance_min_rating"):
            if not 1.0 <= getattr(self, name) <= 5.0:
                raise ValueError(f"{name}: must be between 1 and 5")
        if self.at_risk_gap_factor < 1.0 or self.lapsed_factor < 1.0:
            raise ValueError("at_risk_gap_factor: factors must be at least 1")
        if self.gap_min_purchases < 2:
            raise ValueError("gap_min_purchases: at least 2 purchases make a gap")
        if self.alliance_tenure_days < 0 or self.alliance_lifetime_points < 0:
            raise ValueError("alliance_tenure_days: must not be negative")


def _clock_time(text: str, name: str) -> tuple[int, int]:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{name}: must look like HH:MM, got {text!r}")
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise ValueError(f"{name}: not a time of day: {text!r}")
    return int(hours), int(minutes)


@dataclass(frozen=True, slots=True)
class OutreachSettings:
    """When and how politely carebot reaches out (see config.example.toml)."""

    enabled: bool = True
    plan_interval_minutes: int = 5
    send_interval_seconds: int = 30
    send_rate: float = 25.0
    batch_size: int = 1000
    quiet_start: str = "21:00"
    quiet_end: str = "09:00"
    birthday_time: str = "10:00"
    feb29: str = "feb28"
    birthday_bonus: dict[str, int] = field(
        default_factory=lambda: {"engaged": 20, "understanding": 50, "trust": 100, "alliance": 200}
    )
    checkin_first_after_days: int = 3
    checkin_cadence_days: dict[str, int] = field(
        default_factory=lambda: {"engaged": 60, "understanding": 45, "trust": 60, "alliance": 90}
    )
    winback_offer_valid_days: int = 14
    frequency_cap_days: int = 7
    cap_exempt: list[str] = field(default_factory=lambda: ["birthday"])
    promotional: list[str] = field(default_factory=lambda: ["birthday", "checkin", "winback"])
    grace_hours: dict[str, int] = field(default_factory=lambda: {"checkin": 48, "winback": 72})

    def __post_init__(self) -> None:
        for name in ("quiet_start", "quiet_end", "birthday_time"):
            _clock_time(getattr(self, name), name)
        if self.feb29 not in ("feb28", "mar1", "skip"):
            raise ValueError("feb29: must be feb28, mar1 or skip")
        if self.plan_interval_minutes < 1 or self.send_interval_seconds < 1:
            raise ValueError("plan_interval_minutes: intervals must be at least 1")
        if not 0 < self.send_rate <= 30:
            raise ValueError("send_rate: must be above 0 and at most 30 (Telegram's limit)")
        if self.batch_size < 1:
            raise ValueError("batch_size: must be at least 1")
        for name in ("birthday_bonus", "checkin_cadence_days"):
            table = getattr(self, name)
            if set(table) - set(STAGES):
                raise ValueError(f"{name}: keys must be stages ({', '.join(STAGES)})")
            if any(value < 0 for value in table.values()):
                raise ValueError(f"{name}: values must not be negative")
        for name in ("cap_exempt", "promotional"):
            if set(getattr(self, name)) - set(OUTREACH_KINDS):
                raise ValueError(f"{name}: kinds are {', '.join(OUTREACH_KINDS)}")
        if set(self.grace_hours) - {"checkin", "winback"}:
            raise ValueError("grace_hours: keys are checkin and winback (birthday: same day)")
        if self.checkin_first_after_days < 0 or self.frequency_cap_days < 0:
            raise ValueError("frequency_cap_days: must not be negative")
        if self.winback_offer_valid_days < 1:
            raise ValueError("winback_offer_valid_days: must be at least 1")

    @property
    def quiet_hours(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Quiet hours' start and end as (hour, minute)."""
        return _clock_time(self.quiet_start, "quiet_start"), _clock_time(self.quiet_end, "")

    @property
    def birthday_at(self) -> tuple[int, int]:
        """The local time of day birthday greetings are sent."""
        return _clock_time(self.birthday_time, "birthday_time")

    def grace(self, kind: str) -> int:
        """Hours a late message of this kind may still go out (birthday: same day instead)."""
        return self.grace_hours.get(kind, 48)
