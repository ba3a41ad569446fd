"""Training examples collected from the work (fallback choices, corrections, imports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.taxonomy import Taxonomy
from retraining.models import TrainingExample
from retraining.schemas import TrainingExampleIn

STATUSES = ("pending", "accepted", "rejected")  # 待审核, 已采纳, 已舍弃


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


def page(
    *, session: Session, status: str, source: str | None, page: int, size: int
) -> tuple[list[TrainingExample], int]:
    """One page (from 1) of the examples in a status, newest first, and how many there are."""
    return list_examples(
        session=session, source=source, status=status, limit=size, offset=(page - 1) * size
    )


def counts_by_status(*, session: Session) -> dict[str, int]:
    """How many examples are in each status (every status, zero included)."""
    query = select(TrainingExample.status, func.count()).group_by(TrainingExample.status)
    counts = {status: count for status, count in session.execute(query)}
    return {status: counts.get(status, 0) for status in STATUSES}


def accepted_count(*, session: Session) -> int:
    """How many accepted examples the next training adds (those of ``accepted``)."""
    query = select(func.count()).where(
        TrainingExample.status == "accepted", TrainingExample.intent.is_not(None)
    )
    return session.scalar(query) or 0


def get_example(*, session: Session, example_id: int) -> TrainingExample | None:
    return session.get(TrainingExample, example_id)


class ReviewError(ValueError):
    """The review cannot be applied (message in Chinese)."""


REVIEW_ACTIONS = {"accept": "采纳", "relabel": "改标注并采纳", "reject": "舍弃"}


@lru_cache
def domain_intents(domain_file: Path) -> tuple[str, ...]:
    with domain_file.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return tuple(str(i) if not isinstance(i, dict) else str(next(iter(i))) for i in raw["intents"])


def check_label(
    taxonomy: Taxonomy, intents: tuple[str, ...], intent: str | None, subcategory: str | None
) -> None:
    if not intent:
        raise ReviewError("请选择意图（分类）")
    if intent.startswith("report_"):
        category = taxonomy.get(intent[len("report_") :])
        if category is None:
            raise ReviewError(f"未知的分类意图：{intent}")
        if subcategory and category.subcategory(subcategory) is None:
            raise ReviewError(f"分类「{category.name}」下没有二级分类：{subcategory}")
    elif intent not in intents:
        raise ReviewError(f"未知的意图：{intent}")
    elif subcategory:
        raise ReviewError("只有诉求分类意图才有二级分类")


def review(
    *,
    session: Session,
    example: TrainingExample,
    action: str,
    actor: str,
    taxonomy: Taxonomy,
    intents: tuple[str, ...],
    intent: str | None = None,
    subcategory: str | None = None,
) -> TrainingExample:
    """Accept, relabel (and accept) or reject one example; audited."""
    if action not in REVIEW_ACTIONS:
        raise ReviewError("未知的审核操作")
    before = {
        "status": example.status,
        "intent": example.intent,
        "subcategory": example.subcategory,
    }
    if action == "relabel":
        check_label(taxonomy, intents, intent, subcategory)
        example.intent, example.subcategory = intent, subcategory or None
    if action in {"accept", "relabel"}:
        check_label(taxonomy, intents, example.intent, example.subcategory)
        example.status = "accepted"
    else:
        example.status = "rejected"
    example.reviewed_by, example.reviewed_at = actor, utcnow()
    after = {"status": example.status, "intent": example.intent, "subcategory": example.subcategory}
    audit.record(
        session,
        actor=actor,
        action=f"example_{action}",
        object_type="training_example",
        object_id=example.id,
        data={"before": before, "after": after, "text": example.text[:200]},
    )
    session.flush()
    return example


@dataclass(frozen=True)
class Decision:
    """One row of the console's inbox: accept (with the label chosen there) or reject."""

    example_id: int
    action: str  # accept | reject | relabel
    intent: str | None = None
    subcategory: str | None = None


def review_all(
    *,
    session: Session,
    decisions: Sequence[Decision],
    actor: str,
    taxonomy: Taxonomy,
    intents: tuple[str, ...],
) -> int:
    """Review several examples at once, all or none; returns how many were reviewed.

    Accepting with a label other than the example's is a relabelling. A refused decision
    raises ReviewError naming its example, and none of the decisions is kept (a savepoint),
    so that a bulk review never stops half-way. Examples deleted meanwhile are skipped.
    """
    done = 0
    with session.begin_nested():
        for decision in decisions:
            example = session.get(TrainingExample, decision.example_id)
            if example is None:
                continue
            action, intent, sub = decision.action, decision.intent, decision.subcategory or None
            other_label = (intent, sub) != (example.intent, example.subcategory)
            if action == "accept" and intent and other_label:
                action = "relabel"
            try:
                review(
                    session=session,
                    example=example,
                    action=action,
                    actor=actor,
                    taxonomy=taxonomy,
                    intents=intents,
                    intent=intent,
                    subcategory=sub,
                )
            except ReviewError as exc:
                raise ReviewError(f"样本 {decision.example_id}：{exc}") from exc
            done += 1
    return done


