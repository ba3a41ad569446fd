"""The daily counts (casestore/services/rollup.py): each ticket under its local filing day
and key, the counting rules, and the refresh that rebuilds only the changed days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketDay, TicketEvent, TicketMonth
from casestore.schemas import TicketDraft
from casestore.services import rollup
from casestore.services.tickets import create_ticket
from core.clock import add_working_days
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body

GRID = "510107001001001"
MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Chengdu


def ticket(session: Session, taxonomy: Taxonomy, n: int, at: datetime, **fields: Any) -> Ticket:
    body = draft_body(submission_key=f"web-rollup-{n:04d}", grid_code=GRID,
                      contact_phone=fields.pop("phone", f"1391234{n:04d}"),
                      conversation_id=fields.pop("conversation", f"web-rollup-{n:04d}"),
                      category=fields.pop("category", "urban_construction"))  # fmt: skip
    filed, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                             taxonomy=taxonomy)  # fmt: skip
    filed.created_at = at
    filed.due_at = add_working_days(at, 5)
    for name, value in fields.items():
        setattr(filed, name, value)
    session.flush()
    return filed


def event(t: Ticket, kind: str, after_hours: float, **data: Any) -> None:
    moment = t.created_at + timedelta(hours=after_hours)
    t.events.append(TicketEvent(kind=kind, actor="staff:li", data=data, created_at=moment))


def rows(session: Session) -> dict[tuple[str, ...], dict[str, Any]]:
    found = {}
    for row in session.scalars(select(TicketDay)):
        key = tuple(str(getattr(row, c)) for c in rollup.KEY_COLUMNS)
        columns = (*rollup.COUNTS, *rollup.DISPATCH_COLUMNS, *rollup.CLOSE_COLUMNS)
        found[key] = {c: getattr(row, c) for c in columns}
    return found


def per_day(session: Session, column: str) -> dict[date, int]:
    totals: dict[date, int] = {}
    for row in session.scalars(select(TicketDay)):
        totals[row.day] = totals.get(row.day, 0) + getattr(row, column)
    return {day: n for day, n in totals.items() if n}


def test_buckets_follow_the_hour_bounds() -> None:
    assert [rollup.bucket(h) for h in (0, 1, 1.5, 2, 24, 239, 240, 241, 10_000)] == [
        0, 0, 1, 1, 4, 8, 8, 9, 9
    ]  # fmt: skip


def test_a_ticket_counts_under_its_local_filing_day_and_key(
    session: Session, taxonomy: Taxonomy
) -> None:
    late_evening = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 23:59 in Chengdu
    after_midnight = datetime(2026, 3, 1, 16, 1, tzinfo=UTC)  # 3 March 00:01 there
    ticket(session, taxonomy, 1, late_evening)
    done = ticket(session, taxonomy, 2, after_midnight, status="closed", rating="satisfied",
                  assigned_to="城市管理局", subcategory="municipal_facilities")  # fmt: skip
    done.closed_at = after_midnight + timedelta(hours=30)
    event(done, "dispatched", 3)
    session.commit()
    assert rollup.refresh(session) == 2
    found = rows(session)
    first = ("2026-03-01", GRID, "urban_construction", "", "webchat", "住房和城乡建设局", "")
    second = ("2026-03-02", GRID, "urban_construction", "municipal_facilities", "webchat",
              "住房和城乡建设局", "城市管理局")  # fmt: skip
    assert set(found) == {first, second}
    assert found[first]["filed"] == 1 and found[first]["valid"] == 1
    assert found[first]["solved"] == 0 and found[first]["dispatched"] == 0
    counts = found[second]
    assert (counts["dispatched"], counts["responded"], counts["closed"]) == (1, 1, 1)
    assert (counts["closed_on_time"], counts["solved"], counts["satisfied"]) == (1, 1, 1)
    assert counts["dispatch_h2"] == 1 and counts["close_h5"] == 1  # 3 h; 30 h (24–48 h)


def test_reopened_rejected_and_ratings(session: Session, taxonomy: Taxonomy) -> None:
    called = ticket(session, taxonomy, 1, MARCH, status="closed", rating="unresolved")
    called.closed_at = MARCH + timedelta(days=1)
    event(called, "followed_up", 20, result="unresolved", **{"from": "closed", "to": "reopened"})
    by_staff = ticket(session, taxonomy, 2, MARCH, status="resolved")
    event(by_staff, "reopened", 5, reason="")
    ticket(session, taxonomy, 3, MARCH, status="resolved", rating="dissatisfied")
    rated_only = ticket(session, taxonomy, 4, MARCH, status="closed", rating="basically_satisfied")
    rated_only.closed_at = MARCH + timedelta(days=30)  # after its deadline
    event(rated_only, "rated", 30, rating="basically_satisfied", comment="")  # no move
    spam = ticket(session, taxonomy, 5, MARCH, status="rejected", rating="satisfied")
    event(spam, "reopened", 1, reason="")  # not valid: not counted as reopened
    session.commit()
    rollup.refresh(session)
    (counts,) = rows(session).values()
    assert (counts["filed"], counts["valid"], counts["rated"]) == (5, 4, 4)
    assert (counts["satisfied"], counts["unsatisfied"]) == (2, 2)
    assert counts["reopened"] == 2  # the follow-up call, the staff's reopening
    assert counts["solved"] == 2  # ticket 3, ticket 4
    assert (counts["closed"], counts["closed_on_time"], counts["closed_late"]) == (2, 1, 1)


def test_a_resident_coming_back_within_30_days_is_a_repeat(
    session: Session, taxonomy: Taxonomy
) -> None:
    phone = "13900001111"
    days = [MARCH + timedelta(days=n) for n in (0, 10, 45, 46)]
    ticket(session, taxonomy, 1, days[0], phone=phone)
    ticket(session, taxonomy, 2, days[1], phone=phone)  # 10 days later: a repeat
    ticket(session, taxonomy, 3, days[1], phone=phone, category="transportation")  # other kind
    ticket(session, taxonomy, 4, days[2], phone=phone)  # 35 days after the last: not
    ticket(session, taxonomy, 5, days[3], phone=phone, anonymous=True)  # belongs to nobody
    ticket(session, taxonomy, 6, days[3], phone=phone, status="rejected")  # not valid
    # No phone number: the same chat conversation is the same resident.
    ticket(session, taxonomy, 7, days[0], contact_phone=None, conversation="web-same")
    ticket(session, taxonomy, 8, days[0] + timedelta(hours=1), contact_phone=None,
           conversation="web-same")  # fmt: skip
    # A rejected earlier ticket does not make a later one a repeat.
    ticket(session, taxonomy, 9, days[0], phone="13900002222", status="rejected")
    ticket(session, taxonomy, 10, days[1], phone="13900002222")
    session.commit()
    rollup.refresh(session)
    assert per_day(session, "repeated") == {date(2026, 3, 2): 1, date(2026, 3, 12): 1}


def test_refresh_rebuilds_only_the_changed_days(session: Session, taxonomy: Taxonomy) -> None:
    old = ticket(session, taxonomy, 1, MARCH)
    ticket(session, taxonomy, 2, MARCH + timedelta(days=3))
    session.commit()
    started = datetime.now(UTC)
    assert rollup.refresh(session, now=started) == 2  # first run: every day
    before = rows(session)
    assert rollup.rebuild(session) == 2 and rows(session) == before  # the same from scratch
    # Pretend the refresh ran long ago: nothing changed since then but one ticket.
    session.execute(update(Ticket).values(updated_at=started - timedelta(days=2)))
    session.execute(
        update(rollup.RollupState).values(refreshed_to=started - timedelta(days=1))
    )  # fmt: skip
    session.commit()
    assert rollup.refresh(session) == 0
    old.status = "rejected"  # updated_at moves to now
    session.commit()
    assert rollup.refresh(session) == 1
    assert per_day(session, "valid") == {date(2026, 3, 5): 1}
    assert per_day(session, "filed") == {date(2026, 3, 2): 1, date(2026, 3, 5): 1}
    assert rollup.refresh(session) == 1  # within the safety margin: counted again, unchanged
    assert per_day(session, "valid") == {date(2026, 3, 5): 1}


def test_runs_split_days_into_batches() -> None:
    first = date(2026, 1, 1)
    days = [first + timedelta(days=n) for n in (0, 1, 2, 5, *range(10, 10 + 40))]
    runs = list(rollup._runs(days))
    assert runs[:2] == [(first, first + timedelta(days=2)),
                        (first + timedelta(days=5), first + timedelta(days=5))]  # fmt: skip
    assert runs[2] == (first + timedelta(days=10), first + timedelta(days=10 + 30))
    assert runs[3] == (first + timedelta(days=41), first + timedelta(days=49))
    assert list(rollup._runs([])) == []


def month_rows(session: Session) -> dict[tuple[str, ...], dict[str, int]]:
    columns = (*rollup.COUNTS, *rollup.DISPATCH_COLUMNS, *rollup.CLOSE_COLUMNS)
    return {
        tuple(str(getattr(row, c)) for c in rollup.MONTH_KEY_COLUMNS): {
            c: getattr(row, c) for c in columns
        }
        for row in session.scalars(select(TicketMonth))
    }


def days_by_month(session: Session) -> dict[tuple[str, ...], dict[str, int]]:
    """The daily rows summed in Python per month key: what the monthly rows must hold."""
    found: dict[tuple[str, ...], dict[str, int]] = {}
    for key, counts in rows(session).items():
        day = date.fromisoformat(key[0])
        month_key = (str(day.replace(day=1)), *key[1:5])
        total = found.setdefault(month_key, dict.fromkeys(counts, 0))
        for name, value in counts.items():
            total[name] += value
    return found


def test_the_months_are_the_sums_of_their_days(session: Session, taxonomy: Taxonomy) -> None:
    closed = ticket(session, taxonomy, 1, MARCH - timedelta(days=5), status="closed",
                    rating="satisfied", subcategory="municipal_facilities")  # fmt: skip
    closed.closed_at = closed.created_at + timedelta(hours=30)
    event(closed, "dispatched", 3)
    ticket(session, taxonomy, 2, MARCH, channel="hotline")
    ticket(session, taxonomy, 3, MARCH + timedelta(days=9), assigned_to="城市管理局")
    ticket(session, taxonomy, 6, MARCH + timedelta(days=20))
    later = ticket(session, taxonomy, 4, MARCH + timedelta(days=40))
    ticket(session, taxonomy, 5, MARCH + timedelta(days=41), status="rejected")
    session.commit()
    rollup.refresh(session)
    found = month_rows(session)
    assert found == days_by_month(session)
    assert {key[0] for key in found} == {"2026-02-01", "2026-03-01", "2026-04-01"}
    march = found[("2026-03-01", GRID, "urban_construction", "", "webchat")]
    assert march["filed"] == 2  # tickets 3 and 6: two daily rows (days, assignees), one here
    assert found[("2026-04-01", GRID, "urban_construction", "", "webchat")]["valid"] == 1
    # A change in April rebuilds April; the other months stay as they were.
    later.status = "rejected"
    session.commit()
    rollup.refresh(session)
    assert month_rows(session) == days_by_month(session)
    assert month_rows(session)[("2026-04-01", GRID, "urban_construction", "", "webchat")][
        "valid"
    ] == 0  # fmt: skip
    # Daily counts built before the monthly table existed: the next refresh fills it.
    session.execute(delete(TicketMonth))
    session.commit()
    rollup.refresh(session)
    assert month_rows(session) == days_by_month(session)
    # A full rebuild, and a months-only rebuild, leave the same rows.
    before = month_rows(session)
    rollup.rebuild(session)
    assert month_rows(session) == before and set(before) == set(found)
    assert rollup.rebuild_months(session) == 3 and month_rows(session) == days_by_month(session)
    assert rollup.rebuild_months(session, [date(2026, 3, 17)]) == 1
    assert session.scalar(select(func.count()).select_from(TicketMonth)) == len(found)
