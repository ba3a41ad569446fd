"""Staff console through HTTP: sign-in, roles, CSRF, queue, ticket actions, intake, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from accounts import service
from accounts.models import Role
from casestore.models import Ticket
from console.staff import views
from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.app_fixtures import TOKEN, draft_body

GRID = "510107001001001"
OTHER_GRID = "510107001001002"
PASSWORD = "correct-horse-9"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def fresh_throttle() -> None:
    views.throttle = views.LoginThrottle()


def add_user(settings: Settings, username: str, role: Role, grids: list[str] | None = None) -> None:
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        service.create_user(
            session=session,
            username=username,
            display_name=username.upper(),
            password=PASSWORD,
            role=role,
            grid_codes=grids,
        )
    engine.dispose()


def login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    form = client.get("/login").text
    match = re.search(r'name="login_token" value="([^"]+)"', form)
    token = match.group(1) if match else ""
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_token": token},
        follow_redirects=False,
    )
    return response.status_code


def csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def file(client: TestClient, n: int = 1, **overrides: object) -> str:
    fields: dict[str, object] = {"grid_code": GRID, **overrides}
    body = draft_body(submission_key=f"web-abc12345-{n:04d}", **fields)
    response = client.post("/api/v1/tickets", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def act(client: TestClient, number: str, **fields: str) -> object:
    data = {"csrf_token": csrf(client, f"/tickets/{number}"), **fields}
    return client.post(f"/tickets/{number}/actions", data=data, follow_redirects=False)


@pytest.fixture
def staff_client(client: TestClient, settings: Settings) -> TestClient:
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili") == 303
    return client


def test_pages_need_a_login_and_bad_passwords_are_throttled(
    client: TestClient, settings: Settings
) -> None:
    response = client.get("/tickets/2026112600001", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftickets%2F2026112600001"
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili", "wrong-password") == 401
    assert login(client, "nobody", "wrong-password") == 401
    for _ in range(4):
        login(client, "lili", "wrong-password")
    assert login(client, "lili") == 429  # even the right password, for a while
    client.cookies.clear()
    forged = client.post("/login", data={"username": "lili", "password": PASSWORD})
    assert forged.status_code == 403 and "登录页面已过期" in forged.text  # login CSRF


def test_session_cookie_is_http_only_and_logout_ends_it(staff_client: TestClient) -> None:
    token = csrf(staff_client)
    response = staff_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert staff_client.get("/", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(staff_client: TestClient) -> None:
    number = file(staff_client)
    response = staff_client.post(
        f"/tickets/{number}/actions", data={"action": "reply", "text": "你好"}
    )
    assert response.status_code == 403 and "安全校验失败" in response.text
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert [e["kind"] for e in detail["events"]] == ["created"]


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


def test_ticket_worked_through_to_closure(staff_client: TestClient) -> None:
    number = file(staff_client, transcript=[{"role": "resident", "text": "小区门口垃圾堆了好几天"}])
    page = staff_client.get(f"/tickets/{number}").text
    assert "小区门口垃圾堆了好几天" in page and "<svg" in page and "城乡建设" in page
    response = act(staff_client, number, action="correct", version="1",
                   category="environmental_protection", subcategory="waste_sanitation")  # fmt: skip
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert (
        act(staff_client, number, action="dispatch", version="2", target="grid").status_code == 303
    )  # type: ignore[attr-defined]  # noqa: E501
    assert (
        act(staff_client, number, action="reply", version="3", text="已安排清运").status_code == 303
    )  # type: ignore[attr-defined]  # noqa: E501
    assert act(staff_client, number, action="close", version="4", text="已清运").status_code == 303  # type: ignore[attr-defined]  # noqa: E501
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["status"] == "closed" and detail["category"] == "environmental_protection"
    assert [e["actor"] for e in detail["events"][1:]] == ["staff:lili"] * 4
    examples = staff_client.get("/api/v1/training-examples", headers=AUTH).json()["items"]
    assert examples[0]["text"] == "小区门口垃圾堆了好几天"
    assert examples[0]["intent"] == "report_environmental_protection"
    notes = staff_client.get("/api/v1/notifications?channel=webchat", headers=AUTH).json()
    assert [n["kind"] for n in notes["items"]] == ["status", "reply", "satisfaction"]


def test_stale_form_does_not_overwrite(staff_client: TestClient) -> None:
    number = file(staff_client)
    assert act(staff_client, number, action="reply", version="1", text="第一位").status_code == 303  # type: ignore[attr-defined]  # noqa: E501
    stale = act(staff_client, number, action="correct", version="1", description="被覆盖的内容")
    assert stale.status_code == 409  # type: ignore[attr-defined]
    assert "已被他人修改" in stale.text  # type: ignore[attr-defined]
    empty = act(staff_client, number, action="reply", version="2", text="")
    assert empty.status_code == 422 and "请填写答复内容" in empty.text  # type: ignore[attr-defined]


def test_grid_worker_sees_only_own_grid(client: TestClient, settings: Settings) -> None:
    mine = file(client, 1)
    theirs = file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get("/").text
    assert mine in page and theirs not in page
    assert client.get(f"/tickets/{theirs}").status_code == 404
    assert client.get("/intake").status_code == 403
    export = client.get("/export.csv?view=all").text
    assert mine in export and theirs not in export


def test_hotline_intake_files_a_ticket(staff_client: TestClient) -> None:
    form = staff_client.get("/intake").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    key = re.search(r'name="submission_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    suggest = staff_client.post(
        "/intake/suggest",
        data={"csrf_token": token, "description": "玉林北路路灯不亮", "location_text": "玉林北路"},
    ).json()
    assert suggest["notice"] == "自动分类暂不可用，请手动选择分类"  # Rasa is down in these tests
    assert suggest["grids"] and suggest["grids"][0]["code"].startswith("510107")
    body = {
        "csrf_token": token,
        "submission_key": key,
        "description": "玉林北路路灯不亮",
        "location_text": "玉林北路",
        "category": "urban_construction",
        "anonymous": "on",
    }
    bad = staff_client.post("/intake", data={**body, "category": ""})
    assert bad.status_code == 422 and "请选择分类" in bad.text
    created = staff_client.post("/intake", data=body, follow_redirects=False)
    assert created.status_code == 303
    again = staff_client.post("/intake", data=body, follow_redirects=False)
    assert again.headers["location"] == created.headers["location"]  # double submit: one ticket
    number = created.headers["location"].split("/")[2].split("?")[0]
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["channel"] == "hotline" and detail["anonymous"] is True


def test_exports_follow_the_filter(staff_client: TestClient) -> None:
    first = file(staff_client, 1, description='=HYPERLINK("http://x")路灯坏了')
    file(staff_client, 2, category="disputes", description="邻居装修噪音")
    rows = list(
        csv.reader(
            io.StringIO(
                staff_client.get("/export.csv?category=urban_construction").text.lstrip("\ufeff")
            )
        )
    )  # noqa: E501
    assert rows[0][0] == "工单号" and [r[0] for r in rows[1:]] == [first]
    assert rows[1][7].startswith("'=")  # no formula injection
    book = load_workbook(io.BytesIO(staff_client.get("/export.xlsx?view=all").content))
    assert book.active is not None and book.active.max_row == 3
    assert staff_client.get("/export.pdf").status_code == 422


def test_admin_creates_and_deactivates_accounts(client: TestClient, settings: Settings) -> None:
    add_user(settings, "boss", Role.ADMIN)
    assert login(client, "boss") == 303
    token = csrf(client, "/admin/users")
    form = {"csrf_token": token, "username": "wang", "display_name": "王网格", "password": PASSWORD}
    missing_grid = client.post("/admin/users", data={**form, "role": "grid_worker"})
    assert missing_grid.status_code == 422 and "需要指定负责的网格" in missing_grid.text
    created = client.post(
        "/admin/users", data={**form, "role": "grid_worker", "grid_codes": [GRID]}
    )
    assert created.status_code == 200 and "已创建账号 wang" in created.text
    assert "王网格" in created.text
    staff_page = client.get("/admin/users").text
    user_id = re.findall(r'action="/admin/users/(\d+)/active"', staff_page)[-1]
    client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token, "active": "false"})
    client.cookies.clear()
    assert login(client, "wang") == 401  # deactivated
    assert login(client, "boss") == 303
    assert "已停用" in client.get("/admin/users").text


def test_only_admins_manage_accounts(staff_client: TestClient) -> None:
    assert staff_client.get("/admin/users").status_code == 403
