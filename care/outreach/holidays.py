"""The shop's holiday calendar: which dated occasions are greeted, on which local date.

Public holidays come from the `holidays` package (it computes the lunar festivals: 春节, 端午,
中秋) for the countries in `[outreach] holiday_countries`; the shop's own dates come from
`[outreach] shop_days`. A holiday is named as the package spells it in English (`en_US`, observed
days left out): that name is the greeting's occasion, `holiday:<name>:<year>`. A holiday of
several days (春节, 国庆) is greeted on its first day only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import holidays as calendars

# What a shop would greet its customers on, per country (names as the package spells them in
# en_US). Never a day of mourning: 清明 (Tomb-Sweeping Day) is not a greeting day.
CURATED: dict[str, tuple[str, ...]] = {
    "CN": (
        "Chinese New Year (Spring Festival)",
        "Dragon Boat Festival",
        "Mid-Autumn Festival",
        "National Day",
    ),
    "HK": ("Chinese New Year", "Dragon Boat Festival", "Christmas Day"),
    "TW": ("Chinese New Year", "Dragon Boat Festival", "Mid-Autumn Festival"),
    "SG": ("Chinese New Year", "Christmas Day"),
    "GB": ("New Year's Day", "Christmas Day"),
    "US": ("New Year's Day", "Thanksgiving Day", "Christmas Day"),
}
# Any other country: these, where its calendar has them.
GENERIC = ("New Year's Day", "Christmas Day")
MOURNING = frozenset({"Tomb-Sweeping Day"})
CANONICAL_LANGUAGE = "en_US"
ZH_LANGUAGE = "zh_CN"
# Holiday names are checked against these years' calendars (the names do not change by year).
NAME_YEARS = range(2025, 2031)
PREFIX = "holiday:"
_SLUG = re.compile(r"[^a-z0-9]+")


class HolidayConfigError(ValueError):
    """A holiday setting the calendar cannot honour; the message starts with the key."""


@dataclass(frozen=True, slots=True)
class ShopDay:
    """One of the shop's own dates: every year on (month, day), or once in `year`."""

    name: str
    month: int
    day: int
    year: int | None = None
    name_zh: str = ""


@dataclass(frozen=True, slots=True)
class Holiday:
    """A greeted holiday in one year: its date, whether it is greeted the evening before, and
    its display names."""

    name: str
    day: date
    eve: bool
    names: dict[str, str] = field(default_factory=dict)  # lang -> the package's name

    @property
    def occasion(self) -> str:
        """The outbox occasion: once per holiday per year."""
        return f"{PREFIX}{self.name}:{self.day.year}"

    @property
    def greet_on(self) -> date:
        """The local date the greeting goes out (the day before for an eve greeting)."""
        return self.day - timedelta(days=1) if self.eve else self.day

    @property
    def slug(self) -> str:
        """The name as a catalogue key part: 'Mid-Autumn Festival' -> 'mid_autumn_festival'."""
        return slug(self.name)


def slug(name: str) -> str:
    """A holiday name as a catalogue key part (apostrophes dropped: new_years_day)."""
    return _SLUG.sub("_", name.lower().replace("'", "")).strip("_")


def holiday_name(occasion: str) -> str:
    """The holiday name of an occasion 'holiday:<name>:<year>'."""
    return occasion.removeprefix(PREFIX).rpartition(":")[0]


@cache
def _country_year(country: str, year: int) -> tuple[tuple[date, str, str], ...]:
    """(date, en_US name, zh name or '') of a country's holidays in a year, observed days out."""
    english = calendars.country_holidays(
        country, years=year, observed=False, language=CANONICAL_LANGUAGE
    )
    zh_supported = ZH_LANGUAGE in english.supported_languages
    chinese = (
        calendars.country_holidays(country, years=year, observed=False, language=ZH_LANGUAGE)
        if zh_supported
        else None
    )
    found = []
    for day in sorted(english):
        en_names = english.get_list(day)
        zh_names = chinese.get_list(day) if chinese is not None else []
        for index, name in enumerate(en_names):
            zh = zh_names[index] if index < len(zh_names) else ""
            found.append((day, name, zh))
    return tuple(found)


def _known_names(country: str) -> dict[str, str]:
    """Every holiday name the country has, in en_US and in zh_CN, mapped to the en_US one."""
    known: dict[str, str] = {}
    for year in NAME_YEARS:
        for _, en, zh in _country_year(country, year):
            known[en] = en
            if zh:
                known[zh] = en
    return known


