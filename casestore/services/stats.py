"""三率 and the other service figures over a period's tickets (统计分析), read from the daily
and monthly counts (``TicketDay``, ``TicketMonth``, kept by ``casestore.services.rollup``).

A period is read as its whole calendar months from ``ticket_month`` (about a quarter of the
daily rows) and its partial months from ``ticket_day``: a month's days in the period, or the
whole month less its days outside the period when those are fewer. All counts add up, so
the result is exactly the sum over the days. While ``ticket_month`` is empty (daily counts
written before it existed, until the next refresh) everything is read by day. The
breakdowns by department and assignee (not kept by month) and the series by day or week
read the days only.

Definitions (the console shows them beside the figures):

* 受理量 — tickets filed in the period (by the local day they were filed).
* 有效工单 — those not rejected (不予受理) or merged into another (已合并): the base of the rates.
* 已派单 — tickets with at least one dispatch (派单) event.
* 响应率 — valid tickets dispatched within one working day of filing.
* 按时办结率 — of the valid tickets closed, those closed by their deadline (超期办结: after it).
* 解决率 — valid tickets resolved or closed and never reopened.
* 满意率 — ratings 满意 or 基本满意 among the tickets rated (chat or follow-up call); 不满意:
  the other ratings (不满意, 问题没解决).
* 重新办理率 — valid tickets reopened at least once (by staff, or a rating or follow-up call
  that said 问题没解决).
* 重复诉求率 — valid tickets whose resident (same phone number, else the same chat; never an
  anonymous ticket) filed another valid ticket of the same category in the 30 days before.
* Median hours from filing to the first dispatch, and to closure (valid tickets), read from
  hour histograms (``HOUR_BUCKETS``) by linear interpolation inside the median's bucket.

Every figure is of the tickets *filed* in the period, as they are now (as of the last
refresh of the daily counts, ``refreshed_to``); only ``overdue_open`` reads the tickets live.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.orm import Session

from casestore.models import HOUR_BUCKETS, RollupState, Ticket, TicketDay, TicketMonth
from casestore.services import rollup
from casestore.services.rollup import local_day
from core import labels
from core.clock import utcnow

NOT_COUNTED = rollup.NOT_COUNTED
SATISFIED = rollup.SATISFIED
BREAKDOWNS = ("category", "subcategory", "grid_code", "channel", "department", "assignee")
STEPS = ("day", "week", "month")
GRID_CHUNK = 500  # grid codes per statement (bound parameters stay few on every database)
_D: Table = TicketDay.__table__  # type: ignore[assignment]
_M: Table = TicketMonth.__table__  # type: ignore[assignment]
_SUMMED = (*rollup.COUNTS, *rollup.DISPATCH_COLUMNS, *rollup.CLOSE_COLUMNS)
_SHIFT = 2**32


@dataclass(frozen=True)
class Scope:  # 统计范围
    since: date  # first local day
    until: date  # last local day, inclusive
    grids: tuple[str, ...] | None = None  # None: every grid (and no grid); else only these
    category: str | None = None
    subcategory: str | None = None
    channel: str | None = None


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def median_hours(hist: tuple[int, ...]) -> float | None:
    """The approximate median of an hour histogram (``HOUR_BUCKETS``): linear inside the
    median's bucket; the open last bucket is taken as twice as wide as its lower bound."""
    total = sum(hist)
    if not total:
        return None
    half, seen = total / 2, 0
    bounds = (0, *HOUR_BUCKETS, HOUR_BUCKETS[-1] * 2)
    for index, count in enumerate(hist):
        if count and seen + count >= half:
            low, high = bounds[index], bounds[index + 1]
            return round(low + (half - seen) / count * (high - low), 1)
        seen += count
    return float(bounds[-1])  # unreachable: the counts add up to total


