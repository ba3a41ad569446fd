"""Local time and working days (SLA deadlines)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.clock import LOCAL_TZ, add_working_days, local_midnight, utcnow


def test_utcnow_is_aware() -> None:
    assert utcnow().tzinfo is UTC


def test_working_days_skip_the_weekend() -> None:
    friday = datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert add_working_days(friday, 1) == datetime(2026, 11, 30, 10, tzinfo=UTC)  # Monday
    assert add_working_days(friday, 5) == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert add_working_days(friday, 0) == friday


def test_a_local_day_starts_at_midnight_in_shanghai() -> None:
    start = local_midnight(date(2026, 12, 1))
    assert start.tzinfo is LOCAL_TZ
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
