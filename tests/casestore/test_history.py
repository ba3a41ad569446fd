"""The invented history (casestore/services/history.py): marked tickets, consistent events
and statuses, planted bursts well above the usual volume, and the daily counts built."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketEvent
from casestore.services import history, stats
from core.clock import LOCAL_TZ
from core.settings import ROOT
from core.taxonomy import Taxonomy
from grids.registry import Registry, load_registry

END = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Chengdu


@pytest.fixture
def registry() -> Registry:
    return load_registry(Path(ROOT) / "data" / "grids")


def test_an_invented_history_is_marked_and_consistent(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    grid = sorted(registry.grids)[3]
    planted = [history.PlantedBurst(day=END - timedelta(days=1), grid_code=grid,
                                    community=registry.grids[grid].community,
                                    category="urban_construction", extra=9)]  # fmt: skip
    bursts = history.generate(session, registry, taxonomy, tickets=1500, days=90, end=END,
                              seed=3, bursts=2, planted=planted, now=NOW)  # fmt: skip
    assert len(bursts) == 3 and bursts[-1] == planted[0]
    tickets = session.scalars(select(Ticket)).all()
    assert len(tickets) == 1500 + sum(b.extra for b in bursts)
    assert all(history.is_demo_number(t.number) and len(t.number) == 15 for t in tickets)
    assert len({t.number for t in tickets}) == len(tickets)
    assert all(t.submission_key == f"demo-{t.number}" for t in tickets)
    assert all(t.created_at <= NOW for t in tickets)
    assert all(t.grid_code in registry.grids for t in tickets)
    statuses = Counter(t.status for t in tickets)
    assert statuses["closed"] > 0.8 * len(tickets)  # old ones mostly closed
    assert statuses["rejected"] and statuses["merged"]
    busiest = Counter(t.grid_code for t in tickets).most_common()
    assert busiest[0][1] > 3 * busiest[-1][1]  # some grids much busier
    # Events as the life cycle writes them, never after now; states agree with them.
    events = session.scalars(select(TicketEvent)).all()
    assert all(e.created_at <= NOW for e in events)
    by_ticket: dict[int, list[TicketEvent]] = {}
    for e in events:
        by_ticket.setdefault(e.ticket_id, []).append(e)
    for t in tickets:
        mine = sorted(by_ticket[t.id], key=lambda e: (e.created_at, e.id))
        assert mine[0].kind == "created"
        moves = [e for e in mine if "to" in e.data]
        if moves:
            assert moves[-1].data["to"] == t.status, t.number
        if t.status == "closed":
            assert t.closed_at is not None and t.resolution
        if t.status == "merged":
            assert t.merged_into and t.merged_into < t.number
        if t.rating:
            assert any(e.kind in ("rated", "followed_up") for e in mine)
    assert any(e.data.get("to") == "reopened" and e.kind == "rated" for e in events)
    # Some residents come back.
    phones = Counter(t.contact_phone for t in tickets if t.contact_phone)
    assert phones.most_common(1)[0][1] >= 3
    # The planted burst: the same problem at one place, well above the grid's usual day.
    day_start = datetime.combine(planted[0].day, datetime.min.time(), tzinfo=LOCAL_TZ)
    burst = [t for t in tickets if t.grid_code == grid and t.category == "urban_construction"
             and day_start <= t.created_at < day_start + timedelta(days=1)]  # fmt: skip
    assert len(burst) >= 9 and sum("下水道" in t.description for t in burst) >= 9
    counts = stats.daily_counts(session, END - timedelta(days=89), END)
    usual = counts[(grid, "urban_construction")]
    assert usual[planted[0].day] >= 9 and sorted(usual.values())[len(usual) // 2] <= 2
    # The daily counts were built: they agree with the ticket table.
    whole = stats.figures(session, stats.Scope(since=END - timedelta(days=89), until=END))
    assert whole.filed == len(tickets)
    assert whole.closed == statuses["closed"]
    assert stats.refreshed_to(session) is not None


def test_the_same_seed_makes_the_same_history_and_numbers_go_on(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    history.generate(session, registry, taxonomy, tickets=200, days=10, end=END, seed=5,
                     now=NOW)  # fmt: skip
    first = session.scalars(select(Ticket.description).order_by(Ticket.id)).all()
    history.generate(session, registry, taxonomy, tickets=200, days=10, end=END, seed=5,
                     now=NOW)  # fmt: skip
    both = session.scalars(select(Ticket.description).order_by(Ticket.id)).all()
    assert both[:200] == first and both[200:] == first  # same story, new numbers
    assert session.scalar(select(func.count(func.distinct(Ticket.number)))) == 400


def test_a_backlog_grid_keeps_overdue_open_tickets(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    grid = sorted(registry.grids)[0]
    history.generate(session, registry, taxonomy, tickets=3000, days=60, end=END, seed=7,
                     backlog_grid=grid, now=NOW)  # fmt: skip
    overdue = stats.overdue_open(session, NOW, None)
    assert overdue.get(grid, 0) == max(overdue.values()) and overdue[grid] >= 5


def test_bad_arguments_are_refused(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    with pytest.raises(ValueError):
        history.generate(session, registry, taxonomy, tickets=10, days=0, end=END, seed=1)
    with pytest.raises(ValueError):
        history.generate(session, Registry(), taxonomy, tickets=10, days=5, end=END, seed=1)
