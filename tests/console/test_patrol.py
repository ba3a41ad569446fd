"""巡查走访统计 (console/staff/patrol.py): each grid worker's and volunteer's month from their real
reports, visit logs and task steps; the viewer's scope; the CSV export; bad months; who may look."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role, User
from casestore.models import VisitLog
from casestore.services import assessment, fieldwork
from casestore.services.lifecycle import Context
from console.staff import patrol
from core.audit import AuditEvent
from core.clock import LOCAL_TZ, utcnow
from core.settings import ROOT, Settings
from core.taxonomy import Taxonomy
from grids.registry import load_registry
from tests.casestore.test_fieldwork import dispatch, jpeg, resident_ticket
from tests.console.staff_fixtures import GRID, OTHER_GRID, add_user, login

REGISTRY = load_registry(ROOT / "data" / "grids")
BEIJING = "110106001001001"  # 芳群园社区第一网格: first in the registry's order
ORDER = ["chang", "wang", "xiao", "zhao"]  # by grid (registry order), then name


def this_month() -> date:
    return utcnow().astimezone(LOCAL_TZ).date().replace(day=1)


def last_month() -> date:
    return assessment.previous_month(this_month())


def person(session: Session, username: str) -> fieldwork.Person:
    found = session.scalars(select(User).where(User.username == username)).one()
    return fieldwork.person_of(found)


def seed(settings: Settings, session: Session, taxonomy: Taxonomy) -> None:
    """wang (grid worker, GRID): 1 report, 2 visits (12 households), a task accepted and
    resolved; xiao (volunteer, GRID): 2 reports, one for a resident, 1 visit (3 households);
    zhao (grid worker, OTHER_GRID) and chang (volunteer, Beijing): nothing; and a visit of
    wang's last month (9 households). Staff and a deactivated worker are no rows."""
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    add_user(settings, "xiao", Role.VOLUNTEER, [GRID])
    add_user(settings, "zhao", Role.GRID_WORKER, [OTHER_GRID])
    add_user(settings, "chang", Role.VOLUNTEER, [BEIJING])
    add_user(settings, "gone", Role.GRID_WORKER, [GRID])
    ctx = Context(session=session, taxonomy=taxonomy, registry=REGISTRY)
    session.scalars(select(User).where(User.username == "gone")).one().active = False
    wang, xiao = person(session, "wang"), person(session, "xiao")

    def classify(text: str) -> tuple[str | None, str | None]:
        return "urban_construction", None

    said = [(xiao, "代3栋王阿姨反映：楼道灯坏了"), (xiao, "小区门口的垃圾三天没人清运"),
            (wang, "黉门街路灯不亮了")]  # fmt: skip
    for n, (who, text) in enumerate(said):
        draft = fieldwork.draft_report(ctx, who, text, classify=classify)
        fieldwork.file_report(ctx, who, draft, submission_key=f"web-field-{who.username}-{n}",
                              channel="webchat")  # fmt: skip
    fieldwork.log_visit(ctx, wang, 5, "走访独居老人")
    fieldwork.log_visit(ctx, wang, 7, "")
    fieldwork.log_visit(ctx, xiao, 3, "")
    task = dispatch(ctx, resident_ticket(ctx))
    fieldwork.take_step(ctx, wang, task.number, "accept")
    photo = jpeg(fieldwork.web_conversation("wang"), session)
    fieldwork.take_step(ctx, wang, task.number, "resolve", text="已清运",
                        attachment_ids=[photo.id])  # fmt: skip
    earlier = datetime.combine(last_month().replace(day=15), time(10), tzinfo=LOCAL_TZ)
    session.add(VisitLog(username="wang", day=earlier.date(), grid_code=GRID, households=9,
                         notes="", created_at=earlier))  # fmt: skip
    session.commit()


def table(page: str) -> dict[str, list[str]]:
    """The rows' cells by user name, in the page's order."""
    rows = re.findall(r'<tr class="person" id="person-([a-z]+)">(.*?)</tr>', page, re.DOTALL)
    return {name: re.findall(r'<td data-label="[^"]+">([^<]*)</td>', row) for name, row in rows}


def total(page: str) -> list[str]:
    row = page.split('id="patrol-total"')[1].split("</tr>")[0]
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)