def edit(
    *,
    session: Session,
    example_id: int,
    text: str,
    intent: str | None,
    subcategory: str | None,
    actor: str,
    taxonomy: Taxonomy,
    intents: tuple[str, ...],
) -> TrainingExample:
    """Correct the text or label of a collected example; audited (``example_edit``)."""
    example = session.get(TrainingExample, example_id)
    if example is None:
        raise ReviewError(f"未找到训练样本 {example_id}（可能已被删除）")
    text = " ".join(text.split())
    if len(text) < 2:
        raise ReviewError("样本内容至少2个字")
    check_label(taxonomy, intents, intent or None, subcategory or None)
    before = {"text": example.text, "intent": example.intent, "subcategory": example.subcategory}
    example.text, example.intent, example.subcategory = text, intent, subcategory or None
    example.reviewed_by, example.reviewed_at = actor, utcnow()
    after = {"text": text, "intent": intent, "subcategory": subcategory or None}
    audit.record(session, actor=actor, action="example_edit", object_type="training_example",
                 object_id=example_id, data={"before": before, "after": after})  # fmt: skip
    session.flush()
    return example


def delete(*, session: Session, example_id: int, actor: str) -> bool:
    """Remove a collected example for good; audited (``example_delete``). False if not found."""
    example = session.get(TrainingExample, example_id)
    if example is None:
        return False
    audit.record(session, actor=actor, action="example_delete", object_type="training_example",
                 object_id=example_id,
                 data={"text": example.text[:200], "intent": example.intent})  # fmt: skip
    session.delete(example)
    session.flush()
    return True


def accepted_label_counts(session: Session) -> list[tuple[str, str | None, int]]:
    """(intent, subcategory, how many) of the accepted examples, counted in the database."""
    query = (
        select(TrainingExample.intent, TrainingExample.subcategory, func.count())
        .where(TrainingExample.status == "accepted", TrainingExample.intent.is_not(None))
        .group_by(TrainingExample.intent, TrainingExample.subcategory)
    )
    return [(str(intent), sub, int(n)) for intent, sub, n in session.execute(query)]


def accepted_page(session: Session, *, page: int, size: int) -> tuple[list[TrainingExample], int]:
    """One page (from 1) of the accepted examples, newest first, and how many there are."""
    return list_examples(
        session=session, source=None, status="accepted", limit=size, offset=(page - 1) * size
    )


def accepted_texts(session: Session) -> list[tuple[int, str, str, str | None]]:
    """(id, text, intent, subcategory) of every accepted example: columns, not rows, as a
    check over tens of thousands of them needs no more."""
    query = (
        select(TrainingExample.id, TrainingExample.text, TrainingExample.intent,
               TrainingExample.subcategory)
        .where(TrainingExample.status == "accepted", TrainingExample.intent.is_not(None))
        .order_by(TrainingExample.id)
    )  # fmt: skip
    return [(i, text, str(intent), sub) for i, text, intent, sub in session.execute(query)]


def accepted_stamp(session: Session) -> tuple[int, int, str]:
    """Changes whenever the accepted examples do: every review and edit sets reviewed_at,
    a deletion lowers the count."""
    query = select(
        func.count(), func.max(TrainingExample.id), func.max(TrainingExample.reviewed_at)
    ).where(TrainingExample.status == "accepted")
    n, last_id, last_review = session.execute(query).one()
    return int(n), int(last_id or 0), str(last_review or "")


def accepted(session: Session) -> list[TrainingExample]:
    return list(
        session.scalars(
            select(TrainingExample)
            .where(TrainingExample.status == "accepted", TrainingExample.intent.is_not(None))
            .order_by(TrainingExample.id)
        ).all()
    )


def to_nlu_yaml(examples: list[TrainingExample]) -> str:
    """Accepted examples as Rasa NLU data, one block per intent and subcategory."""
    blocks: dict[tuple[str, str | None], list[str]] = {}
    seen: set[str] = set()
    for example in examples:
        text = " ".join(example.text.split())
        if not text or text in seen:
            continue
        seen.add(text)
        blocks.setdefault((str(example.intent), example.subcategory), []).append(text)
    nlu = []
    for (intent, sub), texts in sorted(blocks.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        block: dict[str, object] = {"intent": intent}
        if sub:
            block["metadata"] = {"subcategory": sub}
        block["examples"] = "".join(f"- {_escape_entities(t)}\n" for t in texts)
        nlu.append(block)
    return yaml.safe_dump(
        {"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False, width=10_000
    )


def _escape_entities(text: str) -> str:
    """Rasa reads [x](entity) as an annotation; resident text must stay plain."""
    return text.replace("[", "［").replace("]", "］")
