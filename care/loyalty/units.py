"""Units of the loyalty domain: money amounts, whole points, calendar months, local days."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from care.clock import iso
from care.errors import InvalidAmount
from care.settings import LocaleSettings
from storage.customers import CustomerRow

MAX_AMOUNT_CENTS = 100_000_000  # 1,000,000.00 in one purchase
MAX_POINTS = 10_000_000
_AMOUNT = re.compile(r"^\+?(\d+)(?:[.,](\d*))?$")
_POINTS = re.compile(r"^[+-]?\d+$")


def parse_amount(text: str) -> int:
    """A money amount ('120', '12.5', '12,50') in cents; InvalidAmount says what is wrong."""
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise InvalidAmount(text, "negative")
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise InvalidAmount(text, "not_a_number")
    whole, decimals = match.group(1), match.group(2) or ""
    if len(decimals) > 2:
        raise InvalidAmount(text, "too_many_decimals")
    if len(whole) > 9:
        raise InvalidAmount(text, "too_large")
    cents = int(whole) * 100 + int(decimals.ljust(2, "0"))
    if cents == 0:
        raise InvalidAmount(text, "zero")
    if cents > MAX_AMOUNT_CENTS:
        raise InvalidAmount(text, "too_large")
    return cents


def parse_points(text: str, *, signed: bool = False) -> int:
    """A whole number of points; positive unless `signed` (then '+5' or '-5', never zero)."""
    cleaned = text.strip()
    if not signed and cleaned.startswith("-"):
        raise InvalidAmount(text, "negative")
    if _POINTS.match(cleaned) is None:
        problem = "not_whole" if re.match(r"^[+-]?\d+[.,]\d+$", cleaned) else ""
        raise InvalidAmount(text, problem or "not_a_number")
    if len(cleaned.lstrip("+-")) > 9 or abs(int(cleaned)) > MAX_POINTS:
        raise InvalidAmount(text, "too_large")
    if int(cleaned) == 0:
        raise InvalidAmount(text, "zero")
    return int(cleaned)


def format_money(cents: int) -> str:
    """Cents as '12.50'."""
    return f"{cents // 100}.{cents % 100:02d}"


def add_months(moment: datetime, months: int) -> datetime:
    """The same moment `months` later (earlier if negative), clamped to the month's last day."""
    years, month_index = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month_index + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def customer_zone(customer: CustomerRow, locale: LocaleSettings) -> ZoneInfo:
    """The customer's time zone, else the configured default."""
    try:
        return ZoneInfo(customer.timezone or locale.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return locale.zone


def local_date(moment: datetime, zone: ZoneInfo) -> str:
    """The date of `moment` in `zone`, as YYYY-MM-DD."""
    return moment.astimezone(zone).date().isoformat()


def day_start(moment: datetime, zone: ZoneInfo) -> str:
    """The storage form of the start of `moment`'s day in `zone`."""
    local = moment.astimezone(zone)
    return iso(datetime.combine(local.date(), time.min, tzinfo=zone))
