"""Training examples collected from the work (fallback choices, corrections, imports)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casestore.models import TrainingExample, utcnow
from casestore.schemas import TrainingExampleIn


def add_example(*, session: Session, example: TrainingExampleIn, actor: str) -> TrainingExample:
    row = TrainingExample(
        text=example.text,
        intent=example.intent,
        subcategory=example.subcategory,
        source=example.source.value,
        status="pending",
        predicted_intent=example.predicted_intent,
        predicted_confidence=example.predicted_confidence,
        ticket_number=example.ticket_number,
        conversation_id=example.conversation_id,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def list_examples(
    *, session: Session, source: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[TrainingExample], int]:
    query = select(TrainingExample)
    if source:
        query = query.where(TrainingExample.source == source)
    if status:
        query = query.where(TrainingExample.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(TrainingExample.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total
