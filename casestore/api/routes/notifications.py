"""The residents' notification outbox, drained by the Telegram bot (the web chat reads its own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from casestore.models import Channel, Notification
from casestore.schemas import NotificationOut, NotificationPage
from casestore.services import notifications as notification_service
from core.deps import DbId, ServiceAuth, SessionDep

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], dependencies=[ServiceAuth]
)


def notification_out(note: Notification) -> NotificationOut:
    own = NotificationOut.model_fields.keys() - {"ticket_number"}
    fields = {name: getattr(note, name) for name in own}
    return NotificationOut.model_validate({**fields, "ticket_number": note.ticket.number})


@router.get("", response_model=NotificationPage)
def pending(
    session: SessionDep,
    channel: Channel,
    conversation_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> NotificationPage:
    """Undelivered notifications of a channel, oldest first."""
    rows = notification_service.pending(
        session=session, channel=channel.value, conversation_id=conversation_id, limit=limit
    )
    return NotificationPage(items=[notification_out(n) for n in rows])


@router.post("/{notification_id}/delivered", response_model=NotificationOut)
def delivered(notification_id: DbId, session: SessionDep) -> NotificationOut:
    note = session.get(Notification, notification_id)
    if note is None:
        raise HTTPException(status_code=404, detail=f"未找到通知 {notification_id}")
    return notification_out(notification_service.mark_delivered(session=session, notification=note))
