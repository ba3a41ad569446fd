"""Collected training examples: review, and their export as Rasa NLU data."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy.orm import Session

from core.settings import ROOT
from core.taxonomy import Taxonomy
from retraining import examples
from retraining.models import ExampleSource
from retraining.schemas import TrainingExampleIn

INTENTS = examples.domain_intents(ROOT / "domain.yml")


def add(session: Session, text: str, intent: str | None, sub: str | None = None) -> object:
    return examples.add_example(
        session=session,
        example=TrainingExampleIn(
            text=text, intent=intent, subcategory=sub, source=ExampleSource.FALLBACK_CHOICE
        ),
        actor="bot",
    )


def test_review_checks_labels_against_taxonomy_and_domain(
    session: Session, taxonomy: Taxonomy
) -> None:
    row = add(session, "随便说说", None)
    with pytest.raises(examples.ReviewError, match="请选择意图"):
        examples.review(session=session, example=row, action="accept", actor="a",  # type: ignore[arg-type]
                        taxonomy=taxonomy, intents=INTENTS)  # fmt: skip
    for intent, sub, message in [
        ("report_nowhere", None, "未知的分类意图"),
        ("report_urban_construction", "nowhere", "没有二级分类"),
        ("sing_a_song", None, "未知的意图"),
        ("thank", "x", "只有诉求分类意图才有二级分类"),
    ]:
        with pytest.raises(examples.ReviewError, match=message):
            examples.check_label(taxonomy, INTENTS, intent, sub)
    relabelled = examples.review(session=session, example=row, action="relabel", actor="a",  # type: ignore[arg-type]
                                 taxonomy=taxonomy, intents=INTENTS, intent="thank")  # fmt: skip
    assert (relabelled.status, relabelled.intent, relabelled.reviewed_by) == (
        "accepted",
        "thank",
        "a",
    )
    with pytest.raises(examples.ReviewError, match="未知的审核操作"):
        examples.review(session=session, example=row, action="keep", actor="a",  # type: ignore[arg-type]
                        taxonomy=taxonomy, intents=INTENTS)  # fmt: skip


def test_accepted_examples_become_nlu_data(session: Session, taxonomy: Taxonomy) -> None:
    rows = [
        add(session, "路灯  坏了", "report_urban_construction", "municipal_facilities"),
        add(session, "路灯 坏了", "report_urban_construction", "municipal_facilities"),
        add(session, "看[这里](location)", "report_urban_construction"),
        add(session, "谢谢", "thank"),
        add(session, "不要", "deny"),
    ]
    for row in rows[:4]:
        examples.review(session=session, example=row, action="accept", actor="a",  # type: ignore[arg-type]
                        taxonomy=taxonomy, intents=INTENTS)  # fmt: skip
    accepted = examples.accepted(session)
    assert [e.text for e in accepted] == ["路灯  坏了", "路灯 坏了", "看[这里](location)", "谢谢"]
    data = yaml.safe_load(examples.to_nlu_yaml(accepted))
    assert data["nlu"] == [
        {"intent": "report_urban_construction", "examples": "- 看［这里］(location)\n"},
        {"intent": "report_urban_construction", "metadata": {"subcategory": "municipal_facilities"},
         "examples": "- 路灯 坏了\n"},
        {"intent": "thank", "examples": "- 谢谢\n"},
    ]  # fmt: skip
