"""三率 and volumes (casestore/services/stats.py) over the daily counts of tickets with known
histories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketEvent, TicketMonth
from casestore.schemas import TicketDraft
from casestore.services import rollup, stats
from casestore.services.stats import Figures, Scope
from casestore.services.tickets import create_ticket
from core.clock import LOCAL_TZ, utcnow
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body

GRID, OTHER_GRID = "510107001001001", "510107001001002"


def ticket(session: Session, taxonomy: Taxonomy, n: int, **fields: Any) -> Ticket:
    body = draft_body(
        submission_key=f"web-stats-{n:04d}",
        grid_code=fields.pop("grid", GRID),
        contact_phone=fields.pop("phone", f"1391234{n:04d}"),
        conversation_id=f"web-stats-{n:04d}",
        **({"category": fields.pop("category")} if "category" in fields else {}),
    )
    filed, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                             taxonomy=taxonomy)  # fmt: skip
    for name, value in fields.items():
        setattr(filed, name, value)
    return filed


def event(t: Ticket, kind: str, after_hours: float, **data: Any) -> None:
    moment = t.created_at + timedelta(hours=after_hours)
    t.events.append(TicketEvent(kind=kind, actor="staff:li", data=data, created_at=moment))


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def around_today(**more: Any) -> Scope:
    return Scope(since=today() - timedelta(days=1), until=today() + timedelta(days=1), **more)


def history(session: Session, taxonomy: Taxonomy) -> None:
    quick = ticket(session, taxonomy, 1, status="closed", rating="satisfied")
    quick.closed_at = quick.created_at + timedelta(hours=30)
    event(quick, "dispatched", 2)
    late = ticket(session, taxonomy, 2, status="closed", rating="dissatisfied")
    late.closed_at = late.due_at + timedelta(hours=1)  # after its deadline
    event(late, "dispatched", 100)  # days later: not a response in time
    back = ticket(session, taxonomy, 3, status="reopened", rating="unresolved")
    event(back, "dispatched", 1)
    event(back, "rated", 40, rating="unresolved", **{"from": "resolved", "to": "reopened"})
    ticket(session, taxonomy, 4)  # filed, nothing yet
    spam = ticket(session, taxonomy, 5, status="rejected")  # not a valid ticket
    event(spam, "dispatched", 3)  # dispatched, then rejected: dispatched but not valid
    ticket(session, taxonomy, 6, grid=OTHER_GRID, status="resolved", channel="hotline")
    session.commit()
    rollup.refresh(session)


def test_the_rates_follow_their_definitions(session: Session, taxonomy: Taxonomy) -> None:
    history(session, taxonomy)
    found = stats.figures(session, around_today())
    assert (found.filed, found.valid, found.dispatched) == (6, 5, 4)
    assert found.responded == 2 and found.response_rate == 2 / 5  # quick, back
    assert (found.closed, found.closed_on_time, found.closed_late) == (2, 1, 1)
    assert found.on_time_rate == 1 / 2
    assert found.solved == 3  # quick, late (closed after its deadline) and elsewhere; not back
    assert found.solve_rate == 3 / 5
    assert (found.rated, found.satisfied, found.unsatisfied) == (3, 1, 2)
    assert found.satisfaction_rate == 1 / 3
    assert found.reopened == 1 and found.reopen_rate == 1 / 5
    assert found.repeated == 0 and found.repeat_rate == 0
    assert sum(found.dispatch_hist) == 3  # the valid ones dispatched
    assert found.dispatch_hist[1] == 1 and found.dispatch_hist[0] == 1  # 1 h and 2 h
    # 1, 2 and 100 hours: the median (2 h) lies in the 1–2 h bucket, read as its middle
    assert found.hours_to_dispatch == 1.5
    assert sum(found.close_hist) == 2 and found.hours_to_close is not None
    scoped = stats.figures(session, around_today(grids=(OTHER_GRID,)))
    assert (scoped.filed, scoped.solved) == (1, 1)
    assert stats.figures(session, around_today(channel="hotline")).filed == 1
    assert stats.figures(session, around_today(grids=())).filed == 0
    later = Scope(since=today() + timedelta(days=5), until=today() + timedelta(days=6))
    empty = stats.figures(session, later)
    assert empty == Figures.zero() and empty.response_rate is None
    assert empty.hours_to_dispatch is None


def test_figures_add_up_and_the_breakdowns_split_them(session: Session, taxonomy: Taxonomy) -> None:
    history(session, taxonomy)
    whole = stats.figures(session, around_today())
    by_grid = stats.breakdown(session, around_today(), "grid_code")
    assert [key for key, _ in by_grid] == [GRID, OTHER_GRID]  # most filed first
    assert by_grid[0][1] + by_grid[1][1] == whole
    assert sum((f for _, f in by_grid), Figures.zero()) == whole
    by_channel = dict(stats.breakdown(session, around_today(), "channel"))
    assert {k: f.filed for k, f in by_channel.items()} == {"webchat": 5, "hotline": 1}
    assert [key for key, _ in stats.breakdown(session, around_today(), "assignee")] == [""]
    with pytest.raises(ValueError):
        stats.breakdown(session, around_today(), "phone")
    # Without the hours: the same counts, empty histograms (tables that show no medians).
    for key, counted in stats.breakdown(session, around_today(), "grid_code", hours=False):
        full = dict(by_grid)[key]
        assert counted.filed == full.filed and counted.satisfied == full.satisfied
        assert counted.repeated == full.repeated and counted.closed_on_time == full.closed_on_time
        assert sum(counted.dispatch_hist) == 0 and counted.hours_to_close is None
        assert full.dispatch_hist == counted.dispatch_hist or sum(full.dispatch_hist) > 0
    many = tuple(f"9{n:014d}" for n in range(1200)) + (OTHER_GRID,)  # chunked IN lists
    assert stats.figures(session, around_today(grids=many)).filed == 1


def test_series_fill_every_period(session: Session, taxonomy: Taxonomy) -> None:
    history(session, taxonomy)
    day = today()
    days = stats.series(session, Scope(since=day - timedelta(days=3), until=day), "day")
    assert [d for d, _ in days] == [day - timedelta(days=n) for n in (3, 2, 1, 0)]
    assert [n for _, n in days] == [0, 0, 0, 6]
    weeks = stats.series(session, Scope(since=day - timedelta(days=20), until=day), "week")
    assert all(d.weekday() == 0 for d, _ in weeks) and weeks[-1][1] == 6
    assert sum(n for _, n in weeks) == 6 and len(weeks) in (3, 4)
    months = stats.series(session, Scope(since=date(2025, 11, 15), until=date(2026, 2, 3)), "month")
    assert [d for d, _ in months] == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1),
                                      date(2026, 2, 1)]  # fmt: skip
    with pytest.raises(ValueError):
        stats.series(session, around_today(), "year")


def test_daily_counts_and_overdue_open(session: Session, taxonomy: Taxonomy) -> None:
    history(session, taxonomy)
    counts = stats.daily_counts(session, today() - timedelta(days=2), today())
    assert counts == {(GRID, "urban_construction"): {today(): 5},
                      (OTHER_GRID, "urban_construction"): {today(): 1}}  # fmt: skip
    assert stats.daily_counts(session, today(), today(), ("channel",))[("hotline",)] == {today(): 1}
    later = utcnow() + timedelta(days=60)  # every open ticket past its deadline by then
    assert stats.overdue_open(session, later, None) == {GRID: 2}  # waiting, back
    assert stats.overdue_open(session, later, (OTHER_GRID,)) == {}
    assert stats.overdue_open(session, utcnow(), None) == {}
    assert stats.refreshed_to(session) is not None


def test_refreshed_to_is_the_watermark(session: Session, taxonomy: Taxonomy) -> None:
    assert stats.refreshed_to(session) is None
    ticket(session, taxonomy, 1)
    session.commit()
    moment = utcnow()
    rollup.refresh(session, now=moment)
    assert stats.refreshed_to(session) == moment - rollup.SAFETY_MARGIN


def test_median_hours_interpolates_inside_the_bucket() -> None:
    assert stats.median_hours((0,) * 10) is None
    assert stats.median_hours((0, 0, 0, 0, 2, 0, 0, 0, 0, 0)) == 16.0  # 8–24 h, halfway
    assert stats.median_hours((1, 0, 0, 0, 0, 0, 0, 0, 0, 1)) == 1.0  # the first bucket's top
    assert stats.median_hours((0,) * 9 + (4,)) == 360.0  # open bucket: 240–480 h


def months_history(session: Session, taxonomy: Taxonomy) -> int:
    """240 tickets every 11 hours from 1 January 2026 (into April), in two grids, two
    categories, two channels, with dispatches, closures, ratings, rejections and repeats;
    how many were filed."""
    start = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    categories = ("urban_construction", "transportation")
    for n in range(1, 241):
        at = start + timedelta(hours=11 * n)
        category = categories[n % 2]
        t = ticket(session, taxonomy, n, grid=OTHER_GRID if n % 3 == 0 else GRID,
                   category=category, phone=f"1390000{n % 20:04d}",
                   channel="hotline" if n % 5 == 0 else "webchat", created_at=at,
                   due_at=at + timedelta(days=5))  # fmt: skip
        if category == "urban_construction" and n % 4 == 1:
            t.subcategory = "municipal_facilities"
        if n % 2:
            event(t, "dispatched", n % 30)
        if n % 4 == 0:
            t.status, t.closed_at = "closed", at + timedelta(hours=n % 200)
            t.rating = ("satisfied", "dissatisfied", "unresolved")[n % 3]
        elif n % 7 == 0:
            t.status = "rejected"
    session.commit()
    rollup.refresh(session)
    return 240


def by_days(session: Session, scope: Scope) -> Figures:
    """The reference: the scope's figures from the daily counts only."""
    return stats._figures(session, stats._parts(scope, months=False), scope)


