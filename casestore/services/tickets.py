"""Creating, finding and auditing tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from casestore.models import Ticket, TicketEvent, TicketNumberCounter, TicketStatus
from casestore.schemas import TicketDraft
from casestore.services import dispute_intake, search
from casestore.services.attachments import link_pending
from core import labels
from core.clock import LOCAL_TZ, add_working_days, utcnow
from core.taxonomy import UNCLASSIFIED, UNCLASSIFIED_SLA_DAYS, Taxonomy
from core.ticket_number import format_ticket_number

MAX_ATTEMPTS = 3
# What a ticket takes over from the draft unchanged (JSON-ready: enums as values).
COPIED_FROM_DRAFT = {
    "submission_key", "grid_code", "area_code", "location_text", "latitude", "longitude",
    "description", "contact_phone", "anonymous", "channel", "conversation_id", "nlu_confidence",
    "nlu_candidates", "transcript", "handoff_requested", "caller_name",
}  # fmt: skip


class UnknownCategoryError(ValueError):
    """The draft names a category or subcategory that is not in the taxonomy."""


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets: the API's list, Open311, the console's queue and export all use this.

    Empty fields do not filter. ``since`` is inclusive, ``until`` exclusive (UTC-aware);
    ``grid_scope`` limits a grid worker to their grids (an empty tuple matches nothing).
    """

    statuses: tuple[str, ...] = ()
    category: str | None = None
    grid_code: str | None = None
    conversation_id: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool = False
    q: str | None = None
    grid_scope: tuple[str, ...] | None = None
    # With grid_scope: the units whose tickets without a grid are in scope too (street staff).
    area_scope: tuple[str, ...] | None = None
    # A community/street/district queue: tickets in its grids, or filed at it or below it.
    unit: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # (grid codes, unit codes)


def _anywhere(part: str) -> Any:
    """``part`` inside the description, the place or the phone number (a scan)."""
    pattern = f"%{_escape_like(part)}%"
    return or_(
        Ticket.description.like(pattern, escape="\\"),
        Ticket.location_text.like(pattern, escape="\\"),
        Ticket.contact_phone.like(pattern, escape="\\"),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def uses_index(session: Session, f: TicketFilter) -> bool:
    """Whether ``filtered`` should look ``f.q`` up in the search index (asked only when there
    is something to search)."""
    return bool(f.q) and search.available(session)


def filtered(
    query: Select[Ticket], f: TicketFilter, now: datetime, indexed: bool = False
) -> Select[Ticket]:
    """``query`` (a select of Ticket) narrowed to the filter; ``indexed``: the database has
    the text-search index (``search.available``), so ``q`` is looked up, not scanned."""
    if f.grid_scope is not None:
        scoped: ColumnElement[bool] = (
            Ticket.grid_code.in_(f.grid_scope) if f.grid_scope else false()
        )
        if f.area_scope:
            scoped = or_(scoped, Ticket.grid_code.is_(None) & Ticket.area_code.in_(f.area_scope))
        query = query.where(scoped)
    if f.unit is not None:
        grids, units = f.unit
        query = query.where(or_(Ticket.grid_code.in_(grids), Ticket.area_code.in_(units)))
    if f.statuses:
        query = query.where(Ticket.status.in_(f.statuses))
    for column, value in (
        (Ticket.category, f.category),
        (Ticket.grid_code, f.grid_code),
        (Ticket.conversation_id, f.conversation_id),
        (Ticket.channel, f.channel),
    ):
        if value:
            query = query.where(column == value)
    if f.since:
        query = query.where(Ticket.created_at >= f.since)
    if f.until:
        query = query.where(Ticket.created_at < f.until)
    if f.overdue:
        query = query.where(Ticket.due_at < now, Ticket.status.in_(labels.OPEN_STATUSES))
    if f.q:
        text = f.q.strip()
        found = search.condition(text) if indexed else None
        if found is None:  # no index, or punctuation only: a scan, with the same rule
            found = and_(*(_anywhere(part) for part in search.parts(text)))
        query = query.where(or_(Ticket.number == text, found))
    return query


def _next_number(session: Session, now: datetime) -> str:
    """Allocate the next number of the local day, e.g. 2026112600001."""
    day = now.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    counter = session.get(TicketNumberCounter, day, with_for_update=True)
    if counter is None:
        counter = TicketNumberCounter(day=day, last=0)
        session.add(counter)
    counter.last += 1
    session.flush()
    return format_ticket_number(day, counter.last)


def get_by_submission_key(*, session: Session, key: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.submission_key == key)).first()


