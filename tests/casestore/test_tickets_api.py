from __future__ import annotations

import inspect
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from core.settings import Settings
from tests.app_fixtures import draft_body
from webapp.app import create_app


def test_create_returns_number_sla_and_event(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/api/v1/tickets", json=draft_body(), headers=auth)
    assert response.status_code == 201
    ticket = response.json()
    assert re.fullmatch(r"20\d{6}\d{5}", ticket["number"])
    assert ticket["status"] == "submitted"
    assert ticket["category_name"] == "城乡建设"
    assert ticket["department"] == "住房和城乡建设局"
    assert ticket["sla_days"] == 5
    assert [e["kind"] for e in ticket["events"]] == ["created"]
    assert ticket["transcript"][0]["text"] == "下水道堵了"


def test_same_submission_key_files_once(client: TestClient, auth: dict[str, str]) -> None:
    first = client.post("/api/v1/tickets", json=draft_body(), headers=auth)
    again = client.post("/api/v1/tickets", json=draft_body(), headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    listed = client.get("/api/v1/tickets", headers=auth).json()
    assert listed["total"] == 1


def test_concurrent_duplicates_file_once(client: TestClient, auth: dict[str, str]) -> None:
    def post(_: int) -> str:
        return client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = set(pool.map(post, range(8)))
    assert len(numbers) == 1


def test_numbers_are_sequential_per_day(client: TestClient, auth: dict[str, str]) -> None:
    numbers = [
        client.post(
            "/api/v1/tickets", json=draft_body(submission_key=f"key-0000000{i}"), headers=auth
        ).json()["number"]
        for i in range(3)
    ]
    assert [int(n[-5:]) for n in numbers] == [1, 2, 3]
    assert len({n[:8] for n in numbers}) == 1


def test_anonymous_drops_phone(client: TestClient, auth: dict[str, str]) -> None:
    body = draft_body(anonymous=True, contact_phone="13812345678")
    ticket = client.post("/api/v1/tickets", json=body, headers=auth).json()
    assert ticket["anonymous"] is True
    assert ticket["contact_phone"] is None


def test_bad_input_is_a_4xx_json_error(client: TestClient, auth: dict[str, str]) -> None:
    cases = [
        draft_body(contact_phone="12345"),
        draft_body(contact_phone=None, anonymous=False),
        draft_body(description="x" * 2001),
        draft_body(description=""),
        draft_body(submission_key="bad key with spaces"),
        draft_body(nlu_confidence=3),
    ]
    for body in cases:
        response = client.post("/api/v1/tickets", json=body, headers=auth)
        assert response.status_code == 422, body
        assert "detail" in response.json()
    unknown = client.post("/api/v1/tickets", json=draft_body(category="nope"), headers=auth)
    assert unknown.status_code == 422
    assert "未知的分类" in unknown.json()["detail"]
    not_json = client.post(
        "/api/v1/tickets",
        content=b"{not json",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422


def test_api_requires_the_service_token(client: TestClient) -> None:
    assert client.post("/api/v1/tickets", json=draft_body()).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    response = client.get("/api/v1/tickets", headers=wrong)
    assert response.status_code == 401
    assert "令牌" in response.json()["detail"]


def test_get_and_filter(client: TestClient, auth: dict[str, str]) -> None:
    number = client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]
    client.post(
        "/api/v1/tickets",
        json=draft_body(submission_key="other-key-1", category="disputes", conversation_id="x1"),
        headers=auth,
    )
    assert client.get(f"/api/v1/tickets/{number}", headers=auth).json()["number"] == number
    assert client.get("/api/v1/tickets/2026010100999", headers=auth).status_code == 404
    assert client.get("/api/v1/tickets/abc", headers=auth).status_code == 422
    only = client.get("/api/v1/tickets", params={"category": "disputes"}, headers=auth).json()
    assert [t["category"] for t in only["items"]] == ["disputes"]
    mine = client.get(
        "/api/v1/tickets", params={"conversation_id": "web-abc12345"}, headers=auth
    ).json()
    assert [t["number"] for t in mine["items"]] == [number]
    assert client.get("/api/v1/tickets", params={"limit": 0}, headers=auth).status_code == 422


def test_handoff_event_marks_ticket(client: TestClient, auth: dict[str, str]) -> None:
    number = client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]
    response = client.post(
        f"/api/v1/tickets/{number}/events", json={"kind": "handoff_requested"}, headers=auth
    )
    assert response.status_code == 201
    ticket = client.get(f"/api/v1/tickets/{number}", headers=auth).json()
    assert ticket["handoff_requested"] is True
    assert [e["kind"] for e in ticket["events"]] == ["created", "handoff_requested"]
    bad = client.post(f"/api/v1/tickets/{number}/events", json={"kind": "x"}, headers=auth)
    assert bad.status_code == 422


def test_ticket_carries_grid_and_worker(client: TestClient, auth: dict[str, str]) -> None:
    body = draft_body(grid_code="510107001001001")
    ticket = client.post("/api/v1/tickets", json=body, headers=auth).json()
    assert ticket["grid_worker_name"] and ticket["queue"].startswith("网格：")
    assert ticket["grid_name"].startswith("武侯区 玉林街道 黉门街社区")
    unassigned = client.post(
        "/api/v1/tickets", json=draft_body(submission_key="k-unassigned"), headers=auth
    ).json()
    assert unassigned["queue"] == "待分拨（街道）"
    bad = client.post(
        "/api/v1/tickets",
        json=draft_body(submission_key="k-bad-grid", grid_code="999"),
        headers=auth,
    )
    assert bad.status_code == 422 and "未知的网格" in bad.json()["detail"]


def test_a_ticket_known_only_at_community_level_is_in_that_queue(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = draft_body(submission_key="k-area-0001", area_code="510107001001")
    response = client.post("/api/v1/tickets", json=body, headers=auth)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["area_code"] == "510107001001" and ticket["grid_code"] is None
    assert ticket["queue"] == "社区（村）：黉门街社区"
    bad = client.post(
        "/api/v1/tickets",
        json=draft_body(submission_key="k-bad-area-0001", area_code="510107001001001"),  # a grid
        headers=auth,
    )
    assert bad.status_code == 422 and "未知的社区" in bad.json()["detail"]


def _numbers(client: TestClient, auth: dict[str, str], **params: str) -> list[str]:
    response = client.get("/api/v1/tickets", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [t["number"] for t in response.json()["items"]]


def test_dates_without_a_zone_are_local_time(client: TestClient, auth: dict[str, str]) -> None:
    number = client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]
    local = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    # Read as UTC, "a minute ago in Shanghai" would be eight hours ahead and find nothing.
    minute_ago = (local - timedelta(minutes=1)).isoformat()
    assert _numbers(client, auth, since=minute_ago) == [number]
    assert _numbers(client, auth, until=minute_ago) == []
    today, tomorrow = local.date(), local.date() + timedelta(days=1)
    assert _numbers(client, auth, since=today.isoformat(), until=tomorrow.isoformat()) == [number]
    assert _numbers(client, auth, since=tomorrow.isoformat()) == []
    aware = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert _numbers(client, auth, since=aware) == [number]


def test_the_local_time_zone_is_a_setting(settings: Settings, auth: dict[str, str]) -> None:
    utc = settings.model_copy(update={"time_zone": "UTC"})
    with TestClient(create_app(utc)) as client:
        number = client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        assert _numbers(client, auth, since=(now - timedelta(minutes=1)).isoformat()) == [number]
        shanghai_now = now + timedelta(hours=8)
        assert _numbers(client, auth, since=shanghai_now.isoformat()) == []


def test_bad_dates_are_a_422(client: TestClient, auth: dict[str, str]) -> None:
    for params in (
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"since": "0001-01-01"},  # local midnight is before year 1 in UTC
        {"until": "9999-12-31T23:00:00-10:00"},  # after year 9999 in UTC
    ):
        response = client.get("/api/v1/tickets", params=params, headers=auth)
        assert response.status_code == 422, (params, response.text)
        assert next(iter(params)) in response.json()["detail"]


MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL


def test_ids_and_offsets_are_bounded(client: TestClient, auth: dict[str, str]) -> None:
    paths = (
        ("get", "/api/v1/attachments/{}", "attachment_id"),
        ("post", "/api/v1/notifications/{}/delivered", "notification_id"),
    )
    for method, path, name in paths:
        for value in (2**31, 2**63, 10**30):
            response = client.request(method, path.format(value), headers=auth)
            assert response.status_code == 422, response.text
            assert f"字段 {name} 必须小于或等于 {MAX_ID}" in response.json()["detail"]
        assert client.request(method, path.format(MAX_ID), headers=auth).status_code == 404
        assert client.request(method, path.format(0), headers=auth).status_code == 422
    for value in (2**63, 10**30):
        response = client.get("/api/v1/tickets", params={"offset": value}, headers=auth)
        assert response.status_code == 422
        assert "字段 offset 必须小于或等于" in response.json()["detail"]
    assert client.get("/api/v1/tickets", params={"offset": -1}, headers=auth).status_code == 422
    last = client.get("/api/v1/tickets", params={"offset": MAX_ID}, headers=auth)
    assert last.status_code == 200 and last.json()["items"] == []


def test_api_handlers_do_database_work_in_the_thread_pool() -> None:
    """An ``async def`` handler runs its SQLite calls on the event loop and blocks every request."""
    from casestore.api.routes import attachments, notifications, tickets
    from grids import api as grids_api
    from retraining import api as retraining_api
    from retraining import serving

    routers = (tickets, attachments, notifications, grids_api, retraining_api, serving)
    handlers = [r.endpoint for m in routers for r in m.router.routes]  # type: ignore[attr-defined]
    assert handlers
    assert not [h.__name__ for h in handlers if inspect.iscoroutinefunction(h)]
