"""登记受理 of disputes (casestore/services/dispute_intake.py): the first grade, the filing hook."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from casestore.models import Ticket
from casestore.schemas import TicketDraft
from casestore.services.dispute_intake import initial_grade
from casestore.services.tickets import create_ticket
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("5栋有两户因为漏水吵起来了", "yellow"),
        ("楼上楼下噪音争吵", "yellow"),
        ("邻居拿着菜刀扬言要砍人", "red"),
        ("十几户业主聚集在物业门口围堵", "red"),
        ("对方威胁说要报复我家", "orange"),
        ("两家已经多次调解，昨天又打架了", "orange"),
        ("楼道堆物，担心以后会起冲突", "blue"),
        ("有矛盾的苗头", "blue"),
        ("", "yellow"),
    ],
)
def test_the_first_grade_follows_the_keyword_rules(text: str, grade: str) -> None:
    assert initial_grade(text) == grade


def test_red_wins_over_orange_and_blue() -> None:
    assert initial_grade("担心他打架时动刀") == "red"
    assert initial_grade("担心他报复") == "orange"


def file(session: Session, taxonomy: Taxonomy, key: str, **fields: object) -> Ticket:
    body = draft_body(submission_key=key, grid_code="510107001001001", **fields)
    ticket, created = create_ticket(
        session=session, draft=TicketDraft.model_validate(body), taxonomy=taxonomy
    )
    assert created
    return ticket


def test_a_filed_dispute_is_registered_graded_and_has_an_empty_record(
    session: Session, taxonomy: Taxonomy
) -> None:
    ticket = file(session, taxonomy, "web-dispute-0001", category="disputes",
                  description="5栋有两户因为漏水吵起来了")  # fmt: skip
    assert ticket.dispute_stage == "registered"
    assert ticket.risk_grade == "yellow"
    mediation = ticket.mediation
    assert mediation is not None and mediation.parties == [] and mediation.outcome is None
    assert [e.kind for e in ticket.events] == ["created"]


def test_other_categories_are_not_disputes(session: Session, taxonomy: Taxonomy) -> None:
    ticket = file(session, taxonomy, "web-dispute-0002", description="邻居威胁要报复")
    assert ticket.dispute_stage is None
    assert ticket.risk_grade is None
    assert ticket.mediation is None
