"""Collected training examples: review, and their export as Rasa NLU data."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy.orm import Session

from core import audit
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


def test_pages_and_counts(session: Session, taxonomy: Taxonomy) -> None:
    rows = [add(session, f"第{i}条说法", "thank") for i in range(5)]
    examples.review(session=session, example=rows[0], action="accept", actor="a",  # type: ignore[arg-type]
                    taxonomy=taxonomy, intents=INTENTS)  # fmt: skip
    examples.review(session=session, example=rows[1], action="reject", actor="a",  # type: ignore[arg-type]
                    taxonomy=taxonomy, intents=INTENTS)  # fmt: skip
    first, total = examples.page(session=session, status="pending", source=None, page=1, size=2)
    second, _ = examples.page(session=session, status="pending", source=None, page=2, size=2)
    assert total == 3 and [e.text for e in first + second] == [
        "第4条说法",
        "第3条说法",
        "第2条说法",
    ]
    assert examples.page(session=session, status="pending", source="import", page=1, size=2) == (
        [],
        0,
    )
    counts = examples.counts_by_status(session=session)
    assert counts == {"pending": 3, "accepted": 1, "rejected": 1}
    assert examples.accepted_count(session=session) == len(examples.accepted(session)) == 1
    assert examples.get_example(session=session, example_id=rows[0].id) is rows[0]  # type: ignore[attr-defined]


def test_a_bulk_review_relabels_and_is_all_or_nothing(session: Session, taxonomy: Taxonomy) -> None:
    labelled = add(session, "谢谢", "thank")
    unlabelled = add(session, "随便说说", None)
    ids = [labelled.id, unlabelled.id]  # type: ignore[attr-defined]
    decisions = [examples.Decision(i, "accept") for i in ids]
    with pytest.raises(examples.ReviewError, match=f"样本 {ids[1]}：请选择意图"):
        examples.review_all(session=session, decisions=decisions, actor="admin:boss",
                            taxonomy=taxonomy, intents=INTENTS)  # fmt: skip
    assert examples.counts_by_status(session=session)["pending"] == 2  # the first was not kept
    assert audit.recent(session, object_type="training_example") == []
    decisions = [
        examples.Decision(ids[0], "accept", "thank"),  # the label it has: accepted
        examples.Decision(ids[1], "accept", "greet"),  # another label: relabelled
        examples.Decision(9999, "reject"),  # deleted meanwhile: skipped
    ]
    done = examples.review_all(session=session, decisions=decisions, actor="admin:boss",
                               taxonomy=taxonomy, intents=INTENTS)  # fmt: skip
    assert done == 2 and examples.counts_by_status(session=session)["accepted"] == 2
    events = audit.recent(session, object_type="training_example")
    assert sorted(e.action for e in events) == ["example_accept", "example_relabel"]


def test_edit_and_delete_are_audited(session: Session, taxonomy: Taxonomy) -> None:
    row = add(session, "谢谢", "thank")
    example_id = row.id  # type: ignore[attr-defined]

    def edit(text: str, intent: str | None, sub: str | None = None) -> object:
        return examples.edit(session=session, example_id=example_id, text=text, intent=intent,
                             subcategory=sub, actor="admin:boss", taxonomy=taxonomy,
                             intents=INTENTS)  # fmt: skip

    for text, intent, sub, message in [
        (" 谢 ", "thank", None, "至少2个字"),
        ("谢谢你", None, None, "请选择意图"),
        ("谢谢你", "report_urban_construction", "nowhere", "没有二级分类"),
    ]:
        with pytest.raises(examples.ReviewError, match=message):
            edit(text, intent, sub)
    assert audit.recent(session, object_type="training_example") == []
    edited = edit(" 路灯  坏了 ", "report_urban_construction", "municipal_facilities")
    assert (edited.text, edited.intent, edited.subcategory) == (  # type: ignore[attr-defined]
        "路灯 坏了",
        "report_urban_construction",
        "municipal_facilities",
    )
    [event] = audit.recent(session, object_type="training_example")
    assert event.action == "example_edit" and event.actor == "admin:boss"
    assert event.data["before"] == {"text": "谢谢", "intent": "thank", "subcategory": None}
    assert examples.delete(session=session, example_id=example_id, actor="admin:boss")
    assert examples.get_example(session=session, example_id=example_id) is None
    assert audit.recent(session, object_type="training_example")[0].action == "example_delete"
    assert not examples.delete(session=session, example_id=example_id, actor="admin:boss")
    with pytest.raises(examples.ReviewError, match="未找到训练样本"):
        edit("谢谢你", "thank")
