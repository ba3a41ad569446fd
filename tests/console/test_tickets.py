"""The ticket page, its actions and photos (console/staff/tickets.py)."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from accounts.models import Role
from casestore.models import Ticket
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.console.staff_fixtures import (
    AUTH,
    GRID,
    OTHER_GRID,
    act,
    add_user,
    csrf,
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
    # The correction moved the promised date (another subcategory's time limit): told too.
    assert [n["kind"] for n in notes["items"]] == ["status", "status", "reply", "satisfaction"]
    assert "答复期限调整为" in notes["items"][0]["text"]


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
    assert re.search("层级 (网格|社区（村）|街道（乡镇）|区（县）)", page) and "网页留言" in page
    assert "版本" not in page.split("<h1>")[1].split("</p>")[0]  # the edit counter is internal


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
    """Merging is the hotline's: a grid worker is refused before anything is looked up, so
    they learn nothing about other grids' ticket numbers either."""
    mine = file(client, 1)
    theirs = file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    refused = act(client, mine, action="merge", merge_into=theirs)
    unknown = act(client, mine, action="merge", merge_into="2026010100999")
    assert refused.status_code == unknown.status_code == 403
    assert refused.text.replace(theirs, "") == refused.text
    assert "网格员不能执行「合并」" in unknown.text
    detail = client.get(f"/api/v1/tickets/{theirs}", headers=AUTH).json()
    assert [e["kind"] for e in detail["events"]] == ["created"]
    assert client.get(f"/api/v1/tickets/{mine}", headers=AUTH).json()["status"] == "submitted"


def test_a_grid_worker_is_offered_and_allowed_only_the_handling_actions(
    client: TestClient, settings: Settings
) -> None:
    number = file(client, 1)
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get(f"/tickets/{number}").text
    for hotline_only in ("审核通过并派单", "不予受理", "保存更正", "合并到该工单"):
        assert hotline_only not in page, hotline_only
    for name in ("dispatch", "reject", "correct", "close", "reopen"):
        response = act(client, number, action=name, dispatch_to="grid", reason="duplicate")
        assert response.status_code == 403, (name, response.status_code)
        assert "网格员不能执行" in response.text
    assert client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()["status"] == "submitted"
    # Dispatched to the grid by the hotline, the worker handles it.
    client.post(
        f"/api/v1/tickets/{number}/actions",
        json={"actor": "staff:li", "action": "dispatch", "dispatch_to": "grid"},
        headers=AUTH,
    )
    page = client.get(f"/tickets/{number}").text
    assert "开始办理" in page and "审核通过并派单" not in page
    assert act(client, number, action="start", version="2").status_code == 303


def test_correcting_cannot_empty_the_grid(staff_client: TestClient) -> None:
    number = file(staff_client)
    page = staff_client.get(f"/tickets/{number}").text
    assert "（待定）</option>" not in page.split('name="grid_code"')[1].split("</select>")[0]
    response = act(staff_client, number, action="correct", grid_code="")
    assert response.status_code == 422 and "网格不能改为待定" in response.text
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["grid_code"] == GRID


def subcategory_select(page: str) -> str:
    return page.split('name="subcategory"')[1].split("</select>")[0]