@dataclass(frozen=True)
class Figures:
    """Raw counts (addable: the figures of two scopes are their sum), with the rates."""

    filed: int
    valid: int
    responded: int
    dispatched: int
    closed: int
    closed_on_time: int
    closed_late: int
    solved: int
    rated: int
    satisfied: int
    unsatisfied: int
    reopened: int
    repeated: int
    dispatch_hist: tuple[int, ...]  # len(HOUR_BUCKETS) + 1 buckets
    close_hist: tuple[int, ...]

    @staticmethod
    def zero() -> Figures:
        return Figures.of((0,) * len(_SUMMED))

    @staticmethod
    def of(values: Any) -> Figures:
        """From summed TicketDay columns in ``_SUMMED`` order (None as 0)."""
        numbers = [int(v or 0) for v in values]
        counts, width = len(rollup.COUNTS), rollup.BUCKETS
        named: dict[str, Any] = dict(zip(rollup.COUNTS, numbers[:counts], strict=True))
        return Figures(
            **named,
            dispatch_hist=tuple(numbers[counts : counts + width]),
            close_hist=tuple(numbers[counts + width :]),
        )

    def __add__(self, other: Figures) -> Figures:
        named: dict[str, Any] = {n: getattr(self, n) + getattr(other, n) for n in rollup.COUNTS}
        return Figures(
            **named,
            dispatch_hist=tuple(
                a + b for a, b in zip(self.dispatch_hist, other.dispatch_hist, strict=True)
            ),
            close_hist=tuple(a + b for a, b in zip(self.close_hist, other.close_hist, strict=True)),
        )

    @property
    def response_rate(self) -> float | None:
        return rate(self.responded, self.valid)

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.closed_on_time, self.closed)

    @property
    def solve_rate(self) -> float | None:
        return rate(self.solved, self.valid)

    @property
    def satisfaction_rate(self) -> float | None:
        return rate(self.satisfied, self.rated)

    @property
    def reopen_rate(self) -> float | None:
        return rate(self.reopened, self.valid)

    @property
    def repeat_rate(self) -> float | None:
        return rate(self.repeated, self.valid)

    @property
    def hours_to_dispatch(self) -> float | None:
        return median_hours(self.dispatch_hist)

    @property
    def hours_to_close(self) -> float | None:
        return median_hours(self.close_hist)


def _chunks(codes: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(codes), GRID_CHUNK):
        yield codes[start : start + GRID_CHUNK]


@dataclass(frozen=True)
class _Part:
    """Rows to add (sign 1) or subtract (sign -1): the days [first, end) of ``ticket_day``,
    or the months [first, end) of ``ticket_month`` (first days of months)."""

    table: Table
    first: date
    end: date
    sign: int = 1

    @property
    def when(self) -> Any:
        return self.table.c.day if self.table is _D else self.table.c.month


def _parts(scope: Scope, months: bool = True, today: date | None = None) -> list[_Part]:
    """How to read the scope's days. Without ``months``: its days from ``ticket_day``. With:
    every calendar month it covers whole from ``ticket_month``; a month it covers in part
    from its days in the scope, or, when fewer days (up to ``today``: later days have no
    rows) lie outside the scope, as the whole month less those days. Adjacent ranges are
    joined."""
    first, end = scope.since, scope.until + timedelta(days=1)
    if not months or first >= end:
        return [_Part(_D, first, end)] if first < end else []
    today = today or local_day(utcnow())

    def rows(since: date, before: date) -> int:  # the days that may have rows
        return max(0, (min(before, today + timedelta(days=1)) - since).days)

    parts: list[_Part] = []

    def add(part: _Part) -> None:
        for index, other in enumerate(parts):
            if (other.table, other.sign, other.end) == (part.table, part.sign, part.first):
                parts[index] = _Part(part.table, other.first, part.end, part.sign)
                return
        parts.append(part)

    month = rollup.month_of(first)
    while month < end:
        after = rollup.next_month(month)
        since, before = max(first, month), min(end, after)
        outside = rows(month, since) + rows(before, after)
        if since == month and before == after:
            add(_Part(_M, month, after))
        elif outside < rows(since, before):
            add(_Part(_M, month, after))
            if since > month:
                add(_Part(_D, month, since, -1))
            if before < after:
                add(_Part(_D, before, after, -1))
        else:
            add(_Part(_D, since, before))
        month = after
    return parts


def _has_months(session: Session) -> bool:
    """Whether the monthly counts are built (the first refresh after the table was added
    builds them; until then every period is read by day)."""
    return session.scalar(select(_M.c.month).limit(1)) is not None


