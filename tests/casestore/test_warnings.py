"""预警 (casestore/services/warnings.py): bursts, clusters, repeats, risk, pushes, 处置."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from accounts import service as accounts
from accounts.models import Role, User
from casestore.models import Alert, StaffNotice, Ticket, TicketDay
from casestore.schemas import TicketDraft
from casestore.services import warnings
from casestore.services.tickets import create_ticket
from core.audit import AuditEvent
from core.clock import LOCAL_TZ, local_midnight, utcnow
from core.settings import ROOT
from core.taxonomy import Taxonomy
from grids.registry import Registry, load_registry
from tests.app_fixtures import draft_body

GRID, SAME_COMMUNITY, OTHER_STREET = "510107001001001", "510107001001002", "510107002001001"
COMMUNITY, STREET = "510107001001", "510107001"
CATEGORY = "urban_construction"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(ROOT / "data" / "grids")


def local_today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def file(session: Session, taxonomy: Taxonomy, n: int, when: datetime | None = None,
         **fields: Any) -> Ticket:  # fmt: skip
    body = draft_body(submission_key=f"web-warn-{n:05d}", **{"grid_code": GRID, **fields})
    ticket, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                              taxonomy=taxonomy)  # fmt: skip
    if when is not None:
        ticket.created_at = when
    session.flush()
    return ticket


def day_row(day: date, grid: str, category: str, filed: int) -> dict[str, Any]:
    return {"day": day, "grid_code": grid, "category": category, "subcategory": "",
            "channel": "webchat", "department": "", "assignee": "", "filed": filed}  # fmt: skip


def add_user(session: Session, username: str, role: Role, grids: list[str] | None = None,
             unit: str | None = None, registry: Registry | None = None) -> User:  # fmt: skip
    return accounts.create_user(session=session, username=username, display_name=username,
                                password="correct-horse-9", role=role, grid_codes=grids,
                                unit_code=unit, registry=registry)  # fmt: skip


# ---------------------------------------------------------------- the statistics


def test_the_poisson_tail_is_exact_where_it_matters() -> None:
    assert warnings.poisson_tail(0, 2.0) == 1.0
    below = sum(math.exp(-2.0) * 2.0**i / math.factorial(i) for i in range(5))
    assert warnings.poisson_tail(5, 2.0) == pytest.approx(1 - below, rel=1e-9)
    assert warnings.poisson_tail(4, 0.1) == pytest.approx(3.846e-6, rel=1e-3)
    assert warnings.poisson_tail(40, 1.0) < 1e-40  # tiny tails are not lost to rounding


def test_one_to_three_tickets_are_never_a_spike_even_in_a_silent_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts = np.zeros((1, 100), dtype=np.int64)
    counts[0, 40], counts[0, 80] = 3, 5
    assert [(s, d) for s, d, _, _ in warnings.detect(counts, 0)] == [(0, 80)]
    monkeypatch.setattr(warnings, "FLOOR", 0.001)  # even against a near-zero baseline
    assert [(s, d) for s, d, _, _ in warnings.detect(counts, 0)] == [(0, 80)]


def test_the_first_weeks_have_no_baseline_and_are_not_tested() -> None:
    counts = np.zeros((1, 60), dtype=np.int64)
    counts[0, 10] = counts[0, 40] = 9
    assert [d for _, d, _, _ in warnings.detect(counts, 0)] == [40]


# ---------------------------------------------------------------- bursts


def grid_series(registry: Registry, taxonomy: Taxonomy, n: int) -> list[tuple[str, str]]:
    return [(g, c) for g in sorted(registry.grids) for c in taxonomy.codes()][:n]


def test_a_quiet_baseline_raises_no_burst_and_a_planted_one_is_found(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    """200 series × 365 days of Poisson counts (λ 0.05 … 3): not one alert; then +15 tickets
    on one day of one series: exactly that burst, once."""
    rng = np.random.default_rng(3)
    series = grid_series(registry, taxonomy, 200)
    assert len(series) == 200
    rates = rng.uniform(0.05, 3.0, size=len(series))
    counts = rng.poisson(rates[:, None], size=(len(series), 365))
    first = date(2026, 1, 1)
    rows = [
        day_row(first + timedelta(days=int(d)), grid, category, int(counts[s, d]))
        for s, (grid, category) in enumerate(series)
        for d in np.nonzero(counts[s])[0]
    ]
    session.execute(insert(TicketDay), rows)
    last = first + timedelta(days=364)
    assert [a.key for a in warnings.run(session, registry, today=last, since=first)] == []

    grid, category = series[42]
    planted = first + timedelta(days=300)
    stored = session.get(TicketDay, (planted, grid, category, "", "webchat", "", ""))
    if stored is None:
        session.execute(insert(TicketDay), [day_row(planted, grid, category, 15)])
    else:
        stored.filed += 15
    session.flush()
    found = warnings.run(session, registry, today=last, since=first)
    assert [a.key for a in found] == [f"burst:grid:{grid}:{category}:{planted.isoformat()}"]
    assert found[0].kind == "burst" and found[0].count >= 15
    assert found[0].level in {"red", "orange"} and found[0].expected < 3.5
    assert warnings.run(session, registry, today=last, since=first) == []  # raised once


def test_a_burst_names_its_place_and_category_and_lists_its_tickets(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    today = local_today()
    history = [day_row(today - timedelta(days=d), GRID, CATEGORY, 1) for d in range(10, 70, 10)]
    session.execute(insert(TicketDay), [*history, day_row(today, GRID, CATEGORY, 6)])
    morning = local_midnight(today) + timedelta(hours=9)
    numbers = [
        file(session, taxonomy, n, morning + timedelta(minutes=n), contact_phone=f"1380000{n:04d}",
             location_text=f"黉门街{n}号", description=f"第{n}处问题").number
        for n in range(6)
    ]  # fmt: skip
    file(session, taxonomy, 7, morning - timedelta(days=1))  # the day before: not this burst
    found = [a for a in warnings.run(session, registry, today=today) if a.kind == "burst"]
    assert len(found) == 1
    alert = found[0]
    assert (alert.grid_code, alert.unit_code, alert.category) == (GRID, None, CATEGORY)
    assert alert.ticket_numbers == numbers
    assert alert.title == (
        f"黉门街社区第一网格 城乡建设 {today.month}月{today.day}日 6 件（平时日均 0.1 件）"
    )
    assert alert.level == "orange"  # p ≈ 1.4e-9 but fewer than 10 tickets


def test_a_community_burst_spread_over_its_grids_is_raised_for_the_community(
    session: Session, registry: Registry
) -> None:
    today = local_today()
    grids = [g.code for g in registry.grids_within(COMMUNITY)]
    rows = [day_row(today - timedelta(days=d), g, CATEGORY, 1)
            for g in grids for d in range(5, 60, 5)]  # fmt: skip
    rows += [day_row(today, g, CATEGORY, 3) for g in grids]  # 3 each: no grid alarms
    session.execute(insert(TicketDay), rows)
    found = [a for a in warnings.run(session, registry, today=today) if a.kind == "burst"]
    assert [(a.grid_code, a.unit_code) for a in found] == [(None, COMMUNITY)]
    assert found[0].title.startswith("黉门街社区 城乡建设")


# ---------------------------------------------------------------- clusters and repeats


DRAINS = ["玉林北路18号门口的下水道堵了三天，臭得很", "玉林北路18号门口下水道又堵了",
          "18号门口下水道堵了，好臭"]  # fmt: skip


def test_several_residents_reporting_the_same_problem_make_one_cluster(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    now = utcnow()
    group = [
        file(session, taxonomy, n, now - timedelta(days=n), description=text,
             contact_phone=f"1390000000{n}", conversation_id=f"web-{n}", location_text=f"{n}号")
        for n, text in enumerate(DRAINS)
    ]  # fmt: skip
    lamp = "玉林北路的路灯坏了好几天"
    file(session, taxonomy, 5, now, description=lamp, contact_phone="13700000005",
         conversation_id="web-5", location_text="路口")  # fmt: skip
    file(
        session,
        taxonomy,
        6,
        now - timedelta(days=9),
        description=DRAINS[0],
        contact_phone="13700000006",
        conversation_id="web-6",
    )  # fmt: skip  (too old)
    found = [a for a in warnings.run(session, registry, today=local_today()) if a.kind == "cluster"]
    assert len(found) == 1
    oldest_first = sorted(group, key=lambda t: t.created_at)
    assert found[0].ticket_numbers == [t.number for t in oldest_first]
    assert found[0].key == f"cluster:{oldest_first[0].number}"
    assert "3 位市民反映同一城乡建设问题" in found[0].title
    assert warnings.run(session, registry, today=local_today()) == []


def test_two_residents_are_not_a_cluster(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    now = utcnow()
    for n, text in enumerate(DRAINS):  # the same resident twice
        file(session, taxonomy, n, now, description=text, contact_phone=f"1390000000{min(n, 1)}",
             conversation_id=f"web-{min(n, 1)}", location_text=f"{n}号")  # fmt: skip
    assert [
        a for a in warnings.run(session, registry, today=local_today()) if a.kind == "cluster"
    ] == []


def test_a_resident_coming_back_three_times_is_one_alert_without_their_number(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    now = utcnow()
    for n in range(3):
        file(session, taxonomy, n, now - timedelta(days=10 * n), contact_phone="13812345678",
             location_text=f"不同地点{n}", description=f"问题{n}")  # fmt: skip
    for n in range(3, 6):  # anonymous: nobody's record
        file(session, taxonomy, n, now, anonymous=True, contact_phone=None,
             conversation_id="web-anon", location_text=f"别处{n}",
             description=f"事{n}")  # fmt: skip
    found = warnings.run(session, registry, today=local_today())
    residents = [a for a in found if a.kind == "repeat_resident"]
    assert len(residents) == 1
    assert residents[0].title == "市民 138****5678 30 天内反映 3 次"
    assert "13812345678" not in residents[0].key
    assert residents[0].grid_code == GRID and residents[0].count == 3
    file(session, taxonomy, 9, now, contact_phone="13812345678", location_text="又一处")
    assert [
        a
        for a in warnings.run(session, registry, today=local_today())
        if a.kind == "repeat_resident"
    ] == []  # fmt: skip  (the same 30-day window)


def test_the_same_place_reported_three_times_is_one_alert(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    now = utcnow()
    for n, written in enumerate(["黉门街3号", "黉门街 3号。", "黉门街3号"]):
        file(session, taxonomy, n, now - timedelta(days=n), contact_phone=f"1370000000{n}",
             conversation_id=f"web-{n}", location_text=written, description=f"问题{n}")  # fmt: skip
    file(session, taxonomy, 8, now, contact_phone="13600000008", location_text="黉门街3号",
         grid_code=SAME_COMMUNITY, description="别的网格")  # fmt: skip
    found = [a for a in warnings.run(session, registry, today=local_today())
             if a.kind == "repeat_place"]  # fmt: skip
    assert len(found) == 1 and found[0].grid_code == GRID and found[0].count == 3
    assert "黉门街3号 30 天内被反映 3 次" in found[0].title


# ---------------------------------------------------------------- risk


def test_red_and_orange_disputes_still_open_are_alerts_at_their_grade(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    red = file(session, taxonomy, 1, category="disputes", description="邻居因漏水打架")
    orange = file(session, taxonomy, 2, category="disputes", description="楼上楼下噪音争吵",
                  contact_phone="13900000002", location_text="甲")  # fmt: skip
    done = file(session, taxonomy, 3, category="disputes", contact_phone="13900000003",
                location_text="乙")  # fmt: skip
    red.risk_grade, orange.risk_grade, done.risk_grade = "red", "orange", "red"
    done.status = "closed"
    session.flush()
    found = {a.ticket_numbers[0]: a for a in warnings.run(session, registry, today=local_today())
             if a.kind == "risk"}  # fmt: skip
    assert set(found) == {red.number, orange.number}
    assert (found[red.number].level, found[orange.number].level) == ("red", "orange")
    assert found[red.number].title.startswith("红色风险矛盾纠纷 黉门街社区第一网格")
    orange.risk_grade = "red"  # graded up: raised again
    session.flush()
    again = warnings.run(session, registry, today=local_today())
    assert [(a.kind, a.level, a.ticket_numbers) for a in again] == [
        ("risk", "red", [orange.number])
    ]


# ---------------------------------------------------------------- pushes and 处置


def test_an_alert_is_pushed_to_the_staff_responsible_only(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    admin = add_user(session, "admin1", Role.ADMIN)
    worker = add_user(session, "gw1", Role.GRID_WORKER, [GRID])
    add_user(session, "gw2", Role.GRID_WORKER, [SAME_COMMUNITY])
    street = add_user(session, "street1", Role.STAFF, unit=STREET, registry=registry)
    add_user(session, "far", Role.STAFF, unit="510107002", registry=registry)
    add_user(session, "centre", Role.STAFF)
    gone = add_user(session, "gone", Role.ADMIN)
    gone.active = False
    ticket = file(session, taxonomy, 1, category="disputes")
    ticket.risk_grade = "red"
    session.flush()
    sent: list[tuple[str, str]] = []

    def telegram(user: User, notice: StaffNotice) -> None:
        sent.append((user.username, notice.link))

    def broken(user: User, notice: StaffNotice) -> None:
        raise RuntimeError("down")

    (alert,) = warnings.run(session, registry, today=local_today(), senders=[broken, telegram])
    notices = session.scalars(select(StaffNotice).order_by(StaffNotice.user_id)).all()
    assert [n.user_id for n in notices] == [admin.id, worker.id, street.id]
    assert {n.link for n in notices} == {f"/alerts/{alert.id}"}
    assert notices[0].text.startswith("【纠纷风险】红色风险")
    assert sent == [(u, f"/alerts/{alert.id}") for u in ("admin1", "gw1", "street1")]
    assert warnings.unread_count(session, worker.id) == 1
    assert warnings.mark_read(session, worker.id, alert.id) == 1
    assert warnings.unread_count(session, worker.id) == 0
    assert warnings.unread_count(session, admin.id) == 1


def test_a_community_alert_reaches_the_grid_workers_of_its_grids(
    session: Session, registry: Registry
) -> None:
    worker = add_user(session, "gw2", Role.GRID_WORKER, [SAME_COMMUNITY])
    add_user(session, "gw3", Role.GRID_WORKER, [OTHER_STREET])
    alert = Alert(key="k", kind="burst", level="yellow", title="t", day=local_today(),
                  unit_code=COMMUNITY, category=CATEGORY)  # fmt: skip
    session.add(alert)
    session.flush()
    assert [u.username for u in warnings.recipients(session, registry, alert)] == ["gw2"]
    assert warnings.visible(registry, alert, (SAME_COMMUNITY,))
    assert not warnings.visible(registry, alert, (OTHER_STREET,))
    assert warnings.visible(registry, alert, None)
    assert worker.id


def test_acknowledging_needs_a_note_is_audited_and_happens_once(
    session: Session, registry: Registry
) -> None:
    alert = Alert(key="k", kind="burst", level="yellow", title="玉林 下水道", day=local_today())
    session.add(alert)
    session.flush()
    for note, message in [("  ", "请填写处置说明"), ("字" * 501, "处置说明最多 500 字")]:
        with pytest.raises(warnings.AcknowledgeError, match=message):
            warnings.acknowledge(session, alert.id, "staff:lili", note)
    with pytest.raises(warnings.AlertNotFoundError):
        warnings.acknowledge(session, alert.id + 1, "staff:lili", "已派人疏通")
    done = warnings.acknowledge(session, alert.id, "staff:lili", " 已派人疏通 ")
    assert (done.acknowledged_by, done.note) == ("staff:lili", "已派人疏通")
    assert done.acknowledged_at is not None
    event = session.scalars(select(AuditEvent)).one()
    assert (event.action, event.object_type, event.object_id) == ("alert_acknowledge", "alert",
                                                                  str(alert.id))  # fmt: skip
    assert event.data["note"] == "已派人疏通"
    with pytest.raises(warnings.AcknowledgeError, match="已处置"):
        warnings.acknowledge(session, alert.id, "staff:wang", "再次")


def test_masking_keeps_only_the_ends_of_a_phone_number() -> None:
    assert warnings.mask_phone("13812345678") == "138****5678"
    assert warnings.mask_phone("12345") == "***45"


def test_a_burst_title_names_what_most_of_its_tickets_are_about(taxonomy: Taxonomy) -> None:
    drains = ["黉门街下水道堵了", "下水道堵塞污水漫到路上", "路灯坏了", "小区下水道冒水"]
    assert warnings.burst_topic(taxonomy, "urban_construction", drains) == "（多为「下水道」）"
    mixed = ["下水道堵了", "路灯坏了", "井盖丢了", "人行道破损"]
    assert warnings.burst_topic(taxonomy, "urban_construction", mixed) == ""
    assert warnings.burst_topic(taxonomy, "no_such_category", drains) == ""
