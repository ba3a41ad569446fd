"""The daily counts (统计日表, ``TicketDay``): every ticket counted once, under the local day
it was filed, by grid, category, subcategory, channel, department and assignee.

The dashboard, the early warnings and the assessment read these rows instead of the ticket
table, so that a year's figures over a million tickets stay a sum over a few thousand rows.

Counting rules per ticket (the definitions of ``casestore.services.stats``):

* filed — every ticket; valid — not rejected (不予受理) or merged (已合并);
* dispatched — it has a ``dispatched`` event; responded — valid, and first dispatched within
  one working day of filing;
* closed — valid, status closed with a closing time; closed_on_time / closed_late — closed by
  / after its deadline;
* solved — valid, resolved or closed, and never reopened; reopened — valid, and reopened at
  least once: a ``reopened`` event, a rating or follow-up call that moved it to reopened
  (``data["to"] == "reopened"``), or reopened now;
* rated — it has a rating; satisfied — 满意 or 基本满意; unsatisfied — rated otherwise;
* repeated (重复诉求) — valid, and the same resident (same phone number, else the same chat
  conversation; anonymous tickets belong to no resident, as in 民生档案) filed another valid
  ticket of the same category in the 30 days before;
* dispatch_h<i> / close_h<i> — valid tickets by hours from filing to the first dispatch / to
  closure, in ``HOUR_BUCKETS`` bucket i (the first bound ≥ the hours, else the last bucket).

``refresh`` rebuilds the days of the tickets changed since the last refresh (their
``updated_at``); ``rebuild`` every day. A day is rebuilt with one query over its tickets
(correlated subqueries for the events and the resident's earlier tickets), then its rows are
deleted and inserted again, one transaction per batch of days.

The monthly counts (统计月表, ``TicketMonth``) are the daily rows summed per calendar month ×
grid × category × subcategory × channel; after the days, every month they touch is rebuilt
from ``ticket_day`` (delete, then one ``INSERT … SELECT … GROUP BY``; one transaction per
month), before the watermark moves: a refresh that fails halfway is repeated whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from casestore.models import (
    HOUR_BUCKETS,
    RollupState,
    Ticket,
    TicketDay,
    TicketEvent,
    TicketMonth,
)
from core.clock import LOCAL_TZ, add_working_days, local_midnight, utcnow
from core.db import UTCDateTime

STATE = "ticket_day"
NOT_COUNTED = ("rejected", "merged")
SATISFIED = ("satisfied", "basically_satisfied")
REPEAT_WINDOW = timedelta(days=30)
# Tickets written while a refresh runs may carry an earlier updated_at than its start (their
# transaction began before): they are counted again by the next refresh.
SAFETY_MARGIN = timedelta(minutes=1)
BATCH_DAYS = 31  # days rebuilt per transaction
COUNTS = (
    "filed", "valid", "responded", "dispatched", "closed", "closed_on_time", "closed_late",
    "solved", "rated", "satisfied", "unsatisfied", "reopened", "repeated",
)  # fmt: skip
BUCKETS = len(HOUR_BUCKETS) + 1
DISPATCH_COLUMNS = tuple(f"dispatch_h{i}" for i in range(BUCKETS))
CLOSE_COLUMNS = tuple(f"close_h{i}" for i in range(BUCKETS))
KEY_COLUMNS = ("day", "grid_code", "category", "subcategory", "channel", "department", "assignee")
MONTH_KEY_COLUMNS = ("month", "grid_code", "category", "subcategory", "channel")
WIDTH = len(COUNTS) + 2 * BUCKETS

_T = Ticket.__table__
_E = TicketEvent.__table__
_D = TicketDay.__table__
_M = TicketMonth.__table__


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def month_of(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after the day's."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def bucket(hours: float) -> int:
    """The ``HOUR_BUCKETS`` bucket of a duration: the first upper bound ≥ hours, else the last."""
    for index, bound in enumerate(HOUR_BUCKETS):
        if hours <= bound:
            return index
    return len(HOUR_BUCKETS)


def refresh(session: Session, now: datetime | None = None) -> int:
    """Rebuild the days of the tickets updated since the last refresh (the first refresh:
    every day); how many days with tickets were rebuilt. The watermark moves to the start
    of this refresh, less ``SAFETY_MARGIN``. Commits (one transaction per batch of days)."""
    started = now or utcnow()
    state = session.get(RollupState, STATE)
    if state is None:
        return rebuild(session, now=started)
    since = state.refreshed_to
    changed = session.scalars(select(_T.c.created_at).where(_T.c.updated_at > since)).all()
    days = sorted({local_day(moment) for moment in changed})
    # Daily counts built before the monthly table existed: every month once.
    unbuilt = session.scalar(select(_M.c.month).limit(1)) is None and (
        session.scalar(select(_D.c.day).limit(1)) is not None
    )
    session.commit()  # end the read before the batches' own transactions
    done = 0
    for first, last in _runs(days):
        done += _rebuild_days(session, first, last)
    if unbuilt:
        rebuild_months(session)
    else:
        rebuild_months(session, sorted({month_of(day) for day in days}))
    _mark(session, started)
    return done


def rebuild(session: Session, now: datetime | None = None) -> int:
    """Every day from scratch; how many days with tickets there are."""
    started = now or utcnow()
    first_at, last_at = session.execute(
        select(func.min(_T.c.created_at), func.max(_T.c.created_at))
    ).one()
    session.execute(delete(TicketDay))
    session.execute(delete(TicketMonth))
    session.commit()
    done = 0
    if first_at is not None and last_at is not None:
        first, last = local_day(_aware(first_at)), local_day(_aware(last_at))
        day = first
        while day <= last:
            end = min(last, day + timedelta(days=BATCH_DAYS - 1))
            done += _rebuild_days(session, day, end)
            day = end + timedelta(days=1)
        rebuild_months(session)
    _mark(session, started)
    return done


def rebuild_months(session: Session, months: Iterable[date] | None = None) -> int:
    """Rebuild the monthly counts of ``months`` (their first days; None: every month from the
    first to the last day in ``ticket_day``, and nothing else left) from the daily counts,
    one transaction per month; how many months were rebuilt."""
    if months is None:
        first, last = session.execute(select(func.min(_D.c.day), func.max(_D.c.day))).one()
        session.execute(delete(TicketMonth))
        session.commit()
        todo: list[date] = []
        if first is not None and last is not None:
            month = month_of(first)
            while month <= last:
                todo.append(month)
                month = next_month(month)
    else:
        todo = sorted({month_of(month) for month in months})
    for month in todo:
        _rebuild_month(session, month)
    return len(todo)


def _rebuild_month(session: Session, month: date) -> None:
    summed = (*COUNTS, *DISPATCH_COLUMNS, *CLOSE_COLUMNS)
    keys = [_D.c[name] for name in MONTH_KEY_COLUMNS[1:]]
    rows = (
        select(literal(month, Date()), *keys, *(func.sum(_D.c[name]) for name in summed))
        .where(_D.c.day >= month, _D.c.day < next_month(month))
        .group_by(*keys)
    )
    session.execute(delete(TicketMonth).where(TicketMonth.month == month))
    session.execute(insert(TicketMonth).from_select([*MONTH_KEY_COLUMNS, *summed], rows))
    session.commit()


def _aware(value: Any) -> datetime:
    """A timestamp read back from an aggregate: UTC-aware (stored values are UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _mark(session: Session, started: datetime) -> None:
    state = session.get(RollupState, STATE)
    if state is None:
        session.add(RollupState(name=STATE, refreshed_to=started - SAFETY_MARGIN))
    else:
        state.refreshed_to = started - SAFETY_MARGIN
    session.commit()


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Sorted days as runs of consecutive days, each at most ``BATCH_DAYS`` long."""
    start: date | None = None
    previous: date | None = None
    for day in days:
        if start is None or previous is None:
            start = previous = day
            continue
        if day == previous + timedelta(days=1) and (day - start).days < BATCH_DAYS:
            previous = day
            continue
        yield start, previous
        start = previous = day
    if start is not None and previous is not None:
        yield start, previous


def _rebuild_days(session: Session, first: date, last: date) -> int:
    """Delete and insert the rows of the local days [first, last] in one transaction; how
    many of these days have tickets."""
    since, until = local_midnight(first), local_midnight(last + timedelta(days=1))
    rows = session.execute(_day_query(since, until)).all()
    totals = _aggregate(rows)
    session.execute(delete(TicketDay).where(TicketDay.day >= first, TicketDay.day <= last))
    values = [
        {**dict(zip(KEY_COLUMNS, key, strict=True)),
         **dict(zip(COUNTS + DISPATCH_COLUMNS + CLOSE_COLUMNS, counts, strict=True))}
        for key, counts in totals.items()
    ]  # fmt: skip
    for start in range(0, len(values), 5000):
        session.execute(insert(TicketDay), values[start : start + 5000])
    session.commit()
    return len({key[0] for key in totals})


def _day_query(since: datetime, until: datetime) -> Any:
    """The filed tickets of [since, until) with what their counts need: the first dispatch,
    whether they were ever reopened, and the resident's latest earlier valid ticket of the
    same category (by phone number, else by conversation)."""
    first_dispatch = (
        select(func.min(_E.c.created_at))
        .where(_E.c.ticket_id == _T.c.id, _E.c.kind == "dispatched")
        .scalar_subquery()
    )
    came_back = (
        select(_E.c.id)
        .where(
            _E.c.ticket_id == _T.c.id,
            or_(
                _E.c.kind == "reopened",
                and_(
                    _E.c.kind.in_(("rated", "followed_up")),
                    _E.c.data["to"].as_string() == "reopened",
                ),
            ),
        )
        .exists()
    )
    earlier = _T.alias("earlier")

    def previous(same: Any) -> Any:
        return (
            select(func.max(earlier.c.created_at))
            .where(
                same,
                earlier.c.anonymous == false(),
                earlier.c.category == _T.c.category,
                earlier.c.status.not_in(NOT_COUNTED),
                or_(
                    earlier.c.created_at < _T.c.created_at,
                    and_(earlier.c.created_at == _T.c.created_at, earlier.c.id < _T.c.id),
                ),
            )
            .scalar_subquery()
        )

    named = _T.c.anonymous == false()  # anonymous tickets belong to no resident
    before = type_coerce(
        case(
            (
                and_(named, _T.c.contact_phone.is_not(None)),
                previous(earlier.c.contact_phone == _T.c.contact_phone),
            ),
            (
                and_(named, _T.c.conversation_id.is_not(None)),
                previous(earlier.c.conversation_id == _T.c.conversation_id),
            ),
            else_=None,
        ),
        UTCDateTime(),
    )
    return select(
        _T.c.created_at, _T.c.status, _T.c.category, _T.c.subcategory, _T.c.grid_code,
        _T.c.channel, _T.c.department, _T.c.assigned_to, _T.c.closed_at, _T.c.due_at,
        _T.c.rating, first_dispatch.label("first_dispatch"), came_back.label("came_back"),
        before.label("before"),
    ).where(_T.c.created_at >= since, _T.c.created_at < until)  # fmt: skip


def _aggregate(rows: Iterable[Any]) -> dict[tuple[Any, ...], list[int]]:
    """Rows of ``_day_query`` → counts per TicketDay key (COUNTS, then the two histograms)."""
    totals: dict[tuple[Any, ...], list[int]] = {}
    dispatch_at, close_at = len(COUNTS), len(COUNTS) + BUCKETS
    for row in rows:
        created: datetime = row.created_at
        key = (
            local_day(created), row.grid_code or "", row.category, row.subcategory or "",
            row.channel, row.department or "", row.assigned_to or "",
        )  # fmt: skip
        counts = totals.get(key)
        if counts is None:
            counts = totals[key] = [0] * WIDTH
        counts[0] += 1  # filed
        first = row.first_dispatch
        if first is not None:
            first = _aware(first)
            counts[3] += 1  # dispatched
        if row.rating:
            counts[8] += 1  # rated
            counts[9 if row.rating in SATISFIED else 10] += 1
        if row.status in NOT_COUNTED:
            continue
        counts[1] += 1  # valid
        if first is not None:
            if first <= add_working_days(created, 1):
                counts[2] += 1  # responded
            counts[dispatch_at + bucket((first - created).total_seconds() / 3600)] += 1
        if row.status == "closed" and row.closed_at is not None:
            counts[4] += 1  # closed
            counts[5 if row.closed_at <= row.due_at else 6] += 1
            counts[close_at + bucket((row.closed_at - created).total_seconds() / 3600)] += 1
        reopened = bool(row.came_back) or row.status == "reopened"
        if reopened:
            counts[11] += 1
        elif row.status in ("resolved", "closed"):
            counts[7] += 1  # solved
        before = row.before
        if before is not None and _aware(before) >= created - REPEAT_WINDOW:
            counts[12] += 1  # repeated
    return totals
