"""The ticket page, its actions and photos (console/staff/tickets.py)."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from PIL import Image

from accounts.models import Role
from core.settings import Settings
from tests.console.staff_fixtures import (
    AUTH,
    GRID,
    OTHER_GRID,
    act,
    add_user,
    file,
    login,
)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()


def events_of(page: str) -> str:
    return page.split('<ol class="events">')[1].split("</ol>")[0]


def test_ticket_worked_through_to_closure(staff_client: TestClient) -> None:
    number = file(staff_client, transcript=[{"role": "resident", "text": "小区门口垃圾堆了好几天"}])
    page = staff_client.get(f"/tickets/{number}").text
    assert "小区门口垃圾堆了好几天" in page and "<svg" in page and "城乡建设" in page
    response = act(staff_client, number, action="correct", version="1",
                   category="environmental_protection", subcategory="waste_sanitation")  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == f"/tickets/{number}?done=correct"
    assert "已完成：更正" in staff_client.get(response.headers["location"]).text
    assert (
        act(staff_client, number, action="dispatch", version="2", dispatch_to="grid").status_code
        == 303
    )
    assert (
        act(staff_client, number, action="reply", version="3", text="已安排清运").status_code == 303
    )
    assert act(staff_client, number, action="close", version="4", text="已清运").status_code == 303
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["status"] == "closed" and detail["category"] == "environmental_protection"
    assert [e["actor"] for e in detail["events"][1:]] == ["staff:lili"] * 4
    examples = staff_client.get("/api/v1/training-examples", headers=AUTH).json()["items"]
    assert examples[0]["text"] == "小区门口垃圾堆了好几天"
    assert examples[0]["intent"] == "report_environmental_protection"
    notes = staff_client.get("/api/v1/notifications?channel=webchat", headers=AUTH).json()
    assert [n["kind"] for n in notes["items"]] == ["status", "reply", "satisfaction"]


def test_the_page_shows_labels_not_codes(staff_client: TestClient) -> None:
    number = file(staff_client, transcript=[{"role": "resident", "text": "路灯坏了"}])
    act(staff_client, number, action="correct", version="1", category="environmental_protection")
    act(staff_client, number, action="dispatch", version="2", dispatch_to="grid")
    page = staff_client.get(f"/tickets/{number}").text
    events = events_of(page)
    for shown in ("受理", "更正", "派单", "话务员 lili", "分类：城乡建设 → 环境保护",
                  "原状态：已受理，待审核", "新状态：已派单", "派往：网格"):  # fmt: skip
        assert shown in events, shown
    for code in (
        "submitted",
        "dispatched",
        "staff:",
        "urban_construction",
        "target",
        "dispatch_to",
        "grid:",
    ):
        assert code not in events, code
    assert "<b>市民</b> 路灯坏了" in page  # the transcript's speaker
    assert re.search("层级 (网格|社区（村）|街道（乡镇）|区（县）) ·", page) and "网页留言" in page


def test_stale_form_does_not_overwrite(staff_client: TestClient) -> None:
    number = file(staff_client)
    assert act(staff_client, number, action="reply", version="1", text="第一位").status_code == 303
    stale = act(staff_client, number, action="correct", version="1", description="被覆盖的内容")
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    empty = act(staff_client, number, action="reply", version="2", text="")
    assert empty.status_code == 422 and "请填写答复内容" in empty.text
    rated = act(staff_client, number, action="rate", version="2", rating="satisfied")
    assert rated.status_code == 422  # residents rate, staff do not
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["description"] != "被覆盖的内容" and detail["version"] == 2


def test_forms_without_the_csrf_token_are_refused(staff_client: TestClient) -> None:
    number = file(staff_client)
    response = staff_client.post(
        f"/tickets/{number}/actions", data={"action": "reply", "text": "你好"}
    )
    assert response.status_code == 403 and "安全校验失败" in response.text
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert [e["kind"] for e in detail["events"]] == ["created"]


def test_photos_are_shown_only_with_their_own_ticket(staff_client: TestClient) -> None:
    upload = staff_client.post(
        "/api/v1/attachments",
        data={"conversation_id": "web-abc12345", "channel": "webchat"},
        files={"file": ("p.jpg", jpeg(), "image/jpeg")},
        headers=AUTH,
    ).json()
    number = file(staff_client, 1)
    other = file(staff_client, 2, conversation_id="web-other123")
    path = f"/tickets/{number}/photos/{upload['id']}"
    assert path in staff_client.get(f"/tickets/{number}").text
    photo = staff_client.get(path)
    assert photo.status_code == 200 and photo.content == jpeg()
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert staff_client.get(f"/tickets/{other}/photos/{upload['id']}").status_code == 404
    assert staff_client.get(f"/tickets/{number}/photos/999999").status_code == 404


def test_a_grid_worker_cannot_merge_into_another_grids_ticket(
    client: TestClient, settings: Settings
) -> None:
    mine = file(client, 1)
    theirs = file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    refused = act(client, mine, action="merge", merge_into=theirs)
    unknown = act(client, mine, action="merge", merge_into="2026010100999")
    assert refused.status_code == unknown.status_code == 422
    assert f"未找到要合并到的工单：{theirs}" in refused.text
    assert "未找到要合并到的工单：2026010100999" in unknown.text
    detail = client.get(f"/api/v1/tickets/{theirs}", headers=AUTH).json()
    assert [e["kind"] for e in detail["events"]] == ["created"]
    assert client.get(f"/api/v1/tickets/{mine}", headers=AUTH).json()["status"] == "submitted"


def test_correcting_cannot_empty_the_grid(staff_client: TestClient) -> None:
    number = file(staff_client)
    page = staff_client.get(f"/tickets/{number}").text
    assert "（待定）</option>" not in page.split('name="grid_code"')[1].split("</select>")[0]
    response = act(staff_client, number, action="correct", grid_code="")
    assert response.status_code == 422 and "网格不能改为待定" in response.text
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["grid_code"] == GRID