def test_the_plan_reads_whole_months_and_the_fewer_days() -> None:
    today = date(2026, 12, 2)
    plan = [
        (part.table.name, part.first, part.end, part.sign)
        for part in stats._parts(Scope(date(2026, 1, 10), date(2026, 3, 5)), today=today)
    ]
    assert plan == [
        ("ticket_month", date(2026, 1, 1), date(2026, 3, 1), 1),  # January less 9 days
        ("ticket_day", date(2026, 1, 1), date(2026, 1, 10), -1),
        ("ticket_day", date(2026, 3, 1), date(2026, 3, 6), 1),  # 5 days of March
    ]  # fmt: skip
    inside = stats._parts(Scope(date(2026, 2, 3), date(2026, 2, 25)), today=today)
    assert [(p.table.name, p.first, p.end, p.sign) for p in inside] == [
        ("ticket_month", date(2026, 2, 1), date(2026, 3, 1), 1),
        ("ticket_day", date(2026, 2, 1), date(2026, 2, 3), -1),
        ("ticket_day", date(2026, 2, 26), date(2026, 3, 1), -1),
    ]  # fmt: skip
    # The month in progress: the days after today hold no tickets yet.
    current = stats._parts(Scope(date(2026, 12, 1), date(2026, 12, 1)), today=today)
    assert [(p.table.name, p.sign) for p in current] == [("ticket_day", 1)]
    days = stats._parts(Scope(date(2026, 1, 25), date(2026, 2, 5)), today=today)
    assert [(p.table.name, p.first, p.end) for p in days] == [
        ("ticket_day", date(2026, 1, 25), date(2026, 2, 6))
    ]
    assert stats._parts(Scope(date(2026, 2, 5), date(2026, 2, 4))) == []


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (date(2026, 1, 10), date(2026, 3, 20)),  # months less days at both ends
        (date(2026, 1, 25), date(2026, 3, 5)),  # days, a whole month, days
        (date(2026, 2, 3), date(2026, 2, 25)),  # within a month: the month less its ends
        (date(2026, 2, 10), date(2026, 2, 12)),  # within a month: its days
        (date(2026, 1, 1), date(2026, 3, 31)),  # whole months
        (date(2025, 12, 15), date(2026, 4, 30)),  # beyond the history at both ends
        (date(2026, 3, 31), date(2026, 4, 1)),
    ],
)
def test_months_and_days_give_the_figures_of_the_days(
    session: Session, taxonomy: Taxonomy, since: date, until: date
) -> None:
    months_history(session, taxonomy)
    for more in ({}, {"grids": (OTHER_GRID,)}, {"category": "transportation"},
                 {"channel": "hotline", "grids": (GRID, OTHER_GRID)},
                 {"subcategory": "municipal_facilities"}, {"grids": ()}):  # fmt: skip
        scope = Scope(since, until, **more)
        assert stats.figures(session, scope) == by_days(session, scope), more
        for by in ("grid_code", "category", "subcategory", "channel"):
            parts = stats._parts(scope, months=False)
            reference = stats._breakdown(session, parts, scope, by, stats._SUMMED)
            assert stats.breakdown(session, scope, by) == reference, (more, by)
        reference_series = stats._series(session, stats._parts(scope, months=False), scope,
                                         "month")  # fmt: skip
        assert stats.series(session, scope, "month") == reference_series, more


