"""Time: the database stores naive UTC; "today" for every rule is the county's local day (北京时间 by default).

The offset comes from TUANJIAN_TIMEZONE_OFFSET_HOURS (create_app sets it once per process).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from .models.base import utcnow

UTC_OFFSET_HOURS = 8


def set_offset(hours: int) -> None:
    global UTC_OFFSET_HOURS
    UTC_OFFSET_HOURS = int(hours)


def to_local(value: datetime) -> datetime:
    return value + timedelta(hours=UTC_OFFSET_HOURS)


def local_date(now: datetime) -> date:
    """The local calendar day of a naive-UTC instant."""
    return to_local(now).date()


def local_today() -> date:
    return local_date(utcnow())
