"""民生档案 (casestore/services/records.py): a resident's and a place's tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from casestore.models import Ticket
from casestore.schemas import TicketDraft
from casestore.services import records
from casestore.services.tickets import create_ticket
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body

GRID, OTHER_GRID = "510107001001001", "510107001001002"


def file(session: Session, taxonomy: Taxonomy, n: int, **fields: Any) -> Ticket:
    body = draft_body(submission_key=f"web-record-{n:04d}", **{"grid_code": GRID, **fields})
    ticket, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                              taxonomy=taxonomy)  # fmt: skip
    return ticket


def numbers(record: records.Record | None) -> list[str]:
    assert record is not None
    return [t.number for t in record.tickets]


def test_a_residents_record_joins_their_phone_and_their_chat_but_never_anonymous_ones(
    session: Session, taxonomy: Taxonomy
) -> None:
    first = file(session, taxonomy, 1, contact_phone="13800000001", conversation_id="web-a")
    again = file(session, taxonomy, 2, contact_phone="13800000001", conversation_id="tg-9")
    same_chat = file(session, taxonomy, 3, contact_phone="13700000003", conversation_id="web-a")
    hidden = file(session, taxonomy, 4, anonymous=True, contact_phone=None, conversation_id="web-a")
    other = file(session, taxonomy, 5, contact_phone="13900000002", conversation_id="web-b")
    again.rating, again.status = "satisfied", "closed"
    session.flush()
    record = records.resident_record(session, first)
    assert set(numbers(record)) == {first.number, again.number, same_chat.number}
    assert record is not None and (record.total, record.rated, record.satisfied) == (3, 1, 1)
    assert records.resident_record(session, hidden) is None  # anonymous: no record at all
    assert hidden.number not in numbers(record) and other.number not in numbers(record)


def test_a_places_record_is_the_same_place_as_written_in_the_same_grid(
    session: Session, taxonomy: Taxonomy
) -> None:
    here = file(session, taxonomy, 1, location_text="玉林小区3栋")
    same = file(session, taxonomy, 2, location_text="玉林小区 3栋。", contact_phone="13900000002")
    elsewhere = file(session, taxonomy, 3, location_text="玉林小区3栋", grid_code=OTHER_GRID)
    near = file(session, taxonomy, 4, location_text="玉林小区4栋")
    session.flush()
    record = records.place_record(session, here)
    assert set(numbers(record)) == {here.number, same.number}
    assert elsewhere.number not in numbers(record) and near.number not in numbers(record)
    scoped = records.place_record(session, here, grid_scope=(OTHER_GRID,))
    assert numbers(scoped) == []  # a grid worker of another grid sees none of it
    assert records.place_key("玉林小区 3栋。") == "玉林小区3栋"