class HolidayCalendar:
    """The greeted holidays of the shop's countries and its own dates, by local date."""

    def __init__(
        self,
        countries: Sequence[str],
        names: Sequence[str] = (),
        eve: Sequence[str] = (),
        shop_days: Sequence[ShopDay] = (),
    ) -> None:
        self._countries = tuple(country.upper() for country in countries)
        for country in self._countries:
            try:
                _country_year(country, NAME_YEARS[0])
            except NotImplementedError:
                raise HolidayConfigError(
                    f"holiday_countries: no holiday calendar for {country!r}"
                    " (two-letter ISO codes such as CN, GB, US)"
                ) from None
        self._shop = {day.name: day for day in shop_days}
        self._greeted = self._resolve(names)
        unknown_eve = [name for name in eve if self._canonical(name) is None]
        if unknown_eve:
            raise HolidayConfigError(
                f"holiday_eve: not a greeted holiday: {', '.join(map(repr, unknown_eve))}"
            )
        self._eve = frozenset(self._canonical(name) for name in eve)
        self._years: dict[int, list[Holiday]] = {}

    @property
    def enabled(self) -> bool:
        """Whether any holiday is greeted at all."""
        return bool(self._greeted or self._shop)

    def _canonical(self, name: str) -> str | None:
        if name in self._shop:
            return name
        for country in self._countries:
            canonical = _known_names(country).get(name)
            if canonical is not None and canonical in self._greeted:
                return canonical
        return None

    def _resolve(self, names: Sequence[str]) -> frozenset[str]:
        """The configured names as en_US names, or every country's curated default."""
        if not names:
            chosen: set[str] = set()
            for country in self._countries:
                known = _known_names(country)
                chosen |= {n for n in CURATED.get(country, GENERIC) if n in known}
            return frozenset(chosen)
        resolved, unknown, mourning = set(), [], []
        for name in names:
            canonical = next(
                (
                    found
                    for country in self._countries
                    if (found := _known_names(country).get(name)) is not None
                ),
                None,
            )
            if canonical is None:
                unknown.append(name)
            elif canonical in MOURNING:
                mourning.append(name)
            else:
                resolved.add(canonical)
        if unknown:
            countries = ", ".join(self._countries) or "no country (holiday_countries is empty)"
            raise HolidayConfigError(
                f"holidays: unknown holiday {', '.join(map(repr, unknown))} for {countries};"
                " use the names as the holidays package spells them (en_US or zh_CN)"
            )
        if mourning:
            raise HolidayConfigError(
                f"holidays: {', '.join(map(repr, mourning))} is a day of mourning, not a day to"
                " greet customers"
            )
        return frozenset(resolved)

    def year(self, year: int) -> list[Holiday]:
        """The greeted holidays of a year, each on its first day (a name greeted once)."""
        if year not in self._years:
            self._years[year] = self._build(year)
        return self._years[year]

    def _build(self, year: int) -> list[Holiday]:
        first: dict[str, Holiday] = {}
        for country in self._countries:
            for day, en, zh in _country_year(country, year):
                if en not in self._greeted or (en in first and first[en].day <= day):
                    continue
                names = {"en": en, "zh": zh or en}
                first[en] = Holiday(en, day, en in self._eve, names)
        for shop in self._shop.values():
            if shop.year not in (None, year) or not _valid(year, shop.month, shop.day):
                continue
            names = {"en": shop.name, "zh": shop.name_zh or shop.name}
            day = date(year, shop.month, shop.day)
            first.setdefault(shop.name, Holiday(shop.name, day, shop.name in self._eve, names))
        return sorted(first.values(), key=lambda h: (h.day, h.name))

    def greeted_on(self, local: date) -> list[Holiday]:
        """The holidays whose greeting goes out on this local date (an eve: the day before)."""
        years: Iterable[int] = {local.year, (local + timedelta(days=1)).year}
        return [h for y in sorted(years) for h in self.year(y) if h.greet_on == local]

    def find(self, occasion: str) -> Holiday | None:
        """The holiday of an occasion 'holiday:<name>:<year>', if it is still greeted."""
        name = holiday_name(occasion)
        year_text = occasion.rpartition(":")[2]
        if not year_text.isdecimal():
            return None
        return next((h for h in self.year(int(year_text)) if h.name == name), None)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def parse_shop_date(text: str) -> tuple[int, int, int | None]:
    """'MM-DD' (every year) or 'YYYY-MM-DD' (once) as (month, day, year or None)."""
    parts = text.strip().split("-")
    if len(parts) == 2 and all(p.isdecimal() for p in parts):
        month, day, year = int(parts[0]), int(parts[1]), None
    elif len(parts) == 3 and all(p.isdecimal() for p in parts):
        year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
    else:
        raise HolidayConfigError(f"date: expected MM-DD or YYYY-MM-DD, got {text!r}")
    if not _valid(year or 2000, month, day):
        raise HolidayConfigError(f"date: not a date in the calendar: {text!r}")
    return month, day, year
