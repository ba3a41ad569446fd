"""The outbox of messages to residents, drained by the channels."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casestore.models import Notification, NotificationStatus
from core.clock import utcnow


def pending(
    *, session: Session, channel: str, conversation_id: str | None = None, limit: int = 100
) -> list[Notification]:
    query = select(Notification).where(
        Notification.channel == channel, Notification.status == NotificationStatus.PENDING
    )
    if conversation_id is not None:
        query = query.where(Notification.conversation_id == conversation_id)
    return list(session.scalars(query.order_by(Notification.id).limit(limit)).all())


def mark_delivered(*, session: Session, notification: Notification) -> Notification:
    """Idempotent: a second acknowledgement keeps the first delivery time."""
    if notification.status != NotificationStatus.DELIVERED:
        notification.status = NotificationStatus.DELIVERED
        notification.delivered_at = utcnow()
        session.flush()
    return notification


def get_notification(*, session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)
