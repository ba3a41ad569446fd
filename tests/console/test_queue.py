"""The review queue and its exports (console/staff/queue.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from accounts.models import Role
from casestore.models import Ticket
from console.staff.queue import cell
from core import labels
from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.console.staff_fixtures import (
    GRID,
    OTHER_GRID,
    act,
    add_user,
    file,
    login,
)


def test_queue_shows_confidence_sla_colour_and_escapes_text(
    staff_client: TestClient, settings: Settings
) -> None:
    late = file(staff_client, 1, description="<script>alert(1)</script>路灯坏了")
    fresh = file(staff_client, 2, description="井盖松动")
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(
            update(Ticket).where(Ticket.number == late).values(due_at=utcnow() - timedelta(hours=2))
        )
    engine.dispose()
    page = staff_client.get("/").text
    assert page.index(late) < page.index(fresh)  # overdue first
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'class="sla-red"' in page and "93%" in page
    overdue_only = staff_client.get("/?overdue=true").text
    assert late in overdue_only and fresh not in overdue_only
    found = staff_client.get("/", params={"q": "井盖"}).text
    assert fresh in found and late not in found
    bad = staff_client.get("/", params={"since": "26/11/2026"})
    assert bad.status_code == 422 and "年-月-日" in bad.text


def test_queue_shows_labels_and_filters_by_view(staff_client: TestClient) -> None:
    number = file(staff_client)
    page = staff_client.get("/").text
    row = page[page.index(f'data-href="/tickets/{number}"') :].split("</tr>")[0]
    assert "网页留言" in row and "已受理，待审核" in row and "webchat" not in row.split(">", 1)[1]
    assert '<option value="review" selected>待审核（含已重新办理、已退回）</option>' in page
    assert re.search(r'<option value="in_progress"\s*>办理中</option>', page)
    # One label per option: no view repeats a status's label or reads like one of them.
    options = re.findall(
        r"<option value=\"(\w+)\"[^>]*>([^<]+)</option>", page.split("</select>")[0]
    )
    assert len({label for _, label in options}) == len(options) == 5 + 9
    assert dict(options)["open"] == "全部未办结" and "办理中（" not in page
    # The age column says what it shows; 已受理 is left to the status.
    assert "<th>受理时长</th>" in page and "<th>已受理</th>" not in page
    assert number not in staff_client.get("/", params={"view": "closed"}).text
    assert number in staff_client.get("/", params={"view": "open"}).text
    unknown = staff_client.get("/", params={"view": "everything"})
    assert unknown.status_code == 422 and "未知的状态筛选" in unknown.text


def test_grid_worker_sees_only_own_grid(client: TestClient, settings: Settings) -> None:
    mine = file(client, 1)
    theirs = file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get("/", params={"view": "all"}).text
    assert mine in page and theirs not in page
    assert client.get(f"/tickets/{theirs}").status_code == 404
    assert client.get("/intake").status_code == 403
    export = client.get("/export.csv?view=all").text
    assert mine in export and theirs not in export


def test_community_and_street_queues_hold_their_grids_and_area_tickets(
    staff_client: TestClient,
) -> None:
    in_grid = file(staff_client, 1)  # a grid of 黉门街社区
    at_community = file(staff_client, 2, grid_code=None, area_code="510107001001",
                        description="社区门口的垃圾没人收")  # fmt: skip
    elsewhere = file(staff_client, 3, grid_code="110106001001001", description="北京的井盖坏了")
    community = staff_client.get("/", params={"grid": "510107001001", "view": "all"}).text
    assert in_grid in community and at_community in community and elsewhere not in community
    street = staff_client.get("/", params={"grid": "510107001", "view": "all"}).text
    assert in_grid in street and at_community in street and elsewhere not in street
    assert "武侯区 玉林街道 黉门街社区（社区（村））" in community  # the filter's option
    page = staff_client.get(f"/tickets/{at_community}").text
    assert "武侯区 玉林街道 黉门街社区（待社区（村）分派）" in page


def test_exports_follow_the_filter(staff_client: TestClient) -> None:
    first = file(staff_client, 1, description='=HYPERLINK("http://x")路灯坏了')
    file(staff_client, 2, category="disputes", description="邻居装修噪音")
    text = staff_client.get("/export.csv?category=urban_construction").text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "工单号" and [r[0] for r in rows[1:]] == [first]
    assert rows[1][1] == "已受理，待审核" and rows[1][8] == "网页留言"  # labels, not codes
    assert rows[1][7].startswith("'=")  # no formula injection
    book = load_workbook(io.BytesIO(staff_client.get("/export.xlsx?view=all").content))
    assert book.active is not None and book.active.max_row == 3
    assert staff_client.get("/export.pdf").status_code == 422
    assert staff_client.get("/export.csv?since=tomorrow").status_code == 422


def test_cells_are_spreadsheet_safe() -> None:
    assert [cell(v) for v in ("=1+1", "+86", "-x", "@a", "路灯", None, 0.93456)] == [
        "'=1+1",
        "'+86",
        "'-x",
        "'@a",
        "路灯",
        "",
        0.935,
    ]


def test_cells_drop_control_characters_and_lone_surrogates() -> None:
    assert cell("a\x00b\x0bc\x1fd\x7f") == "abcd"
    assert cell("行一\t行二\r\n行三") == "行一\t行二\r\n行三"  # tab and line breaks stay
    assert cell("路灯\ud800坏了\udfff") == "路灯\ufffd坏了\ufffd"
    assert cell("\x00=1+1") == "'=1+1"  # a control character does not hide a formula
    assert cell(" =1+1") == " =1+1" and cell("\t=1+1") == "'\t=1+1"


def test_exports_survive_control_characters_in_stored_text(
    staff_client: TestClient, settings: Settings
) -> None:
    number = file(staff_client, 1)
    # PostgreSQL cannot store a NUL at all (the API refuses it there with a 422); SQLite can.
    nul = "\x00" if settings.database_url.startswith("sqlite") else ""
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(
            update(Ticket)
            .where(Ticket.number == number)
            .values(description=f"井盖{nul}坏了\x0b\x1f，\n请修", location_text="\x01玉林北路")
        )
    engine.dispose()
    response = staff_client.get("/export.xlsx?view=all")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.active is not None
    values = [c.value for c in book.active[2]]
    assert "井盖坏了，\n请修" in values and "玉林北路" in values
    text = staff_client.get("/export.csv?view=all").text
    assert "井盖坏了，\n请修" in text and "\x00" not in text and "\x01" not in text


def test_unclassified_tickets_show_as_such_and_have_their_own_filter(
    staff_client: TestClient,
) -> None:
    left = file(staff_client, 1, category="unclassified", description="说不清归谁管的事情")
    other = file(staff_client, 2)
    page = staff_client.get("/", params={"category": "unclassified", "view": "all"}).text
    assert left in page and other not in page
    row = page[page.index(f'data-href="/tickets/{left}"') :].split("</tr>")[0]
    assert "待分类" in row and "unclassified" not in row.split(">", 1)[1]
    assert '<option value="unclassified"' in page


def set_ticket(settings: Settings, number: str, **values: object) -> None:
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(update(Ticket).where(Ticket.number == number).values(**values))
    engine.dispose()


def row_of(page: str, number: str) -> str:
    return page[page.index(f'data-href="/tickets/{number}"') :].split("</tr>")[0]


def test_reopened_tickets_come_first_with_a_badge(
    staff_client: TestClient, settings: Settings
) -> None:
    fresh = file(staff_client, 1)
    sent_back = file(staff_client, 2, description="井盖又松了")
    for fields in ({"action": "dispatch"}, {"action": "close", "text": "已修好"}):
        assert act(staff_client, sent_back, **fields).status_code == 303
    # The resident answers 问题没解决: the ticket is reopened with a fresh (the latest) deadline.
    set_ticket(settings, sent_back, status="reopened", due_at=utcnow() + timedelta(days=9))
    badge = '<span class="tag">已重新办理</span>'
    for view in ("review", "open", "all", "reopened"):
        page = staff_client.get("/", params={"view": view}).text
        assert badge in row_of(page, sent_back), view
        if view != "reopened":
            assert page.index(sent_back) < page.index(fresh), view
            assert badge not in row_of(page, fresh)


def test_grid_workers_start_from_their_open_tasks_by_deadline(
    client: TestClient, settings: Settings
) -> None:
    unreviewed = file(client, 1)
    later = file(client, 2, description="路灯不亮了好几天")
    overdue = file(client, 3, description="井盖松动很危险")
    back = file(client, 4, description="垃圾又没人收")
    elsewhere = file(client, 5, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    soon = utcnow() + timedelta(days=1)
    set_ticket(
        settings,
        later,
        status="dispatched",
        assigned_to="网格员 王五",
        due_at=soon + timedelta(days=2),
    )
    set_ticket(
        settings,
        overdue,
        status="in_progress",
        assigned_to="网格员 王五",
        due_at=utcnow() - timedelta(hours=1),
    )
    set_ticket(settings, back, status="reopened", assigned_to="网格员 王五", due_at=soon)
    set_ticket(settings, elsewhere, status="dispatched", assigned_to="网格员 赵六")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get("/").text
    assert unreviewed not in page and elsewhere not in page
    assert page.index(overdue) < page.index(back) < page.index(later)
    assert '<span class="tag">已重新办理</span>' in row_of(page, back)
    assert '<option value="tasks" selected>' in page
    # Nothing to review: no review view, no hotline intake; the exports follow the tasks.
    assert 'value="review"' not in page and 'href="/?view=review"' not in page
    assert 'href="/intake"' not in page
    refused = client.get("/", params={"view": "review"})
    review = labels.QUEUE_VIEW["review"]
    assert refused.status_code == 422 and f"网格员没有「{review}」视图" in refused.text
    assert "view=tasks" in page.split('href="/export.csv?')[1].split('"')[0]
    exported = client.get("/export.csv").text
    assert overdue in exported and unreviewed not in exported


def test_desk_roles_start_from_the_review_queue_and_admins_see_tasks_too(
    client: TestClient, settings: Settings
) -> None:
    waiting = file(client, 1)
    dispatched = file(client, 2, description="路灯不亮了好几天")
    set_ticket(settings, dispatched, status="dispatched", assigned_to="网格员 王五")
    add_user(settings, "root", Role.ADMIN)
    assert login(client, "root") == 303
    page = client.get("/").text
    assert '<option value="review" selected>' in page
    assert waiting in page and dispatched not in page
    assert 'href="/?view=tasks"' in page
    tasks = client.get("/?view=tasks").text
    assert dispatched in tasks and waiting not in tasks


def test_the_staff_nav_names_the_residents_chat_for_admins_only(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "lili", Role.STAFF)
    add_user(settings, "root", Role.ADMIN)
    assert login(client, "lili") == 303
    assert 'href="/chat"' not in client.get("/").text  # calls are filed through 热线录入
    admin = TestClient(client.app)  # a second browser
    assert login(admin, "root") == 303
    nav = admin.get("/").text.split("</nav>")[0]
    assert '<a href="/chat" target="_blank" rel="noopener">市民留言页（新窗口）</a>' in nav
    assert "网页留言" not in nav


def test_street_staff_see_their_street_only(client: TestClient, settings: Settings) -> None:
    """A street office's operator (所属街道 玉林街道) sees its grids' tickets and those waiting
    at its communities, and nothing of other streets."""
    in_grid = file(client, 1)  # 玉林街道 黉门街社区
    at_community = file(client, 2, grid_code=None, area_code="510107001001",
                        description="社区门口的垃圾没人收")  # fmt: skip
    other_street = file(client, 3, grid_code="510107002001001", description="别的街道的路灯坏了")
    add_user(settings, "yulin", Role.STAFF, unit_code="510107001")
    assert login(client, "yulin") == 303
    page = client.get("/", params={"view": "all"}).text
    assert in_grid in page and at_community in page and other_street not in page
    assert client.get(f"/tickets/{at_community}").status_code == 200
    assert client.get(f"/tickets/{other_street}").status_code == 404
    assert act(client, at_community, action="reject", reason="duplicate").status_code == 303
