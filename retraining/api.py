"""Training examples (训练样本): the bot's fallback choices and staff corrections land here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from core.deps import DbId, Offset, ServiceAuth, SessionDep, SettingsDep, TaxonomyDep
from retraining import examples as service
from retraining.models import ExampleSource, TrainingExample
from retraining.schemas import TrainingExampleIn, TrainingExampleOut, TrainingExamplePage

router = APIRouter(
    prefix="/api/v1/training-examples", tags=["training"], dependencies=[ServiceAuth]
)


@router.post("", response_model=TrainingExampleOut, status_code=status.HTTP_201_CREATED)
def add_example(
    body: TrainingExampleIn, session: SessionDep, taxonomy: TaxonomyDep
) -> TrainingExampleOut:
    if body.intent and body.intent.startswith("report_"):
        category = taxonomy.get(body.intent[len("report_") :])
        if category is None:
            raise HTTPException(status_code=422, detail=f"未知的意图：{body.intent}")
        if body.subcategory and category.subcategory(body.subcategory) is None:
            raise HTTPException(status_code=422, detail=f"未知的二级分类：{body.subcategory}")
    row = service.add_example(session=session, example=body, actor="bot")
    return TrainingExampleOut.model_validate(row)


@router.get("", response_model=TrainingExamplePage)
def list_examples(
    session: SessionDep,
    source: ExampleSource | None = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|accepted|rejected)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> TrainingExamplePage:
    rows, total = service.list_examples(
        session=session,
        source=source.value if source else None,
        status=status_,
        limit=limit,
        offset=offset,
    )
    return TrainingExamplePage(
        items=[TrainingExampleOut.model_validate(r) for r in rows], total=total
    )


class ReviewIn(BaseModel):
    action: str = Field(pattern="^(accept|relabel|reject)$")
    actor: str = Field(min_length=1, max_length=64)
    intent: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)


@router.post("/{example_id}/review", response_model=TrainingExampleOut)
def review_example(
    example_id: DbId,
    body: ReviewIn,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    settings: SettingsDep,
) -> TrainingExampleOut:
    """Accept, relabel or reject an example for the next training (audited)."""
    example = session.get(TrainingExample, example_id)
    if example is None:
        raise HTTPException(status_code=404, detail=f"未找到训练样本 {example_id}")
    try:
        service.review(
            session=session,
            example=example,
            action=body.action,
            actor=body.actor,
            taxonomy=taxonomy,
            intents=service.domain_intents(settings.data_dir.parent / "domain.yml"),
            intent=body.intent,
            subcategory=body.subcategory,
        )
    except service.ReviewError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return TrainingExampleOut.model_validate(example)
