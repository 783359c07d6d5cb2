"""Service-level time: how much of a ticket's waiting counts towards its targets."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care.settings import TicketSettings


def counted_time(
    start: datetime, end: datetime, settings: TicketSettings, zone: ZoneInfo
) -> timedelta:
    """The time between `start` and `end` that counts towards an SLA target.

    Without business hours every moment counts. With them, only the part of each business day
    (in `zone`) between opening and closing counts: a ticket sent at 17:30 on a Friday with
    hours "09:00-18:00" on Monday to Friday has waited 30 minutes by Monday 09:00 and 2 hours
    by Monday 10:30.
    """
    if end <= start:
        return timedelta(0)
    window = settings.opening_minutes()
    if window is None:
        return end - start
    opens, closes = window
    total = timedelta(0)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() in settings.business_days:
            midnight = datetime.combine(day, time(0), tzinfo=zone)
            opening = (midnight + timedelta(minutes=opens)).astimezone(UTC)
            closing = (midnight + timedelta(minutes=closes)).astimezone(UTC)
            overlap = min(closing, end) - max(opening, start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total