def test_the_page_counts_each_persons_patrol_work(
    staff_client: TestClient, settings: Settings, session: Session, taxonomy: Taxonomy
) -> None:
    seed(settings, session, taxonomy)
    page = staff_client.get("/patrol")
    assert page.status_code == 200
    text = page.text
    first = this_month()
    assert f"巡查走访统计：{first.year}年{first.month}月" in text
    assert 'id="nav-patrol"' in text and 'id="next-month"' not in text
    rows = table(text)
    assert list(rows) == ORDER  # staff, the deactivated worker: no rows
    assert rows["wang"] == ["WANG", "网格员", "黉门街社区第一网格", "1", "0", "2", "12", "1", "1"]
    assert rows["xiao"] == ["XIAO", "民情专递员", "黉门街社区第一网格", "2", "1", "1", "3", "0",
                            "0"]  # fmt: skip
    assert rows["zhao"] == ["ZHAO", "网格员", "黉门街社区第二网格"] + ["0"] * 6
    assert rows["chang"][2] == "芳群园社区第一网格" and GRID not in text
    assert total(text) == ["3", "1", "3", "15", "1", "1"]
    definitions = text.split('id="patrol-definitions"')[1]
    assert "<dt>代民反映</dt>" in definitions and "走访日志中填写的走访户数之和" in definitions

    before = last_month()
    earlier = staff_client.get("/patrol", params={"month": f"{before:%Y-%m}"})
    assert earlier.status_code == 200 and 'id="next-month"' in earlier.text
    rows = table(earlier.text)
    assert rows["wang"][3:] == ["0", "0", "1", "9", "0", "0"]
    assert total(earlier.text) == ["0", "0", "1", "9", "0", "0"]

    export = staff_client.get("/patrol/export.csv", params={"month": f"{first:%Y-%m}"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert f'filename="patrol-{first:%Y-%m}.csv"' in export.headers["content-disposition"]
    assert export.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert lines[0] == ["姓名", "角色", "网格", "巡查上报", "代民反映", "走访次数", "走访户数",
                        "接单", "办结"]  # fmt: skip
    assert [line[0] for line in lines[1:]] == ["CHANG", "WANG", "XIAO", "ZHAO", "合计"]
    assert lines[2] == ["WANG", "网格员", "黉门街社区第一网格", "1", "0", "2", "12", "1", "1"]
    assert lines[-1] == ["合计", "", "", "3", "1", "3", "15", "1", "1"]
    exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "stats_export"))
    assert [(e.actor, e.object_type, e.object_id) for e in exports] == [
        ("staff:lili", "patrol", f"{first:%Y-%m}")
    ]
    session.rollback()  # SQLite: the test's read must not keep the write lock from the app


def test_a_grid_worker_sees_the_people_of_their_own_grids_only(
    client: TestClient, settings: Settings, session: Session, taxonomy: Taxonomy
) -> None:
    seed(settings, session, taxonomy)
    assert login(client, "zhao") == 303
    page = client.get("/patrol")
    assert page.status_code == 200 and "仅统计您负责的网格的人员" in page.text
    assert list(table(page.text)) == ["zhao"] and "WANG" not in page.text
    assert total(page.text) == ["0"] * 6
    export = client.get("/patrol/export.csv")
    names = [line[0] for line in csv.reader(io.StringIO(export.content.decode("utf-8-sig")))]
    assert names == ["姓名", "ZHAO", "合计"]

    client.cookies.clear()  # signed out
    assert login(client, "wang") == 303
    assert list(table(client.get("/patrol").text)) == ["wang", "xiao"]


def test_a_unit_staff_member_sees_the_people_of_their_street(
    client: TestClient, settings: Settings, session: Session, taxonomy: Taxonomy
) -> None:
    seed(settings, session, taxonomy)
    street = REGISTRY.grids[GRID].street
    add_user(settings, "jie", Role.STAFF, unit_code=street)
    assert login(client, "jie") == 303
    assert list(table(client.get("/patrol").text)) == ["wang", "xiao", "zhao"]


def test_a_bad_month_is_a_chinese_422_page(staff_client: TestClient) -> None:
    for path in ("/patrol", "/patrol/export.csv"):
        page = staff_client.get(path, params={"month": "2026-13"})
        assert page.status_code == 422, path
        assert "月份格式应为 年-月" in page.text and page.headers["content-type"].startswith(
            "text/html"
        )
    day = staff_client.get("/patrol", params={"month": "2026-12-01"})
    assert day.status_code == 422 and "收到：2026-12-01" in day.text
    too_long = staff_client.get("/patrol", params={"month": "2026-12" * 5})
    assert too_long.status_code == 422 and "不能超过 20 个字符" in too_long.text


def test_volunteers_may_not_open_the_page(client: TestClient, settings: Settings) -> None:
    add_user(settings, "xiao", Role.VOLUNTEER, [GRID])
    assert login(client, "xiao") == 303
    assert client.get("/patrol").status_code == 403
    assert client.get("/patrol/export.csv").status_code == 403
    assert 'id="nav-patrol"' not in client.get("/field").text


def test_people_without_a_known_grid_come_last_and_totals_add_up() -> None:
    figures = fieldwork.PatrolFigures(reports=2, visits=1, households=4)
    rows = [
        patrol.PatrolRow("a", "甲", "grid_worker", ("第一网格",), figures),
        patrol.PatrolRow("b", "乙", "volunteer", (), fieldwork.PatrolFigures(on_behalf=1)),
    ]
    assert patrol.totals(rows) == fieldwork.PatrolFigures(
        reports=2, on_behalf=1, visits=1, households=4
    )
    assert rows[1].grids_text == "未指定" and rows[1].role_label == "民情专递员"
    assert patrol.grid_names(REGISTRY, [GRID, "999"]) == ("黉门街社区第一网格", "未知网格")
    start, end = patrol.month_bounds(date(2026, 12, 1))
    assert start.isoformat() == "2026-12-01T00:00:00+08:00"
    assert end.isoformat() == "2027-01-01T00:00:00+08:00"
