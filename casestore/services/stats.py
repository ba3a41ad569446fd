"""三率 and the other service figures over a period's tickets (统计分析).

Definitions (the console shows them beside the figures):

* 受理量 — tickets filed in the period (by the time they were filed).
* 有效工单 — those not rejected (不予受理) or merged into another (已合并): the base of the rates.
* 响应率 — valid tickets dispatched within one working day of filing.
* 按时办结率 — of the valid tickets closed, those closed by their deadline.
* 解决率 — valid tickets resolved or closed and never reopened.
* 满意率 — ratings 满意 or 基本满意 among the tickets rated (chat or follow-up call).
* 重新办理率 — valid tickets reopened at least once.
* Median hours from filing to the first dispatch, and to closure.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketEvent
from core.clock import add_working_days

NOT_COUNTED = ("rejected", "merged")
SATISFIED = ("satisfied", "basically_satisfied")


@dataclass(frozen=True)
class Figures:
    filed: int
    valid: int
    responded: int
    closed: int
    closed_on_time: int
    solved: int
    rated: int
    satisfied: int
    reopened: int
    hours_to_dispatch: float | None
    hours_to_close: float | None
    by_category: list[tuple[str, int]] = field(default_factory=list)  # most first
    by_grid: list[tuple[str | None, int]] = field(default_factory=list)

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self.rate(self.responded, self.valid)

    @property
    def on_time_rate(self) -> float | None:
        return self.rate(self.closed_on_time, self.closed)

    @property
    def solve_rate(self) -> float | None:
        return self.rate(self.solved, self.valid)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.rate(self.satisfied, self.rated)

    @property
    def reopen_rate(self) -> float | None:
        return self.rate(self.reopened, self.valid)


def figures(
    session: Session,
    since: datetime,
    until: datetime,
    grid_scope: tuple[str, ...] | None = None,
) -> Figures:
    """The figures of the tickets filed in [since, until), within ``grid_scope`` if given."""
    where = [Ticket.created_at >= since, Ticket.created_at < until]
    if grid_scope is not None:
        where.append(Ticket.grid_code.in_(grid_scope))
    rows = session.execute(
        select(
            Ticket.id, Ticket.status, Ticket.category, Ticket.grid_code, Ticket.rating,
            Ticket.created_at, Ticket.closed_at, Ticket.due_at,
        ).where(*where)
    ).all()  # fmt: skip
    ids = [row.id for row in rows]
    dispatched = _first_event(session, ids, "dispatched")
    reopened = _reopened(session, ids)
    valid = [row for row in rows if row.status not in NOT_COUNTED]
    closed = [row for row in valid if row.closed_at is not None and row.status == "closed"]
    responded = [
        row for row in valid
        if row.id in dispatched and dispatched[row.id] <= add_working_days(row.created_at, 1)
    ]  # fmt: skip
    came_back = {row.id for row in valid if row.id in reopened or row.status == "reopened"}
    solved = [
        row for row in valid if row.status in ("resolved", "closed") and row.id not in came_back
    ]
    rated = [row for row in rows if row.rating]
    return Figures(
        filed=len(rows),
        valid=len(valid),
        responded=len(responded),
        closed=len(closed),
        closed_on_time=sum(1 for row in closed if row.closed_at <= row.due_at),
        solved=len(solved),
        rated=len(rated),
        satisfied=sum(1 for row in rated if row.rating in SATISFIED),
        reopened=len(came_back),
        hours_to_dispatch=_median_hours(
            dispatched[row.id] - row.created_at for row in valid if row.id in dispatched
        ),
        hours_to_close=_median_hours(row.closed_at - row.created_at for row in closed),
        by_category=Counter(row.category for row in rows).most_common(),
        by_grid=Counter(row.grid_code for row in rows).most_common(),
    )


def _chunks(ids: list[int], size: int = 5000) -> Iterator[list[int]]:
    """Ticket ids a few thousand at a time (bound parameters per statement stay few)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _first_event(session: Session, ids: list[int], kind: str) -> dict[int, datetime]:
    """Ticket id → when its first event of ``kind`` happened (for the given tickets)."""
    found: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(TicketEvent.ticket_id, func.min(TicketEvent.created_at))
            .where(TicketEvent.kind == kind, TicketEvent.ticket_id.in_(chunk))
            .group_by(TicketEvent.ticket_id)
        )
        found.update((ticket_id, first) for ticket_id, first in rows)
    return found


def _reopened(session: Session, ids: list[int]) -> set[int]:
    """The tickets that were reopened at least once: by staff (重新办理), or by a rating or
    follow-up call that said 问题没解决 (its event records the move to reopened)."""
    found: set[int] = set()
    kinds = ("reopened", "rated", "followed_up")
    for chunk in _chunks(ids):
        for ticket_id, kind, data in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.data).where(
                TicketEvent.kind.in_(kinds), TicketEvent.ticket_id.in_(chunk)
            )
        ):
            if kind == "reopened" or (data or {}).get("to") == "reopened":
                found.add(ticket_id)
    return found


def _median_hours(spans: Iterable[timedelta]) -> float | None:
    hours = [span.total_seconds() / 3600 for span in spans]
    return round(statistics.median(hours), 1) if hours else None
