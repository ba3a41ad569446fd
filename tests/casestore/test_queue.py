"""The queue service: urgency order, open tasks, pages cut in SQL (casestore/services/queue.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketEvent
from casestore.schemas import TicketDraft
from casestore.services import queue
from casestore.services.tickets import TicketFilter, create_ticket
from core import labels
from core.clock import utcnow
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body

GRID = "510107001001001"
T = TypeVar("T")


def ticket(
    session: Session, taxonomy: Taxonomy, n: int, *, due_in_hours: int, **fields: Any
) -> Ticket:
    """A filed ticket, then changed as a life-cycle action or a test needs (status, deadline)."""
    draft = TicketDraft.model_validate(
        draft_body(submission_key=f"web-abc12345-{n:04d}", grid_code=GRID)
    )
    filed, _ = create_ticket(session=session, draft=draft, taxonomy=taxonomy)
    filed.due_at = utcnow() + timedelta(hours=due_in_hours)
    for name, value in fields.items():
        setattr(filed, name, value)
    session.flush()
    return filed


def numbers(tickets: list[Ticket]) -> list[str]:
    return [t.number for t in tickets]


def test_reopened_and_returned_tickets_come_first_in_the_review_queue(
    session: Session, taxonomy: Taxonomy
) -> None:
    """A reopen sets a fresh deadline, the latest of all: by deadline alone it came last. A
    ticket its unit sent back (已退回) waits for the dispatcher as urgently."""
    soon = ticket(session, taxonomy, 1, due_in_hours=2)
    handoff = ticket(session, taxonomy, 2, due_in_hours=5, handoff_requested=True)
    reopened = ticket(session, taxonomy, 3, due_in_hours=120, status="reopened")
    returned = ticket(session, taxonomy, 4, due_in_hours=60, status="returned")
    review = TicketFilter(statuses=labels.REVIEW_STATUSES)
    rows, total = queue.list_queue(session=session, f=review)
    assert total == 4
    assert numbers(rows) == [returned.number, reopened.number, handoff.number, soon.number]
    assert numbers(list(queue.iter_all(session=session, f=review))) == numbers(rows)


def test_tasks_are_dispatched_in_progress_or_reopened_once_assigned_by_deadline(
    session: Session, taxonomy: Taxonomy
) -> None:
    ticket(session, taxonomy, 1, due_in_hours=1)  # submitted: not reviewed, nobody's task yet
    later = ticket(session, taxonomy, 2, due_in_hours=48, status="dispatched", assigned_to="王五")
    overdue = ticket(
        session, taxonomy, 3, due_in_hours=-3, status="in_progress", assigned_to="王五"
    )
    again = ticket(session, taxonomy, 4, due_in_hours=24, status="reopened", assigned_to="王五")
    ticket(session, taxonomy, 5, due_in_hours=2, status="reopened")  # never dispatched
    ticket(session, taxonomy, 6, due_in_hours=3, status="closed", assigned_to="王五")
    tasks = queue.QueueFilter(tasks=True)
    rows, total = queue.list_queue(session=session, f=tasks)
    assert numbers(rows) == [overdue.number, again.number, later.number] and total == 3
    assert numbers(list(queue.iter_all(session=session, f=tasks))) == numbers(rows)
    mine = queue.QueueFilter(tasks=True, grid_scope=("510107001001002",))
    assert queue.list_queue(session=session, f=mine) == ([], 0)  # the grid scope still holds


def executed(session: Session, call: Callable[[], T]) -> tuple[T, list[tuple[str, Any]]]:
    """What ``call()`` returns, and the SQL statements (with parameters) it sent."""
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statements.append((str(args[2]), args[3]))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        return call(), statements
    finally:
        event.remove(bind, "before_cursor_execute", record)


def test_pages_are_cut_in_sql_and_sorted_over_ids_only(
    session: Session, taxonomy: Taxonomy
) -> None:
    """Sorting whole rows (descriptions, transcripts) made deep pages of 100,000 tickets slow."""
    made = [ticket(session, taxonomy, n, due_in_hours=n) for n in range(1, 8)]
    (rows, total), statements = executed(
        session, lambda: queue.list_queue(session=session, f=TicketFilter(), limit=3, offset=3)
    )
    assert numbers(rows) == numbers(made[3:6]) and total == 7
    sorted_statements = [s for s, _ in statements if "ORDER BY" in s]
    assert sorted_statements and all("LIMIT" in s for s in sorted_statements)
    assert all("ticket.description" not in s for s in sorted_statements)


def test_the_queue_order_can_be_read_from_an_index(session: Session, taxonomy: Taxonomy) -> None:
    """The order is written so that the migrations' ix_ticket_queue_order serves it (a bound
    'reopened' would not)."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the query plan is checked with SQLite's EXPLAIN QUERY PLAN")
    ticket(session, taxonomy, 1, due_in_hours=1)
    _, statements = executed(session, lambda: queue.list_queue(session=session, f=TicketFilter()))
    sql, parameters = next((s, p) for s, p in statements if "ORDER BY" in s)
    plan = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
    steps = " | ".join(str(row[-1]) for row in plan)
    assert "USING INDEX ix_ticket_queue_order" in steps and "TEMP B-TREE" not in steps, steps


def test_my_tickets_are_those_i_acted_on(session: Session, taxonomy: Taxonomy) -> None:
    """我经办的工单: any event by the actor (filed, dispatched, replied …), in queue order."""
    mine = ticket(session, taxonomy, 1, due_in_hours=5)
    theirs = ticket(session, taxonomy, 2, due_in_hours=2)
    mine.events.append(TicketEvent(kind="replied", actor="staff:lili", data={}))
    theirs.events.append(TicketEvent(kind="replied", actor="staff:wang", data={}))
    session.flush()
    rows, total = queue.list_queue(session=session, f=queue.QueueFilter(actor="staff:lili"))
    assert numbers(rows) == [mine.number] and total == 1
