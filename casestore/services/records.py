"""民生档案: every request of one resident, and of one place, across tickets.

A resident's record holds the tickets with the same phone number or the same chat identity
(the Telegram or web-chat conversation); tickets filed anonymously belong to nobody's record
and are never joined to one. A place is the ticket's place as written (spaces and punctuation
aside), within the same grid, or the same community or street queue when no grid is known.
Both are keyed by a ticket number, so a phone number never appears in a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from casestore.models import Ticket
from core import labels

LIMIT = 200  # tickets listed on a record (the counts cover them all)
_NOT_PLACE = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class Record:
    kind: str  # "resident" or "place"
    tickets: list[Ticket]  # newest first, at most LIMIT
    total: int
    open: int
    reopened: int  # open again now: the resident (or the follow-up call) said 没解决
    rated: int
    satisfied: int  # 满意 and 基本满意


def has_resident_record(ticket: Ticket) -> bool:
    """Not anonymous, and a phone number or a chat identity to find the resident by."""
    return not ticket.anonymous and bool(ticket.contact_phone or ticket.conversation_id)


def has_place_record(ticket: Ticket) -> bool:
    """A place written down, and a grid or an area to look for it in."""
    return bool(place_key(ticket.location_text)) and bool(ticket.grid_code or ticket.area_code)


def place_key(text: str) -> str:
    """The place as written, without spaces and punctuation ("玉林小区 3栋。" → "玉林小区3栋")."""
    return _NOT_PLACE.sub("", text or "")


def resident_record(
    session: Session, ticket: Ticket, grid_scope: tuple[str, ...] | None = None
) -> Record | None:
    if not has_resident_record(ticket):
        return None
    same = []
    if ticket.contact_phone:
        same.append(Ticket.contact_phone == ticket.contact_phone)
    if ticket.conversation_id:
        same.append(Ticket.conversation_id == ticket.conversation_id)
    return _record(session, "resident", or_(*same) & Ticket.anonymous.is_(False), grid_scope)


def place_record(
    session: Session, ticket: Ticket, grid_scope: tuple[str, ...] | None = None
) -> Record | None:
    if not has_place_record(ticket):
        return None
    key = place_key(ticket.location_text)
    where = (
        Ticket.grid_code == ticket.grid_code
        if ticket.grid_code
        else (Ticket.area_code == ticket.area_code) & Ticket.grid_code.is_(None)
    )
    rows = session.execute(select(Ticket.id, Ticket.location_text).where(where)).all()
    same = [ticket_id for ticket_id, text in rows if place_key(text) == key]
    return _record(session, "place", Ticket.id.in_(same), grid_scope)


def _record(
    session: Session, kind: str, where: object, grid_scope: tuple[str, ...] | None
) -> Record:
    query = select(Ticket).where(where)  # type: ignore[arg-type]
    if grid_scope is not None:  # a grid worker's record shows their grids only
        query = query.where(Ticket.grid_code.in_(grid_scope))
    tickets = list(session.scalars(query.order_by(Ticket.created_at.desc()).limit(LIMIT)))
    counted = query.with_only_columns(
        func.count(),
        func.count().filter(Ticket.status.in_(labels.OPEN_STATUSES)),
        func.count().filter(Ticket.status == "reopened"),
        func.count().filter(Ticket.rating.is_not(None)),
        func.count().filter(Ticket.rating.in_(("satisfied", "basically_satisfied"))),
    )
    total, open_, reopened, rated, satisfied = session.execute(counted).one()
    return Record(kind, tickets, total, open_, reopened, rated, satisfied)