def test_months_and_days_count_every_ticket_once(session: Session, taxonomy: Taxonomy) -> None:
    filed = months_history(session, taxonomy)
    whole = stats.figures(session, Scope(date(2026, 1, 1), date(2026, 4, 30)))
    assert whole.filed == filed and whole.valid == filed - 26  # n % 7 == 0, not n % 4 == 0: 34 - 8
    assert whole.closed == 60 and whole.rated == 60 and whole.dispatched == 120
    first_scope = Scope(date(2026, 1, 1), date(2026, 2, 14))
    first = stats.figures(session, first_scope)
    second = stats.figures(session, Scope(date(2026, 2, 15), date(2026, 4, 30)))
    assert first + second == whole and 0 < first.filed < filed
    months = stats.series(session, Scope(date(2026, 1, 9), date(2026, 4, 30)), "month")
    assert sum(n for _, n in months) + stats.figures(
        session, Scope(date(2026, 1, 1), date(2026, 1, 8))
    ).filed == filed  # fmt: skip
    # Daily counts written before the monthly table was built: read by day meanwhile.
    session.execute(delete(TicketMonth))
    assert stats.figures(session, Scope(date(2026, 1, 1), date(2026, 4, 30))) == whole
    assert stats.breakdown(session, Scope(date(2026, 1, 1), date(2026, 2, 14)), "channel") == (
        stats._breakdown(
            session, stats._parts(first_scope, months=False), first_scope, "channel", stats._SUMMED
        )
    )


def test_counts_summed_two_to_a_column_are_the_plain_sums(
    session: Session, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    months_history(session, taxonomy)
    scope = Scope(date(2026, 1, 10), date(2026, 3, 20))
    found = [stats.figures(session, scope),
             *(stats.breakdown(session, scope, by) for by in stats.BREAKDOWNS)]  # fmt: skip
    monkeypatch.setattr(stats, "_packed", lambda session: False)
    plain = [stats.figures(session, scope),
             *(stats.breakdown(session, scope, by) for by in stats.BREAKDOWNS)]  # fmt: skip
    assert found == plain and plain[0].filed > 100 and sum(plain[0].close_hist) > 0
    total = [0] * 33
    stats._add(total, [5 + 7 * 2**32, 2**32], 1, packed=True)
    assert total[:4] == [5, 7, 0, 1]
