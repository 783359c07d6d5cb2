"""Service-level time: how much of a ticket's waiting counts towards its targets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care.settings import TicketSettings


def counted_time(
    start: datetime, end: datetime, settings: TicketSettings, zone: ZoneInfo
) -> timedelta:
    """The time between `start` and `end` that counts towards an SLA target.

    Without business hours every moment counts. With them, only the part of each business day
    (in `zone`) between opening and closing counts: a ticket sent at 17:30 on a Friday with
    hours "09:00-18:00" on Monday to Friday has waited 30 minutes by Monday 09:00 and 2 hours
    by Monday 10:30. Overnight hours ("18:00-09:00") close on the morning after the business
    day they open on: a ticket sent at 23:00 on a Monday is inside Monday's hours.
    """
    if end <= start:
        return timedelta(0)
    window = settings.opening_minutes()
    if window is None:
        return end - start
    opens, closes = window
    overnight = closes < opens
    total = timedelta(0)
    # an overnight window that opened the day before may still be open at `start`
    day = start.astimezone(zone).date() - timedelta(days=1 if overnight else 0)
    last = end.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() in settings.business_days:
            opening = _local(day, opens, zone)
            closing = _local(day + timedelta(days=1) if overnight else day, closes, zone)
            overlap = min(closing, end) - max(opening, start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """`minutes` after local midnight of `day`, as a UTC moment."""
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    return (midnight + timedelta(minutes=minutes)).astimezone(UTC)
