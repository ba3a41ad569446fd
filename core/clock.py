"""Time: every timestamp is stored in UTC; people see the hotline's local time (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def add_working_days(start: datetime, days: int) -> datetime:
    """SLA deadlines count working days (Monday to Friday)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def local_midnight(day: date) -> datetime:
    """The start of a local calendar day (filters by date count local days)."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
