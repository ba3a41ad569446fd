"""预警 pages (console/staff/alerts.py): the list in scope, one alert, 处置, the notices."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from accounts import service
from accounts.models import Role, User
from casestore.models import Alert, StaffNotice
from casestore.services import warnings
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import ROOT, Settings
from grids.registry import load_registry
from tests.console.staff_fixtures import GRID, PASSWORD, csrf, file, login

OTHER_STREET_GRID = "510107002001001"
STREET = "510107001"


def setup(settings: Settings) -> dict[str, int]:
    """A street's staff member (阿强), two alerts (one in the street, one outside), pushed."""
    registry = load_registry(ROOT / "data" / "grids")
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        service.create_user(session=session, username="aqiang", display_name="阿强",
                            password=PASSWORD, role=Role.STAFF, unit_code=STREET,
                            registry=registry)  # fmt: skip
        inside = Alert(key="burst:grid:in", kind="burst", level="red", day=date(2026, 11, 30),
                       title="黉门街社区第一网格 城乡建设 11月30日 9 件（平时日均 0.4 件）",
                       grid_code=GRID, category="urban_construction", count=9, expected=0.4,
                       ticket_numbers=[])  # fmt: skip
        outside = Alert(key="burst:grid:out", kind="burst", level="yellow", day=date(2026, 11, 30),
                        title="别处 城乡建设", grid_code=OTHER_STREET_GRID, count=4,
                        ticket_numbers=[])  # fmt: skip
        session.add_all([inside, outside])
        session.flush()
        for alert in (inside, outside):
            warnings.push(session, registry, alert)
        ids = {"inside": inside.id, "outside": outside.id}
    engine.dispose()
    return ids


def test_a_street_staff_member_acknowledges_a_drains_burst(
    client: TestClient, settings: Settings
) -> None:
    number = file(client, description="玉林北路18号门口的下水道堵塞了")
    ids = setup(settings)
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        alert = session.get(Alert, ids["inside"])
        assert alert is not None
        alert.ticket_numbers = [number]
    assert login(client, "aqiang") == 303

    page = client.get("/alerts")
    assert page.status_code == 200
    assert 'id="alerts"' in page.text
    assert re.findall(r'data-alert-id="(\d+)"', page.text) == [str(ids["inside"])]
    assert "诉求激增" in page.text and f'href="/tickets/{number}"' in page.text
    assert "红色预警" in page.text and "多部门联合处置" not in page.text  # a dispute's grade only
    assert "burst" not in page.text.split('id="alerts"')[1]  # no codes on the page

    notices = client.get("/notices")
    assert "<b>" in notices.text and 'id="unread">1<' in notices.text

    detail = client.get(f"/alerts/{ids['inside']}")
    assert 'id="acknowledge"' in detail.text and 'name="note"' in detail.text
    assert "确认处置" in detail.text and "下水道堵塞" in detail.text
    token = csrf(client, f"/alerts/{ids['inside']}")
    url = f"/alerts/{ids['inside']}/acknowledge"
    refused = client.post(url, data={"csrf_token": token, "note": "  "})
    assert refused.status_code == 422 and "请填写处置说明" in refused.text
    assert client.post(url, data={"note": "已派人疏通"}).status_code == 403  # no CSRF token
    done = client.post(url, data={"csrf_token": token, "note": "已派人疏通"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/alerts/{ids['inside']}"
    shown = client.get(f"/alerts/{ids['inside']}").text
    assert "已派人疏通" in shown and "话务员 aqiang" in shown and 'id="acknowledge"' not in shown
    assert re.findall(r'data-alert-id="(\d+)"', client.get("/alerts").text) == []  # 未处置
    assert str(ids["inside"]) in client.get("/alerts?state=done").text
    assert 'id="unread">0<' in client.get("/notices").text

    with session_scope(make_sessionmaker(engine)) as session:
        stored = session.get(Alert, ids["inside"])
        assert stored is not None and stored.acknowledged_by == "staff:aqiang"
    engine.dispose()


def test_alerts_outside_the_scope_or_unknown_are_not_found(
    client: TestClient, settings: Settings
) -> None:
    ids = setup(settings)
    assert login(client, "aqiang") == 303
    for path in (f"/alerts/{ids['outside']}", "/alerts/999999", "/alerts/abc"):
        page = client.get(path)
        assert page.status_code == 404 and "未找到该预警" in page.text
    token = csrf(client, "/alerts")
    refused = client.post(f"/alerts/{ids['outside']}/acknowledge",
                          data={"csrf_token": token, "note": "越权"})  # fmt: skip
    assert refused.status_code == 404


def test_bad_filters_are_explained_not_crashed(client: TestClient, settings: Settings) -> None:
    setup(settings)
    assert login(client, "aqiang") == 303
    page = client.get("/alerts?state=nope&kind=weird")
    assert page.status_code == 422
    assert "处置状态无效" in page.text and "预警类型无效" in page.text
    assert client.get("/alerts?kind=risk").text.count("data-alert-id=") == 0
    assert client.get("/alerts?" + "x" * 10 + "&state=" + "a" * 50).status_code == 422


def test_marking_all_notices_read(client: TestClient, settings: Settings) -> None:
    setup(settings)
    assert login(client, "aqiang") == 303
    assert 'id="unread">1<' in client.get("/notices").text
    token = csrf(client, "/notices")
    response = client.post("/notices/read", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/notices"
    assert 'id="unread">0<' in client.get("/notices").text
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        user = session.scalars(select(User).where(User.username == "aqiang")).one()
        assert warnings.unread_count(session, user.id) == 0
        assert session.scalars(select(StaffNotice).where(StaffNotice.user_id == user.id)).all()
    engine.dispose()
