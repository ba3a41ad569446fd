"""三率 and volumes (casestore/services/stats.py) over tickets with known histories."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketEvent
from casestore.schemas import TicketDraft
from casestore.services import stats
from casestore.services.tickets import create_ticket
from core.clock import utcnow
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body

GRID, OTHER_GRID = "510107001001001", "510107001001002"


def ticket(session: Session, taxonomy: Taxonomy, n: int, **fields: Any) -> Ticket:
    body = draft_body(submission_key=f"web-stats-{n:04d}", grid_code=fields.pop("grid", GRID))
    filed, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                             taxonomy=taxonomy)  # fmt: skip
    for name, value in fields.items():
        setattr(filed, name, value)
    return filed


def event(t: Ticket, kind: str, after_hours: float, **data: Any) -> None:
    moment = t.created_at + timedelta(hours=after_hours)
    t.events.append(TicketEvent(kind=kind, actor="staff:li", data=data, created_at=moment))


def test_the_rates_follow_their_definitions(session: Session, taxonomy: Taxonomy) -> None:
    quick = ticket(session, taxonomy, 1, status="closed", rating="satisfied")
    quick.closed_at = quick.created_at + timedelta(hours=30)
    event(quick, "dispatched", 2)
    late = ticket(session, taxonomy, 2, status="closed", rating="dissatisfied")
    late.closed_at = late.due_at + timedelta(hours=1)  # after its deadline
    event(late, "dispatched", 100)  # days later: not a response in time
    back = ticket(session, taxonomy, 3, status="reopened", rating="unresolved")
    event(back, "dispatched", 1)
    event(back, "rated", 40, rating="unresolved", **{"from": "resolved", "to": "reopened"})
    waiting = ticket(session, taxonomy, 4)  # filed, nothing yet
    spam = ticket(session, taxonomy, 5, status="rejected")  # not a valid ticket
    ticket(session, taxonomy, 6, grid=OTHER_GRID, status="resolved")  # solved, elsewhere
    session.flush()
    now = utcnow()
    found = stats.figures(session, now - timedelta(days=1), now + timedelta(days=1))
    assert (found.filed, found.valid) == (6, 5)
    assert found.responded == 2 and found.response_rate == 2 / 5  # quick, back
    assert (found.closed, found.closed_on_time) == (2, 1)
    assert found.solved == 3  # quick, late (closed after its deadline) and elsewhere; not back
    assert found.solve_rate == 3 / 5
    assert (found.rated, found.satisfied) == (3, 1)
    assert found.reopened == 1 and found.reopen_rate == 1 / 5
    assert found.hours_to_dispatch == 2.0 and found.hours_to_close is not None
    assert dict(found.by_grid) == {GRID: 5, OTHER_GRID: 1}
    scoped = stats.figures(session, now - timedelta(days=1), now + timedelta(days=1), (OTHER_GRID,))
    assert (scoped.filed, scoped.solved) == (1, 1)
    assert waiting.id and spam.id
    empty = stats.figures(session, now + timedelta(days=5), now + timedelta(days=6))
    assert empty.filed == 0 and empty.response_rate is None