def _wheres(scope: Scope, part: _Part) -> Iterator[list[ColumnElement[bool]]]:
    """The conditions of the part of the scope, once per chunk of its grids (none for an
    empty tuple)."""
    table = part.table
    where: list[ColumnElement[bool]] = [part.when >= part.first, part.when < part.end]
    for name, value in (
        ("category", scope.category),
        ("subcategory", scope.subcategory),
        ("channel", scope.channel),
    ):
        if value is not None:
            where.append(table.c[name] == value)
    if scope.grids is None:
        yield where
        return
    for chunk in _chunks(scope.grids):
        yield [*where, table.c.grid_code.in_(chunk)]


def _packed(session: Session) -> bool:
    """Whether to sum the counts two to a column (SQLite: the time goes into the calls of
    its sum function, one per row and column): the count after ``_SUMMED[i]`` times 2³²
    plus ``_SUMMED[i]`` for each even i. Exact while every total of a column stays under
    2³¹ tickets (SQLite fails rather than overflow)."""
    return session.get_bind().dialect.name == "sqlite"


def _sums(table: Table, packed: bool = False, names: tuple[str, ...] = _SUMMED) -> list[Any]:
    """Sums of ``names`` (a prefix of ``_SUMMED``: all, or the counts without the hours)."""
    if not packed:
        return [func.sum(table.c[name]) for name in names]
    columns = [table.c[name] for name in names]
    return [
        func.sum(low + high * _SHIFT) if high is not None else func.sum(low)
        for low, high in zip(columns[::2], [*columns[1::2], None], strict=False)
    ]


