"""考评 page (console/staff/assessment.py): the month's ranking in the user's scope, its checks,
its CSV export and the links into the queue."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role
from casestore.models import Ticket
from casestore.services import assessment
from core.audit import AuditEvent
from core.clock import LOCAL_TZ, utcnow
from core.settings import ROOT, Settings
from grids.registry import load_registry
from tests.casestore.test_assessment import day_row, good
from tests.console.staff_fixtures import AUTH, GRID, OTHER_GRID, add_user, file, login

REGISTRY = load_registry(ROOT / "data" / "grids")
FIRST = assessment.worker_handle(REGISTRY.grids[GRID])
SECOND = assessment.worker_handle(REGISTRY.grids[OTHER_GRID])


def seed(session: Session) -> None:
    day = date(2026, 10, 12)
    day_row(session, day, GRID, FIRST, 1, **good(8))
    day_row(session, day, OTHER_GRID, SECOND, 1, filed=10, valid=10, closed=10,
            closed_on_time=7, closed_late=3, solved=9, rated=4, satisfied=3,
            unsatisfied=1)  # fmt: skip
    day_row(session, day, OTHER_GRID, "城市管理局", 2, **good(6))
    session.commit()


def test_the_ranking_page_grades_links_and_exports(
    staff_client: TestClient, session: Session
) -> None:
    seed(session)
    page = staff_client.get("/assessment", params={"month": "2026-10"})
    assert page.status_code == 200
    text = page.text
    assert "考评（红黄蓝）：2026年10月" in text and 'aria-current="page">网格员</a>' in text
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", text, re.DOTALL)
    assert len(rows) == 2
    assert "张丽（黉门街社区第一网格）" in rows[0] and ">1</td>" in rows[0]
    assert "乔丽（黉门街社区第二网格）" in rows[1] and "红牌" in rows[1]
    assert "按时办结率 70.0% 低于 80%" in rows[1]
    assert "城市管理局" not in text  # a department, on its own tab
    link = re.search(r'<a href="(/\?[^"]*view=all[^"]*)">8</a>', rows[0])
    assert link and f"grid={GRID}" in link.group(1) and "since=2026-10-01" in link.group(1)
    assert "until=2026-10-31" in link.group(1)
    assert re.search(r'href="/\?view=open[^"]*overdue=true">3</a>', rows[1])
    assert 'id="previous-month"' in text and "上月（2026年9月）" in text
    assert "下月（2026年11月）" in text

    departments = staff_client.get("/assessment", params={"month": "2026-10", "by": "department"})
    assert "城市管理局" in departments.text and "张丽" not in departments.text
    communities = staff_client.get("/assessment", params={"month": "2026-10", "by": "community"})
    assert "黉门街社区" in communities.text and "黄牌" in communities.text  # 87.5% on time

    export = staff_client.get("/assessment", params={"month": "2026-10", "format": "csv"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["排名", "对象", "受理", "办结", "按时办结率"]
    assert table[1][:3] == ["1", "张丽（黉门街社区第一网格）", "8"]
    assert table[2][10:] == ["红牌", "按时办结率 70.0% 低于 80%；不满意率 25.0% 高于 20%"]
    exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "stats_export"))
    assert [(e.actor, e.object_id) for e in exports] == [("staff:lili", "2026-10")]
    session.rollback()  # SQLite: the test's read must not keep the write lock from the app

    default = staff_client.get("/assessment").text
    this_month = utcnow().astimezone(LOCAL_TZ).date()
    assert f"考评（红黄蓝）：{this_month.year}年{this_month.month}月" in default
    assert 'id="next-month"' not in default and "该月没有可考评的工单" in default


def test_bad_input_is_refused_in_chinese(staff_client: TestClient) -> None:
    for params, words in (({"month": "2026-13"}, "年-月"), ({"month": "10/2026"}, "年-月"),
                          ({"by": "street"}, "考评对象"), ({"format": "pdf"}, "CSV")):  # fmt: skip
        response = staff_client.get("/assessment", params=params)
        assert response.status_code == 422, params
        assert words in response.text
    assert staff_client.get("/assessment", params={"month": "2026-100000"}).status_code == 422


def test_a_grid_worker_sees_their_grid_and_dispatches_name_the_worker(
    client: TestClient, settings: Settings, session: Session
) -> None:
    seed(session)
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get("/assessment", params={"month": "2026-10"}).text
    assert "张丽" in page and "乔丽" not in page and "仅统计您负责的网格" in page
    # What a grid dispatch writes is what the assessment recognises as a grid worker.
    number = file(client, 1, category="disputes", subcategory="neighbor_disputes")
    response = client.post(f"/api/v1/tickets/{number}/actions", headers=AUTH,
                           json={"actor": "staff:lili", "action": "dispatch",
                                 "dispatch_to": "grid"})  # fmt: skip
    assert response.status_code == 200, response.text
    session.expire_all()
    ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
    assert ticket.assigned_to == FIRST
    session.rollback()
