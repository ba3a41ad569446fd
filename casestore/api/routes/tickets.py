"""Tickets (工单): create idempotently, get by number, list with filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from casestore.api.routes.attachments import attachment_out
from casestore.models import Ticket, TicketStatus
from casestore.schemas import (
    EventIn,
    EventOut,
    TicketAction,
    TicketDetail,
    TicketDraft,
    TicketOut,
    TicketPage,
)
from casestore.services import lifecycle
from casestore.services import tickets as ticket_service
from core import labels
from core.deps import Offset, ServiceAuth, SessionDep, TaxonomyDep, aware_datetime
from core.taxonomy import Taxonomy
from core.ticket_number import is_ticket_number
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], dependencies=[ServiceAuth])


def queue_label(ticket: Ticket, registry: Registry | None) -> str:
    """Whose queue the ticket is in: its grid, else the community/street/district named."""
    grid = registry.grids.get(ticket.grid_code) if registry and ticket.grid_code else None
    if grid:
        return f"{labels.TIER['grid']}：{grid.name}"
    area = registry.units.get(ticket.area_code) if registry and ticket.area_code else None
    if area:
        return f"{labels.label(labels.TIER, area.tier)}：{area.name}"
    return labels.UNASSIGNED_QUEUE


def to_out(ticket: Ticket, taxonomy: Taxonomy, registry: Registry | None = None) -> TicketOut:
    category = taxonomy.get(ticket.category)
    sub = category.subcategory(ticket.subcategory) if category else None
    grid = registry.grids.get(ticket.grid_code) if registry and ticket.grid_code else None
    return TicketOut.model_validate(
        {
            **{c: getattr(ticket, c) for c in TicketOut.model_fields if hasattr(ticket, c)},
            "grid_name": registry.full_name(grid.code) if registry and grid else None,
            "grid_worker_name": grid.worker_name if grid else None,
            "grid_worker_phone": grid.worker_phone if grid else None,
            "queue": queue_label(ticket, registry),
            "status_label": labels.STATUS[TicketStatus(ticket.status)],
            "category_name": taxonomy.name_of(ticket.category),
            "sla_days": (sub.sla_days if sub else category.sla_days) if category else 0,
        }
    )


def to_detail(ticket: Ticket, taxonomy: Taxonomy, registry: Registry | None = None) -> TicketDetail:
    return TicketDetail(
        **to_out(ticket, taxonomy, registry).model_dump(),
        transcript=ticket.transcript,
        events=[EventOut.model_validate(e) for e in ticket.events],
        attachments=[attachment_out(a) for a in ticket.attachments],
    )


@router.post("", response_model=TicketDetail, status_code=status.HTTP_201_CREATED)
def create_ticket(
    draft: TicketDraft,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    response: Response,
) -> TicketDetail:
    """File a confirmed petition. Repeating a submission key returns the first ticket (200)."""
    if draft.grid_code and draft.grid_code not in registry.grids:
        raise HTTPException(status_code=422, detail=f"未知的网格编码：{draft.grid_code}")
    if draft.area_code and draft.area_code not in registry.units:
        raise HTTPException(status_code=422, detail=f"未知的社区、街道或区编码：{draft.area_code}")
    try:
        ticket, created = ticket_service.create_ticket(
            session=session, draft=draft, taxonomy=taxonomy
        )
    except ticket_service.UnknownCategoryError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return to_detail(ticket, taxonomy, registry)


@router.get("", response_model=TicketPage)
def list_tickets(
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    grid_code: Annotated[str | None, Query(max_length=32)] = None,
    conversation_id: Annotated[str | None, Query(max_length=128)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[datetime | None, aware_datetime("since")] = None,
    until: Annotated[datetime | None, aware_datetime("until")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> TicketPage:
    filters = ticket_service.TicketFilter(
        statuses=(status_.value,) if status_ else (),
        category=category,
        grid_code=grid_code,
        conversation_id=conversation_id,
        channel=channel,
        since=since,
        until=until,
    )
    rows, total = ticket_service.list_tickets(
        session=session, filters=filters, limit=limit, offset=offset
    )
    return TicketPage(items=[to_out(t, taxonomy, registry) for t in rows], total=total)


@router.get("/by-key/{submission_key}", response_model=TicketDetail)
def get_by_submission_key(
    submission_key: str, session: SessionDep, taxonomy: TaxonomyDep, registry: RegistryDep
) -> TicketDetail:
    ticket = ticket_service.get_by_submission_key(session=session, key=submission_key)
    if ticket is None:
        raise HTTPException(status_code=404, detail="未找到该提交对应的工单")
    return to_detail(ticket, taxonomy, registry)


@router.get("/{number}", response_model=TicketDetail)
def get_ticket(
    number: str, session: SessionDep, taxonomy: TaxonomyDep, registry: RegistryDep
) -> TicketDetail:
    if not is_ticket_number(number):
        raise HTTPException(status_code=422, detail="工单号应为13位数字，例如 2026112600001")
    ticket = ticket_service.get_ticket(session=session, number=number)
    if ticket is None:
        raise HTTPException(status_code=404, detail=f"未找到工单 {number}")
    return to_detail(ticket, taxonomy, registry)


def _existing(session: SessionDep, number: str) -> Ticket:
    if not is_ticket_number(number):
        raise HTTPException(status_code=422, detail="工单号应为13位数字，例如 2026112600001")
    ticket = ticket_service.get_ticket(session=session, number=number)
    if ticket is None:
        raise HTTPException(status_code=404, detail=f"未找到工单 {number}")
    return ticket


@router.post("/{number}/actions", response_model=TicketDetail)
def act(
    number: str,
    body: TicketAction,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
) -> TicketDetail:
    """Move a ticket through its life cycle (dispatch, reply, close, rate, ...), audited."""
    ticket = _existing(session, number)
    ctx = lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry)
    try:
        lifecycle.apply_action(ctx, ticket, body)
    except lifecycle.ActionInputError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except lifecycle.ActionError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return to_detail(ticket, taxonomy, registry)


@router.post("/{number}/events", response_model=EventOut, status_code=status.HTTP_201_CREATED)
def add_event(number: str, body: EventIn, session: SessionDep) -> EventOut:
    """Channels append resident-side events (e.g. a hand-off request after filing)."""
    ticket = ticket_service.get_ticket(session=session, number=number)
    if ticket is None:
        raise HTTPException(status_code=404, detail=f"未找到工单 {number}")
    event = ticket_service.add_event(
        session=session, ticket=ticket, kind=body.kind, actor=body.actor, data=body.data
    )
    return EventOut.model_validate(event)
