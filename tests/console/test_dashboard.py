"""统计分析 (console/staff/dashboard.py): the period's rates in the user's scope, filtered,
linked to the tickets, exported, charted and mapped."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from accounts.models import Role
from casestore.models import Ticket
from casestore.services import rollup
from core import audit
from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.console.staff_fixtures import AUTH, GRID, OTHER_GRID, add_user, file, login

OTHER_STREET_GRID = "510107002001001"


def refresh(settings: Settings) -> None:
    """What `petition analytics watch` does every minute: the daily counts catch up."""
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        rollup.refresh(session)
    engine.dispose()


def links(page: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def test_the_dashboard_counts_the_period_and_links_to_the_tickets(
    staff_client: TestClient, settings: Settings
) -> None:
    done = file(staff_client, 1)
    file(staff_client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    for step in ({"action": "dispatch", "dispatch_to": "grid"},
                 {"action": "close", "text": "已疏通"},
                 {"action": "rate", "rating": "satisfied", "actor": "resident"}):  # fmt: skip
        response = staff_client.post(
            f"/api/v1/tickets/{done}/actions", json={"actor": "staff:lili", **step}, headers=AUTH
        )
        assert response.status_code == 200, response.text
    assert re.search(r'id="filed">0</a>', staff_client.get("/dashboard").text)  # not yet counted
    refresh(settings)
    page = staff_client.get("/dashboard").text
    assert 'href="/dashboard">统计分析</a>' in page and "统计数据更新于" in page
    assert re.search(r'id="filed">2</a>', page)
    for words in ("响应率", "50.0%", "1 / 2", "按时办结率", "100.0%", "满意率", "1 / 1",
                  "重复诉求率"):  # fmt: skip
        assert words in page, words
    link = re.search(r'<a href="(/\?[^"]*category=urban_construction[^"]*)">城乡建设</a>', page)
    assert link
    queue = staff_client.get(unescape(link.group(1))).text
    assert done in queue
    assert any(f"grid={GRID}" in href for href in links(page))  # each grid's tickets
    assert any(f"grid={OTHER_GRID}" in href for href in links(page))
    for table in ("by-category", "by-subcategory", "by-street", "by-community", "by-grid",
                  "by-channel"):  # fmt: skip
        assert f'id="{table}"' in page, table


def test_filters_narrow_the_figures_and_bad_ones_are_named(
    staff_client: TestClient, settings: Settings
) -> None:
    file(staff_client, 1)
    file(staff_client, 2, grid_code=OTHER_STREET_GRID, description="别的街道的路灯坏了")
    refresh(settings)
    street = staff_client.get("/dashboard", params={"place": "510107001"}).text
    assert re.search(r'id="filed">1</a>', street)
    by_channel = staff_client.get("/dashboard", params={"channel": "hotline"}).text
    assert re.search(r'id="filed">0</a>', by_channel)
    for params, words in (
        ({"since": "2026/11/01"}, "年-月-日"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, "不能早于"),
        ({"category": "no_such"}, "未知的分类"),
        ({"place": "999"}, "未知的地点"),
        ({"channel": "fax"}, "未知的渠道"),
    ):
        bad = staff_client.get("/dashboard", params=params)
        assert bad.status_code == 422 and words in bad.text, params
    empty = staff_client.get("/dashboard", params={"since": "2020-01-01", "until": "2020-01-31"})
    assert empty.status_code == 200 and "该期间没有工单" in empty.text and "—" in empty.text


def test_each_role_counts_its_own_scope(client: TestClient, settings: Settings) -> None:
    file(client, 1)
    file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    file(client, 3, grid_code=OTHER_STREET_GRID, description="别的街道的路灯坏了")
    refresh(settings)
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    add_user(settings, "yulin", Role.STAFF, unit_code="510107001")
    add_user(settings, "boss", Role.ADMIN)
    for username, count, note in (("wang", 1, "您负责的网格"), ("yulin", 2, "玉林街道"),
                                  ("boss", 3, "全部")):  # fmt: skip
        client.cookies.clear()
        assert login(client, username) == 303
        page = client.get("/dashboard").text
        assert re.search(rf'id="filed">{count}</a>', page), username
        assert note in re.search(r'id="scope">([^<]*)<', page).group(1)  # type: ignore[union-attr]
    client.cookies.clear()
    assert login(client, "wang") == 303
    outside = client.get("/dashboard", params={"place": OTHER_GRID})
    assert outside.status_code == 422 and "不在您的负责范围内" in outside.text


def test_tables_export_as_csv_and_excel_with_the_filters(
    staff_client: TestClient, settings: Settings
) -> None:
    file(staff_client, 1)
    file(staff_client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    refresh(settings)
    page = staff_client.get("/dashboard").text
    assert 'id="export-category-xlsx"' in page
    response = staff_client.get("/dashboard/export.csv", params={"table": "community"})
    assert response.status_code == 200 and response.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["社区（村）", "受理量", "有效工单"]
    assert rows[1][0].endswith("黉门街社区") and rows[1][1] == "2"
    book = staff_client.get("/dashboard/export.xlsx", params={"table": "grid", "place": GRID})
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "网格" and len(values) == 2 and values[1][1] == 1
    assert staff_client.get("/dashboard/export.pdf").status_code == 404
    assert staff_client.get("/dashboard/export.csv", params={"table": "x"}).status_code == 404
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        assert [e.action for e in audit.recent(session, object_type="stats")] == [
            "stats_export", "stats_export"
        ]  # fmt: skip
    engine.dispose()


def test_charts_are_svg_images_with_their_own_policy(
    staff_client: TestClient, settings: Settings
) -> None:
    file(staff_client, 1)
    refresh(settings)
    page = staff_client.get("/dashboard").text
    for chart in ("series-chart", "category-chart"):
        src = re.search(rf'id="{chart}" src="([^"]+)"', page)
        assert src, chart
        response = staff_client.get(unescape(src.group(1)))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "<svg" in response.text and "<script src" not in response.text  # nothing loaded
    month = staff_client.get(
        "/dashboard/chart.svg", params={"step": "month", "since": "2026-01-01"}
    )
    assert "2026年1月" in month.text
    assert "script-src 'self'" in page_policy(staff_client)


def page_policy(client: TestClient) -> str:
    return client.get("/dashboard").headers["content-security-policy"]


def test_the_map_shades_grids_by_overdue_tickets_and_links_to_them(
    staff_client: TestClient, settings: Settings
) -> None:
    numbers = [file(staff_client, n, grid_code=OTHER_GRID, description=f"井盖坏了{n}")
               for n in range(1, 7)]  # fmt: skip
    file(staff_client, 7)
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(
            update(Ticket).where(Ticket.number.in_(numbers))
            .values(due_at=utcnow() - timedelta(days=1))
        )  # fmt: skip
    engine.dispose()
    refresh(settings)
    page = staff_client.get("/dashboard", params={"shade": "overdue"}).text
    red = re.search(rf'<a href="([^"]+)" data-grid="{OTHER_GRID}" data-value="6">'
                    r'<polygon class="o-red"', page)  # fmt: skip
    assert red
    assert f'data-grid="{GRID}" data-value="0"><polygon class="s0"' in page
    overdue = staff_client.get(unescape(red.group(1))).text
    assert all(number in overdue for number in numbers)
    volume = staff_client.get("/dashboard", params={"shade": "volume"}).text
    assert f'data-grid="{OTHER_GRID}" data-value="6"><polygon class="s4"' in volume
