"""The review queue (工单队列): filters, search, urgency order, SLA colours, similar tickets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rapidfuzz import fuzz
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketStatus
from core.clock import LOCAL_TZ, utcnow

S = TicketStatus
OPEN_STATUSES = (S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.IN_PROGRESS)
SLA_LABELS = {"red": "已超期", "yellow": "即将超期", "blue": "临近期限", "": "正常"}


@dataclass(frozen=True)
class QueueFilter:
    statuses: tuple[str, ...] = ()
    category: str | None = None
    grid_code: str | None = None
    channel: str | None = None
    since: date | None = None  # local dates, inclusive
    until: date | None = None
    overdue: bool = False
    q: str | None = None
    grid_scope: tuple[str, ...] | None = None  # a grid worker sees only these grids


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(query: Select[Ticket], f: QueueFilter, now: datetime) -> Select[Ticket]:
    if f.grid_scope is not None:
        query = query.where(Ticket.grid_code.in_(f.grid_scope) if f.grid_scope else false())
    if f.statuses:
        query = query.where(Ticket.status.in_(f.statuses))
    if f.category:
        query = query.where(Ticket.category == f.category)
    if f.grid_code:
        query = query.where(Ticket.grid_code == f.grid_code)
    if f.channel:
        query = query.where(Ticket.channel == f.channel)
    if f.since:
        query = query.where(Ticket.created_at >= _local_midnight(f.since))
    if f.until:
        query = query.where(Ticket.created_at < _local_midnight(f.until + timedelta(days=1)))
    if f.overdue:
        query = query.where(Ticket.due_at < now, Ticket.status.in_(OPEN_STATUSES))
    if f.q:
        pattern = f"%{_escape_like(f.q.strip())}%"
        query = query.where(
            or_(
                Ticket.number == f.q.strip(),
                Ticket.description.like(pattern, escape="\\"),
                Ticket.location_text.like(pattern, escape="\\"),
                Ticket.contact_phone.like(pattern, escape="\\"),
            )
        )
    return query


def list_queue(
    *, session: Session, f: QueueFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Ticket], int]:
    """Most urgent first: hand-off requests, then the nearest (or most overdue) deadline."""
    query = filtered(select(Ticket), f, utcnow())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Ticket.handoff_requested.desc(), Ticket.due_at.asc(), Ticket.id.asc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def iter_all(*, session: Session, f: QueueFilter, cap: int = 50_000) -> Iterator[Ticket]:
    """Every ticket of the filter in queue order, streamed (for exports)."""
    query = filtered(select(Ticket), f, utcnow()).order_by(
        Ticket.handoff_requested.desc(), Ticket.due_at.asc(), Ticket.id.asc()
    )
    yield from session.scalars(query.limit(cap).execution_options(yield_per=500))


def sla_level(ticket: Ticket, now: datetime | None = None) -> str:
    """'' (on time), 'blue' (half the time used), 'yellow' (≤ 1 day or ≤ 25 % left), 'red'."""
    if ticket.status not in OPEN_STATUSES:
        return ""
    now = now or utcnow()
    remaining = ticket.due_at - now
    total = max(ticket.due_at - ticket.created_at, timedelta(hours=1))
    if remaining < timedelta(0):
        return "red"
    if remaining <= timedelta(days=1) or remaining <= total * 0.25:
        return "yellow"
    if remaining <= total * 0.5:
        return "blue"
    return ""


def age_text(ticket: Ticket, now: datetime | None = None) -> str:
    seconds = int(((now or utcnow()) - ticket.created_at).total_seconds())
    if seconds < 3600:
        return f"{max(seconds // 60, 1)}分钟"
    if seconds < 86400:
        return f"{seconds // 3600}小时"
    return f"{seconds // 86400}天"


def similar_open(*, session: Session, ticket: Ticket, top: int = 5) -> list[tuple[Ticket, int]]:
    """Open tickets of the same category that read alike (merge candidates), with a score."""
    since = ticket.created_at - timedelta(days=30)
    pool = session.scalars(
        select(Ticket)
        .where(
            Ticket.category == ticket.category,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.id != ticket.id,
            Ticket.created_at >= since,
        )
        .order_by(Ticket.id.desc())
        .limit(300)
    ).all()
    scored = []
    for other in pool:
        score = fuzz.token_set_ratio(
            f"{ticket.location_text} {ticket.description}",
            f"{other.location_text} {other.description}",
        )
        if other.grid_code and other.grid_code == ticket.grid_code:
            score += 15
        if score >= 55:
            scored.append((other, min(int(score), 100)))
    scored.sort(key=lambda pair: -pair[1])
    return scored[:top]
