"""The SLA clock: business hours by day, overnight hours, and how the hours are validated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.settings import LocaleSettings, TicketSettings
from care.tickets.hours import counted_time

SHANGHAI = LocaleSettings(timezone="Asia/Shanghai").zone  # no DST: local = UTC + 8
NIGHTS = TicketSettings(business_hours="18:00-09:00", business_days=[1, 2, 3, 4, 5])


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 given in Shanghai time (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_ticket_opened_at_23_00_is_inside_overnight_hours() -> None:
    opened = _local(23, 23, 0)
    assert counted_time(opened, opened + timedelta(minutes=30), NIGHTS, SHANGHAI) == timedelta(
        minutes=30
    )
    # the night runs on past midnight until 09:00 on Tuesday
    assert counted_time(opened, _local(24, 9, 0), NIGHTS, SHANGHAI) == timedelta(hours=10)
    assert counted_time(opened, _local(24, 12, 0), NIGHTS, SHANGHAI) == timedelta(hours=10)


def test_overnight_hours_count_nothing_during_the_day() -> None:
    assert counted_time(_local(24, 10), _local(24, 17, 59), NIGHTS, SHANGHAI) == timedelta(0)
    # from 10:00 to 19:00 only the first hour of the evening counts
    assert counted_time(_local(24, 10), _local(24, 19), NIGHTS, SHANGHAI) == timedelta(hours=1)


def test_a_ticket_opened_after_midnight_belongs_to_the_night_before() -> None:
    # Tuesday 02:00 is inside Monday's night, which closes at 09:00
    assert counted_time(_local(24, 2), _local(24, 12), NIGHTS, SHANGHAI) == timedelta(hours=7)
    # Sunday 02:00 belongs to Saturday's night: Saturday is no business day
    assert counted_time(_local(22, 2), _local(22, 12), NIGHTS, SHANGHAI) == timedelta(0)


def test_friday_night_runs_into_saturday_morning() -> None:
    friday_evening, monday_noon = _local(27, 17), _local(30, 12)
    # Friday 18:00 to Saturday 09:00 (15 h), then nothing until Monday 18:00
    assert counted_time(friday_evening, monday_noon, NIGHTS, SHANGHAI) == timedelta(hours=15)


def test_day_hours_still_count_as_before() -> None:
    days = TicketSettings(business_hours="09:00-18:00")
    assert counted_time(_local(27, 17, 30), _local(30, 10, 30), days, SHANGHAI) == timedelta(
        hours=2
    )


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ("nine to five", "expected"),
        ("09:00", "expected"),
        ("9-17", "expected"),
        ("25:00-09:00", "expected"),
        ("24:00-09:00", "expected"),
        ("09:00-09:00", "same time"),
    ],
)
def test_bad_business_hours_are_refused(hours: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"business_hours: .*{problem}"):
        TicketSettings(business_hours=hours)


def test_overnight_and_whole_day_hours_are_accepted() -> None:
    assert TicketSettings(business_hours="18:00-09:00").opening_minutes() == (1080, 540)
    assert TicketSettings(business_hours="00:00-24:00").opening_minutes() == (0, 1440)
