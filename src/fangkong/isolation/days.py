"""Local calendar days in the platform's time zone (check-ins and the bed forecast count by
them)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fangkong.config import get_settings


def local_day(moment: datetime) -> date:
    """The local calendar day of ``moment`` in the platform's time zone."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(get_settings().timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)
