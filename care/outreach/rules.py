"""The rules every outreach send obeys, and the calendar arithmetic behind them (pure code)."""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from care.clock import parse_iso
from care.errors import InvalidArgument, InvalidBirthday
from care.settings import OutreachSettings
from storage.outreach import Candidate

_DAY_MONTH = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# 1990年12月25日, 12月25日, 12月25号: Chinese writes the year, then the month, then the day.
_CHINESE = re.compile(r"^(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")


@dataclass(frozen=True, slots=True)
class Birthday:
    """A customer's birthday; the year is optional."""

    month: int
    day: int
    year: int | None = None

    def stored(self) -> str:
        """The storage form: 'YYYY-MM-DD' or '--MM-DD'."""
        head = f"{self.year:04d}" if self.year else "-"
        return f"{head}-{self.month:02d}-{self.day:02d}"

    def on(self, year: int, feb29: str) -> date | None:
        """This birthday's date in `year` (Feb 29 in other years per the `feb29` policy)."""
        if (self.month, self.day) == (2, 29) and not calendar.isleap(year):
            if feb29 == "skip":
                return None
            return date(year, 2, 28) if feb29 == "feb28" else date(year, 3, 1)
        return date(year, self.month, self.day)


def parse_birthday(text: str, today: date) -> Birthday:
    """Read 'DD-MM', 'DD-MM-YYYY', 'YYYY-MM-DD' ('/' and '.' work too) or '[YYYY年]MM月DD日'.

    DD-MM is the documented form; 'MM-DD' is accepted when only it is a date (12-25: 25 is not
    a month), as Chinese customers write month first.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip()  # full-width digits are digits
    year: int | None
    if iso := _ISO.match(cleaned):
        year, month, day = (int(part) for part in iso.groups())
    elif chinese := _CHINESE.match(cleaned):
        year = int(chinese.group(1)) if chinese.group(1) else None
        month, day = int(chinese.group(2)), int(chinese.group(3))
    else:
        match = _DAY_MONTH.match(cleaned)
        if not match:
            raise InvalidArgument(f"not a birthday: {text}", usage="usage.birthday")
        day, month = int(match.group(1)), int(match.group(2))
        if month > 12 and 1 <= day <= 12:
            day, month = month, day
        year = int(match.group(3)) if match.group(3) else None
    if not 1 <= month <= 12:
        raise InvalidBirthday(cleaned, day, month, year)
    longest = calendar.monthrange(year or 2000, month)[1]  # 2000 is a leap year: 29-02 is fine
    if not 1 <= day <= longest:
        raise InvalidBirthday(cleaned, day, month, year)
    if year is not None and not (today.year - 120 <= year and date(year, month, day) <= today):
        raise InvalidBirthday(cleaned, day, month, year, bad_year=True)
    return Birthday(month, day, year)


def stored_birthday(text: str | None) -> Birthday | None:
    """Read the storage form back; None when unset or unreadable."""
    if not text or len(text) < 7:
        return None
    try:
        month, day = int(text[-5:-3]), int(text[-2:])
        year = int(text[:4]) if text[:4].isdecimal() else None
    except ValueError:
        return None
    return Birthday(month, day, year)


def month_days_on(local: date, feb29: str) -> list[str]:
    """The 'MM-DD' birthdays celebrated on a local date (Feb 29 per the policy)."""
    days = [f"{local.month:02d}-{local.day:02d}"]
    if not calendar.isleap(local.year) and (
        (feb29 == "feb28" and (local.month, local.day) == (2, 28))
        or (feb29 == "mar1" and (local.month, local.day) == (3, 1))
    ):
        days.append("02-29")
    return days


def zone_of(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """The customer's time zone, else the configured one."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return default
    return default


def local_moment(day: date, at: tuple[int, int], zone: ZoneInfo) -> datetime:
    """A local wall-clock moment as an aware UTC datetime."""
    return datetime.combine(day, time(at[0], at[1]), tzinfo=zone).astimezone(UTC)


def in_quiet_hours(moment: datetime, zone: ZoneInfo, s: OutreachSettings) -> bool:
    """Whether `moment` falls in the customer's quiet hours."""
    (sh, sm), (eh, em) = s.quiet_hours
    start, end = sh * 60 + sm, eh * 60 + em
    local = moment.astimezone(zone)
    minute = local.hour * 60 + local.minute
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def after_quiet_hours(moment: datetime, zone: ZoneInfo, s: OutreachSettings) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (the next local morning)."""
    if not in_quiet_hours(moment, zone, s):
        return moment
    local = moment.astimezone(zone)
    end = s.quiet_hours[1]
    morning = local_moment(local.date(), end, zone)
    if morning <= moment:
        morning = local_moment(local.date() + timedelta(days=1), end, zone)
    return morning


def refusal(
    c: Candidate, kind: str, at: datetime, s: OutreachSettings, *, last_promo: str | None = None
) -> str | None:
    """Why this customer must not get this kind of message at `at`, or None if they may."""
    if c.telegram_id is None:
        return "no_chat"
    if c.opted_out:
        return "opted_out"
    if c.kind_opted_out:
        return "opted_out_kind"
    if not c.reachable:
        return "unreachable"
    if kind in s.promotional:
        if c.open_complaints:
            return "open_complaint"
        latest = max(filter(None, (c.last_promo_at, last_promo)), default=None)
        if (
            kind not in s.cap_exempt
            and latest is not None
            and parse_iso(latest) > at - timedelta(days=s.frequency_cap_days)
        ):
            return "frequency_cap"
    return None