def _add(
    total: list[int], values: Any, sign: int, packed: bool = False, width: int = len(_SUMMED)
) -> None:
    """Add the summed ``values`` of the first ``width`` columns of ``_SUMMED`` to ``total``."""
    numbers = [int(value or 0) for value in values]
    if packed:
        numbers = [part for n in numbers for part in (n % _SHIFT, n // _SHIFT)][:width]
    for index, value in enumerate(numbers):
        total[index] += sign * value


def figures(session: Session, scope: Scope) -> Figures:
    """The figures of the tickets filed in the scope."""
    return _figures(session, _parts(scope, _has_months(session)), scope)


def _figures(session: Session, parts: list[_Part], scope: Scope) -> Figures:
    total = [0] * len(_SUMMED)
    packed = _packed(session)
    for part in parts:
        for where in _wheres(scope, part):
            values = session.execute(select(*_sums(part.table, packed)).where(*where)).one()
            _add(total, values, part.sign, packed)
    return Figures.of(total)


def breakdown(
    session: Session, scope: Scope, by: str, hours: bool = True
) -> list[tuple[str, Figures]]:
    """The scope's figures per value of ``by`` (one of ``BREAKDOWNS``; "" stands for none),
    most filed first, then by key. ``hours=False`` leaves the hour histograms out (empty):
    about half the work, for tables that show no medians."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown: {by}")
    parts = _parts(scope, by in _M.c and _has_months(session))
    return _breakdown(session, parts, scope, by, _SUMMED if hours else rollup.COUNTS)


def _breakdown(
    session: Session, parts: list[_Part], scope: Scope, by: str, names: tuple[str, ...]
) -> list[tuple[str, Figures]]:
    found: dict[str, list[int]] = {}
    packed = _packed(session)  # SQLite: also sums the months in key order first
    for part in parts:
        column = part.table.c[by]
        for where in _wheres(scope, part):
            sums = _sums(part.table, packed, names)
            query = select(column, *sums).where(*where).group_by(column)
            if packed and part.table is _M and by in ("grid_code", "category"):
                query = _by_key_order(by, where, packed, names)
            for key, *values in session.execute(query):
                total = found.setdefault(key, [0] * len(_SUMMED))
                _add(total, values, part.sign, packed, len(names))
    # Every daily row counts a ticket: a key with none filed came from a subtraction only.
    kept = [(key, Figures.of(total)) for key, total in found.items() if total[0]]
    return sorted(kept, key=lambda item: (-item[1].filed, item[0]))


def _by_key_order(
    by: str, where: list[ColumnElement[bool]], packed: bool, names: tuple[str, ...]
) -> Any:
    """SQLite sorts every row of a GROUP BY, all its columns: by grid or category (early in
    the monthly table's primary key: month, grid_code, category, …) the rows are first summed
    in the key's order (no sorting) per month, grid (and category), and only these sums are
    sorted by ``by``. (Subcategory and channel would leave about as many sums as rows.)"""
    prefix = [_M.c[name] for name in rollup.MONTH_KEY_COLUMNS]
    prefix = prefix[: [c.name for c in prefix].index(by) + 1]
    sums = _sums(_M, packed, names)
    inner = select(_M.c[by], *sums).where(*where).group_by(*prefix).subquery()
    outer = [func.sum(inner.c[index + 1]) for index in range(len(sums))]
    return select(inner.c[0], *outer).group_by(inner.c[0])


def period_start(day: date, step: str) -> date:
    if step == "day":
        return day
    if step == "week":
        return day - timedelta(days=day.weekday())  # Monday
    if step == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown step: {step}")


def _next_period(start: date, step: str) -> date:
    if step == "day":
        return start + timedelta(days=1)
    if step == "week":
        return start + timedelta(days=7)
    return rollup.next_month(start)


def series(session: Session, scope: Scope, step: str) -> list[tuple[date, int]]:
    """Tickets filed per period (``step``: day, week from Monday, month) over the scope's
    days, every period present (zeros included), oldest first."""
    if step not in STEPS:
        raise ValueError(f"unknown step: {step}")
    return _series(session, _parts(scope, step == "month" and _has_months(session)), scope, step)


def _series(
    session: Session, parts: list[_Part], scope: Scope, step: str
) -> list[tuple[date, int]]:
    per_period: dict[date, int] = {}
    start = period_start(scope.since, step)
    while start <= scope.until:
        per_period[start] = 0
        start = _next_period(start, step)
    for part in parts:
        when = part.when
        for where in _wheres(scope, part):
            for day, filed in session.execute(
                select(when, func.sum(part.table.c.filed)).where(*where).group_by(when)
            ):
                per_period[period_start(day, step)] += part.sign * int(filed or 0)
    return sorted(per_period.items())


def daily_counts(
    session: Session, since: date, until: date, by: tuple[str, ...] = ("grid_code", "category")
) -> dict[tuple[str, ...], dict[date, int]]:
    """Tickets filed per key (the ``by`` columns, from ``BREAKDOWNS``) per local day in
    [since, until]; only the days with tickets appear (the early-warning job's input)."""
    unknown = [name for name in by if name not in BREAKDOWNS]
    if unknown:
        raise ValueError(f"unknown breakdown: {', '.join(unknown)}")
    columns = [_D.c[name] for name in by]
    filed = func.sum(_D.c.filed)
    found: dict[tuple[str, ...], dict[date, int]] = {}
    query = (
        select(*columns, _D.c.day, filed)
        .where(_D.c.day >= since, _D.c.day <= until)
        .group_by(*columns, _D.c.day)
        .having(filed > 0)
    )
    for *key, day, count in session.execute(query):
        found.setdefault(tuple(key), {})[day] = int(count)
    return found


def overdue_open(session: Session, now: datetime, grids: tuple[str, ...] | None) -> dict[str, int]:
    """Open tickets (``labels.OPEN_STATUSES``) past their deadline at ``now``, per grid code
    ("" for tickets without a grid), live from the ticket table; within ``grids`` if given.

    One count per grid over the index on (status, grid_code, due_at), the grids then picked
    here: a list of grids in the statement lets SQLite read each of their tickets instead."""
    query = (
        select(Ticket.grid_code, func.count())
        .where(Ticket.status.in_(labels.OPEN_STATUSES), Ticket.due_at < now)
        .group_by(Ticket.grid_code)
    )
    wanted = None if grids is None else set(grids)
    found: dict[str, int] = {}
    for code, count in session.execute(query):
        if wanted is None or code in wanted:
            found[code or ""] = found.get(code or "", 0) + int(count)
    return found


def refreshed_to(session: Session) -> datetime | None:
    """Until when the daily counts include every change (None: never built)."""
    state = session.get(RollupState, rollup.STATE)
    return state.refreshed_to if state else None