def selected(select: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected', select)


def test_subcategory_choices_are_grouped_by_their_category(staff_client: TestClient) -> None:
    number = file(staff_client, category="environmental_protection", subcategory="noise_pollution")
    page = staff_client.get(f"/tickets/{number}").text
    groups = re.findall(r'<optgroup label="([^"]+)" data-category="([a-z_]+)">(.*?)</optgroup>',
                        subcategory_select(page), re.S)  # fmt: skip
    by_category = {code: (name, body) for name, code, body in groups}
    assert by_category["disputes"][0] == "矛盾纠纷"
    assert 'value="neighbor_disputes"' in by_category["disputes"][1]
    assert 'value="noise_pollution"' not in by_category["disputes"][1]
    assert 'value="noise_pollution" selected' in by_category["environmental_protection"][1]
    assert 'class="category-picker" data-subcategories="correct-subcategory"' in page
    assert 'id="correct-subcategory"' in page and "/static/console.js" in page


def test_changing_only_the_category_drops_a_subcategory_of_the_old_one(
    staff_client: TestClient,
) -> None:
    """Without scripts the form still sends the old subcategory: it is cleared, not refused."""
    number = file(staff_client, category="environmental_protection", subcategory="noise_pollution")
    response = act(staff_client, number, action="correct", version="1", category="disputes",
                   subcategory="noise_pollution")  # fmt: skip
    assert response.status_code == 303, response.text
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert (detail["category"], detail["subcategory"]) == ("disputes", None)
    assert detail["department"] == "司法局"
    events = events_of(staff_client.get(f"/tickets/{number}").text)
    assert "分类：环境保护 → 矛盾纠纷；二级分类：噪声污染 → （无）" in events


def test_a_refused_form_keeps_what_was_entered(staff_client: TestClient) -> None:
    number = file(staff_client, category="environmental_protection", subcategory="noise_pollution")
    refused = act(staff_client, number, action="correct", version="1", category="disputes",
                  subcategory="air_pollution", grid_code=OTHER_GRID,
                  description="楼上装修噪音，邻居不肯协商")  # fmt: skip
    assert refused.status_code == 422
    assert "二级分类「大气污染」不属于分类「矛盾纠纷」" in refused.text
    assert "air_pollution" not in refused.text.split('role="alert"')[1].split("</p>")[0]
    form = refused.text.split('data-action="correct"')[1].split("</form>")[0]
    assert selected(form.split('name="category"')[1].split("</select>")[0]) == ["disputes"]
    assert selected(subcategory_select(form)) == ["air_pollution"]
    assert selected(form.split('name="grid_code"')[1].split("</select>")[0]) == [OTHER_GRID]
    assert ">楼上装修噪音，邻居不肯协商</textarea>" in form
    stale = act(staff_client, number, action="reply", version="9", text="已联系社区调解")
    assert stale.status_code == 409
    assert ">已联系社区调解</textarea>" in stale.text
    assert ">已联系社区调解</textarea>" not in staff_client.get(f"/tickets/{number}").text
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["category"] == "environmental_protection" and detail["version"] == 1


def test_dispatch_options_name_the_unit_the_ticket_goes_to(staff_client: TestClient) -> None:
    """A street-tier matter in a grid goes to the street: the option, notice and page agree."""
    number = file(staff_client, subcategory="municipal_facilities", grid_code="510107001001004")
    page = staff_client.get(f"/tickets/{number}").text
    options = re.findall(r'<option value="(grid|department)" >([^<]+)</option>', page)
    assert options == [("grid", "街道（乡镇）：玉林街道"), ("department", "职能部门：城市管理局")]
    assert '<dd id="handled-by">城市管理局</dd>' in page  # not dispatched yet
    assert act(staff_client, number, action="dispatch", version="1",
               dispatch_to="grid").status_code == 303  # fmt: skip
    page = staff_client.get(f"/tickets/{number}").text
    assert '<dd id="handled-by">玉林街道</dd>' in page
    assert "城市管理局" not in page.split('<div class="ticket-grid">')[0]  # the head: one unit
    notes = staff_client.get("/api/v1/notifications?channel=webchat", headers=AUTH).json()
    assert "已派单至 玉林街道 办理" in notes["items"][-1]["text"]
    assert (
        staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()["assigned_to"]
        == "玉林街道"
    )


def test_a_correction_without_a_subcategory_field_keeps_the_subcategory(
    staff_client: TestClient,
) -> None:
    number = file(staff_client, category="environmental_protection", subcategory="noise_pollution")
    response = act(staff_client, number, action="correct", description="楼下广场舞太吵了")
    assert response.status_code == 303
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["subcategory"] == "noise_pollution"


def test_the_map_caption_promises_a_dot_only_when_one_is_drawn(staff_client: TestClient) -> None:
    typed = file(staff_client, 1, latitude=None, longitude=None)
    page = staff_client.get(f"/tickets/{typed}").text
    assert 'class="report-point"' not in page and "红点" not in page
    assert "市民未发送定位" in page
    located = file(staff_client, 2, latitude=30.6545, longitude=104.0535)
    page = staff_client.get(f"/tickets/{located}").text
    assert "红点为反映位置" in page
    assert 'class="report-point"' in page


def api_act(client: TestClient, number: str, **body: object) -> dict:
    response = client.post(
        f"/api/v1/tickets/{number}/actions", json={"actor": "staff:li", **body}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def switch(client: TestClient, username: str) -> int:
    """Sign in as someone else (the login page sends a signed-in user away)."""
    client.cookies.clear()
    return login(client, username)


def test_each_role_is_offered_its_own_hotline_steps(client: TestClient, settings: Settings) -> None:
    """A grid worker returns a ticket or asks for more time; the hotline transfers, urges and
    records follow-up calls; approving extensions and 督办 are the supervisors' (admins)."""
    number = file(client, 1)
    api_act(client, number, action="dispatch", dispatch_to="grid")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    add_user(settings, "lili", Role.STAFF)
    add_user(settings, "boss", Role.ADMIN)
    offered = {
        "wang": {"退回重新派单", "申请延期"},
        "lili": {"转办", "催办", "申请延期", "退回重新派单"},
        "boss": {"转办", "催办", "列为督办"},
    }
    refused = {"wang": ("transfer", "urge", "supervise"), "lili": ("supervise",)}
    for user, buttons in offered.items():
        assert switch(client, user) == 303
        page = client.get(f"/tickets/{number}").text
        for button in buttons:
            assert f">{button}</button>" in page, (user, button)
        for name in refused.get(user, ()):
            response = act(client, number, action=name, text="x", department="城市管理局")
            assert response.status_code == 403, (user, name)
    assert switch(client, "wang") == 303
    assert act(client, number, action="request_extension", version="2", days="3",
               text="需要采购配件").status_code == 303  # fmt: skip
    page = client.get(f"/tickets/{number}").text
    assert "申请延期 3 个工作日，待审批：需要采购配件" in page
    assert ">申请延期</button>" not in page  # one request at a time
    assert switch(client, "lili") == 303
    assert act(client, number, action="approve_extension", version="3").status_code == 403
    assert switch(client, "boss") == 303
    page = client.get(f"/tickets/{number}").text
    assert ">批准延期</button>" in page and ">不批准延期</button>" in page
    assert act(client, number, action="approve_extension", version="3").status_code == 303
    detail = client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["extension_days"] is None and detail["events"][-1]["actor"] == "admin:boss"


def test_a_grid_worker_resolves_with_a_photo_of_the_result(
    client: TestClient, settings: Settings
) -> None:
    number = file(client, 1)
    api_act(client, number, action="dispatch", dispatch_to="grid")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get(f"/tickets/{number}").text
    assert 'enctype="multipart/form-data"' in page and 'capture="environment"' in page
    data = {"csrf_token": csrf(client, f"/tickets/{number}"), "action": "resolve",
            "version": "2", "text": "已清理完毕"}  # fmt: skip
    bad = client.post(f"/tickets/{number}/actions", data=data,
                      files={"photo": ("x.jpg", b"not an image", "image/jpeg")})  # fmt: skip
    assert bad.status_code == 415 and "JPEG、PNG 或 WebP" in bad.text
    detail = client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["status"] == "dispatched"  # nothing half done
    done = client.post(f"/tickets/{number}/actions", data=data, follow_redirects=False,
                       files={"photo": ("result.jpg", jpeg(), "image/jpeg")})  # fmt: skip
    assert done.status_code == 303
    page = client.get(f"/tickets/{number}").text
    assert "<h3>办理照片</h3>" in page and 'alt="办理照片 1"' in page
    assert "办理照片</b>" in events_of(page)
    detail = client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["status"] == "resolved" and len(detail["attachments"]) == 1
    photo = detail["attachments"][0]["id"]
    assert client.get(f"/tickets/{number}/photos/{photo}").content == jpeg()
    # Without a photo it resolves as before.
    other = file(client, 2, description="楼道灯不亮")
    api_act(client, other, action="dispatch", dispatch_to="grid")
    assert act(client, other, action="resolve", version="2", text="已更换").status_code == 303


def test_queue_marks_supervised_urged_and_extension_requests_and_lists_my_tickets(
    staff_client: TestClient, settings: Settings
) -> None:
    urged = file(staff_client, 1)
    quiet = file(staff_client, 2, description="楼道灯不亮")
    api_act(staff_client, urged, action="dispatch", dispatch_to="grid")
    api_act(staff_client, quiet, action="dispatch", dispatch_to="grid")
    assert act(staff_client, urged, action="urge", version="2").status_code == 303
    assert act(staff_client, urged, action="urge", version="3").status_code == 303
    api_act(staff_client, urged, action="supervise", text="限期办结", actor="admin:boss")
    api_act(staff_client, urged, action="request_extension", days=2, text="等配件")
    page = staff_client.get("/", params={"view": "tasks"}).text
    row = page[page.index(f'data-href="/tickets/{urged}"') :].split("</tr>")[0]
    for mark in ("督办", "催办×2", "延期待批"):
        assert f">{mark}</span>" in row, mark
    assert "催办" not in page[page.index(f'data-href="/tickets/{quiet}"') :].split("</tr>")[0]
    mine = staff_client.get("/", params={"view": "mine"}).text
    assert urged in mine and quiet not in mine  # lili urged one, not the other
    assert '<option value="mine" selected>我经办的工单</option>' in mine


def test_invented_demo_tickets_open_like_real_ones(
    staff_client: TestClient, settings: Settings
) -> None:
    """`petition demo-data` numbers its tickets YS…; the console opens them, nothing else."""
    number = file(staff_client, 1)
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(
            update(Ticket).where(Ticket.number == number).values(number="YS2026120200001")
        )
    engine.dispose()
    assert staff_client.get("/tickets/YS2026120200001").status_code == 200
    assert staff_client.get("/tickets/YS20261202x0001").status_code == 404
    assert staff_client.get(f"/tickets/{number}").status_code == 404
