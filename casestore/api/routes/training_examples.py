"""Training examples (训练样本): the bot's fallback choices and staff corrections land here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from casestore.api.deps import ServiceAuth, SessionDep, TaxonomyDep
from casestore.models import ExampleSource
from casestore.schemas import TrainingExampleIn, TrainingExampleOut, TrainingExamplePage
from casestore.services import training_examples as service

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
    offset: Annotated[int, Query(ge=0)] = 0,
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
