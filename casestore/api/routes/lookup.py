"""A resident's status look-up (查询进度) as the bot makes it: only with a right to see it.

Ticket numbers are sequential, so a number alone proves nothing. The status is shown to the
conversation that filed the ticket, or to whoever gives the last four digits of the phone
number on it. The digits are compared here, so the phone number never leaves the case
store; a wrong answer is recorded on the ticket (``status_lookup_refused``), and after
``MAX_REFUSED`` of them in a day the ticket takes no more digits (four digits are 10,000
guesses: the limit keeps the chance of a guess at 1 in 2,000 a day). Anonymous tickets and
tickets without a phone number are shown only to their own conversation.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from casestore.api.routes.tickets import to_out
from casestore.models import Ticket, TicketEvent
from casestore.services import lifecycle
from casestore.services import tickets as ticket_service
from core.clock import utcnow
from core.deps import ServiceAuth, SessionDep, TaxonomyDep
from core.ticket_number import is_ticket_number
from grids.api import RegistryDep

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], dependencies=[ServiceAuth])

REFUSED = "status_lookup_refused"
MAX_REFUSED = 5
REFUSED_WINDOW = timedelta(days=1)


class Outcome(StrEnum):
    SHOWN = "shown"  # the ticket's own conversation, or the right digits
    PHONE_NEEDED = "phone_needed"  # ask for the last four digits
    NO_PHONE = "no_phone"  # anonymous or no phone: only the hotline can help
    MISMATCH = "mismatch"  # wrong digits (recorded)
    LOCKED = "locked"  # too many wrong digits today


class LookupIn(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=128)
    phone_last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None


class TicketStatus(BaseModel):
    """What a resident is told: no description, location, phone or staff notes."""

    number: str
    category_name: str
    status: str
    status_label: str
    department: str
    created_at: datetime
    due_at: datetime


class LookupOut(BaseModel):
    outcome: Outcome
    ticket: TicketStatus | None = None


def last4(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else None


def _refused_recently(session: SessionDep, ticket: Ticket) -> int:
    since = utcnow() - REFUSED_WINDOW
    query = select(func.count()).where(
        TicketEvent.ticket_id == ticket.id,
        TicketEvent.kind == REFUSED,
        TicketEvent.created_at >= since,
    )
    return int(session.scalar(query) or 0)


@router.post("/{number}/status-lookup", response_model=LookupOut)
def status_lookup(
    number: str,
    body: LookupIn,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
) -> LookupOut:
    """The ticket's status if this conversation may see it, else what it takes to see it."""
    if not is_ticket_number(number):
        raise HTTPException(status_code=422, detail="工单号应为13位数字，例如 2026112600001")
    ticket = ticket_service.get_ticket(session=session, number=number)
    if ticket is None:
        raise HTTPException(status_code=404, detail=f"未找到工单 {number}")
    if ticket.conversation_id is not None and hmac.compare_digest(
        ticket.conversation_id.encode("utf-8"), body.conversation_id.encode("utf-8")
    ):
        return _shown(ticket, taxonomy, registry)
    expected = None if ticket.anonymous else last4(ticket.contact_phone)
    if expected is None:
        return LookupOut(outcome=Outcome.NO_PHONE)
    if body.phone_last4 is None:
        return LookupOut(outcome=Outcome.PHONE_NEEDED)
    if _refused_recently(session, ticket) >= MAX_REFUSED:
        return LookupOut(outcome=Outcome.LOCKED)
    if hmac.compare_digest(expected.encode(), body.phone_last4.encode()):
        return _shown(ticket, taxonomy, registry)
    ticket_service.add_event(
        session=session,
        ticket=ticket,
        kind=REFUSED,
        actor="resident",
        data={"conversation_id": body.conversation_id},
    )
    return LookupOut(outcome=Outcome.MISMATCH)


def _shown(ticket: Ticket, taxonomy: TaxonomyDep, registry: RegistryDep) -> LookupOut:
    out = to_out(ticket, taxonomy, registry)
    status = TicketStatus(
        number=out.number,
        category_name=out.category_name,
        status=str(out.status),
        status_label=out.status_label,
        department=lifecycle.current_handler(ticket),
        created_at=out.created_at,
        due_at=out.due_at,
    )
    return LookupOut(outcome=Outcome.SHOWN, ticket=status)