def create_ticket(
    *,
    session: Session,
    draft: TicketDraft,
    taxonomy: Taxonomy,
    actor: str = "bot",
    link_photos: bool = True,
) -> tuple[Ticket, bool]:
    """File a confirmed draft exactly once.

    The submission key makes the call idempotent: a retry (after a timeout, or from the
    outbox) returns the ticket created the first time and ``False``. ``link_photos``: the
    photos sent earlier in the conversation become the ticket's (a resident's chat); a field
    report names its own photos instead, since a worker's chat also carries other tickets'.
    """
    for attempt in range(MAX_ATTEMPTS):
        existing = get_by_submission_key(session=session, key=draft.submission_key)
        if existing is not None:
            return existing, False
        try:
            return _insert(session, draft, taxonomy, actor, link_photos), True
        except IntegrityError:
            # Another request took the same submission key or ticket number first.
            session.rollback()
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _routing(draft: TicketDraft, taxonomy: Taxonomy) -> dict[str, Any]:
    """Category, subcategory, department, tier and SLA days of a draft (待分类 included)."""
    if draft.category == UNCLASSIFIED:
        if draft.subcategory:
            raise UnknownCategoryError("待分类的工单不能带二级分类")
        return {"category": UNCLASSIFIED, "subcategory": None, "tier": "district",
                "department": labels.PLACEHOLDER["unclassified_department"],
                "sla_days": UNCLASSIFIED_SLA_DAYS}  # fmt: skip
    category = taxonomy.get(draft.category)
    if category is None:
        raise UnknownCategoryError(f"未知的分类：{draft.category}")
    sub = category.subcategory(draft.subcategory)
    if draft.subcategory and sub is None:
        raise UnknownCategoryError(f"分类 {category.name} 下没有二级分类：{draft.subcategory}")
    entry = sub or category  # a subcategory's own department, SLA and tier win
    return {"category": category.code, "subcategory": sub.code if sub else None,
            "department": entry.department, "tier": entry.tier,
            "sla_days": entry.sla_days}  # fmt: skip


def _insert(
    session: Session, draft: TicketDraft, taxonomy: Taxonomy, actor: str, link_photos: bool
) -> Ticket:
    routing = _routing(draft, taxonomy)
    now = utcnow()
    ticket = Ticket(
        **draft.model_dump(mode="json", include=COPIED_FROM_DRAFT),
        number=_next_number(session, now),
        status=TicketStatus.SUBMITTED,
        category=routing["category"],
        subcategory=routing["subcategory"],
        department=routing["department"],
        tier=routing["tier"],
        due_at=add_working_days(now, routing["sla_days"]),
        created_at=now,
        updated_at=now,
    )
    ticket.events.append(
        TicketEvent(
            kind="created",
            actor=actor,
            data={"status": TicketStatus.SUBMITTED.value, "channel": ticket.channel},
            created_at=now,
        )
    )
    if draft.handoff_requested:
        ticket.events.append(
            TicketEvent(kind="handoff_requested", actor="resident", data={}, created_at=now)
        )
    session.add(ticket)
    session.flush()
    if ticket.category == dispute_intake.DISPUTES:  # the dispute line: stage, grade, record
        dispute_intake.on_filed(session, ticket)
    photos = link_pending(session=session, ticket=ticket) if link_photos else 0
    if photos:
        ticket.events.append(
            TicketEvent(
                kind="attachments_linked", actor=actor, data={"count": photos}, created_at=now
            )
        )
        session.flush()
    return ticket


def get_ticket(*, session: Session, number: str) -> Ticket | None:
    return session.scalars(
        select(Ticket)
        .where(Ticket.number == number)
        .options(selectinload(Ticket.events), selectinload(Ticket.attachments))
    ).first()


def list_tickets(
    *, session: Session, filters: TicketFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Ticket], int]:
    """Newest first, and the total count of the filter."""
    query = filtered(select(Ticket), filters, utcnow(), uses_index(session, filters))
    return page(
        session=session,
        query=query.order_by(Ticket.created_at.desc(), Ticket.id.desc()),
        limit=limit,
        offset=offset,
    )


def page(
    *, session: Session, query: Select[Ticket], limit: int, offset: int
) -> tuple[list[Ticket], int]:
    """One page of an ordered select of tickets, and how many the whole select has."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return list(rows), total


def add_event(
    *, session: Session, ticket: Ticket, kind: str, actor: str, data: dict[str, Any]
) -> TicketEvent:
    """Append an audit event; a hand-off request also marks the ticket."""
    event = TicketEvent(kind=kind, actor=actor, data=data, created_at=utcnow())
    ticket.events.append(event)
    if kind == "handoff_requested":
        ticket.handoff_requested = True
    session.flush()
    return event
