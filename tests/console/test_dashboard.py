"""统计分析 (console/staff/dashboard.py): the period's rates in the user's scope, linked."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from accounts.models import Role
from core.settings import Settings
from tests.console.staff_fixtures import AUTH, GRID, OTHER_GRID, add_user, file, login


def test_the_dashboard_counts_the_period_and_links_to_the_tickets(
    staff_client: TestClient,
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
    page = staff_client.get("/dashboard").text
    assert 'href="/dashboard">统计分析</a>' in page
    assert re.search(r'id="filed">2</a>', page)
    for words in ("响应率", "50.0%", "1 / 2", "按时办结率", "100.0%", "满意率", "1 / 1"):
        assert words in page, words
    link = re.search(r'<a href="(/\?[^"]*category=urban_construction[^"]*)">城乡建设</a>', page)
    assert link
    queue = staff_client.get(link.group(1).replace("&amp;", "&")).text
    assert done in queue
    assert f"grid={GRID}" in page and f"grid={OTHER_GRID}" in page  # each grid's tickets


def test_dates_are_checked_and_a_grid_worker_counts_their_grids_only(
    client: TestClient, settings: Settings
) -> None:
    file(client, 1)
    file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get("/dashboard").text
    assert re.search(r'id="filed">1</a>', page) and "仅统计您负责的网格" in page
    bad = client.get("/dashboard", params={"since": "2026/11/01"})
    assert bad.status_code == 422 and "年-月-日" in bad.text
    backwards = client.get("/dashboard", params={"since": "2026-12-01", "until": "2026-11-01"})
    assert backwards.status_code == 422 and "不能早于" in backwards.text
    empty = client.get("/dashboard", params={"since": "2020-01-01", "until": "2020-01-31"})
    assert empty.status_code == 200 and "该期间没有工单" in empty.text and "—" in empty.text
