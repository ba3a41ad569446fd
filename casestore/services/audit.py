"""Audit trail for what is not a ticket: training examples, models, taxonomy, accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casestore.models import AuditEvent, utcnow


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=data or {},
        created_at=utcnow(),
    )
    session.add(event)
    return event


def recent(
    session: Session, *, object_type: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    query = select(AuditEvent)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all())
