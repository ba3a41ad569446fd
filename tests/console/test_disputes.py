"""矛盾纠纷 pages (console/staff/disputes.py): the mediation record's steps, its checks and
scope, the agreement file, and the list with the figures."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image

from accounts.models import Role
from core.clock import LOCAL_TZ, utcnow
from core.settings import Settings
from tests.console.staff_fixtures import GRID, OTHER_GRID, act, add_user, csrf, file, login

COMMUNITY = "510107001001"  # 黉门街社区


def dispute(client: TestClient, n: int, **fields: object) -> str:
    return file(client, n, **{"category": "disputes", "subcategory": "neighbor_disputes",
                              "description": "5栋有两户因为漏水吵起来了", **fields})  # fmt: skip


def step(client: TestClient, number: str, name: str, files: dict | None = None,
         **fields: str) -> Response:  # fmt: skip
    data = {"csrf_token": csrf(client, f"/tickets/{number}/mediation"), **fields}
    return client.post(f"/tickets/{number}/mediation/{name}", data=data, files=files,
                       follow_redirects=False)  # fmt: skip


def today() -> str:
    return utcnow().astimezone(LOCAL_TZ).date().isoformat()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(out, "JPEG")
    return out.getvalue()


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|ol|ul|table)>', html, re.DOTALL)
    assert match, element_id
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_a_dispute_is_mediated_settled_and_counted_from_the_console(
    staff_client: TestClient,
) -> None:
    number = dispute(staff_client, 1)
    page = staff_client.get(f"/tickets/{number}").text
    assert "登记受理" in text_of(page, "dispute") and "黄色" in text_of(page, "dispute")
    assert f'href="/tickets/{number}/mediation"' in page
    assert act(staff_client, number, action="dispatch").status_code == 303

    record = staff_client.get(f"/tickets/{number}/mediation")
    assert record.status_code == 200
    assert 'aria-current="step">1. 登记受理' in record.text
    assert "黄色（一般纠纷）" in text_of(record.text, "risk-grade")

    saved = step(staff_client, number, "parties", name_0="王芳", phone_0="13800000001",
                 role_0="applicant", name_1="李强", phone_1="", role_1="respondent",
                 mediator="张丽")  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=parties")
    page = staff_client.get(saved.headers["location"]).text
    assert "已完成：登记当事人" in page
    assert 'value="王芳"' in page and 'value="李强"' in page and "张丽" in text_of(page, "mediator")

    assert step(staff_client, number, "divert", tier="community",
                reason="需社区调委会介入").status_code == 303  # fmt: skip
    assert step(staff_client, number, "session", held_on=today(), place="黉门街社区调解室",
                tier="community", mediator="社区调解员刘敏",
                summary="楼上修好漏水点并赔偿300元").status_code == 303  # fmt: skip
    assert step(staff_client, number, "outcome", outcome="success",
                text="双方达成调解协议").status_code == 303  # fmt: skip
    uploaded = step(staff_client, number, "agreement",
                    files={"agreement": ("协议.jpg", jpeg(), "image/jpeg")})  # fmt: skip
    assert uploaded.status_code == 303
    page = staff_client.get(f"/tickets/{number}/mediation").text
    assert "协议.jpg" in text_of(page, "agreement")
    assert "调解成功" in text_of(page, "outcome") and "不出村（社区）" in text_of(page, "outcome")
    assert "黉门街社区调解室" in text_of(page, "sessions")
    download = staff_client.get(f"/tickets/{number}/mediation/agreement")
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert download.content == jpeg()

    assert step(staff_client, number, "conclude").status_code == 303
    ticket = staff_client.get(f"/tickets/{number}").text
    assert "已办结" in ticket and "案结事了" in text_of(ticket, "dispute")
    events = ticket[ticket.index('class="events"') :]
    for kind in ("登记当事人", "分流交办", "上报上一级", "调解经过", "调解结果", "调解协议",
                 "案结事了"):  # fmt: skip
        assert kind in events
    assert "13800000001" not in events  # the parties' phones stay in the record
    closed = staff_client.get(f"/tickets/{number}/mediation").text
    assert 'data-step="' not in closed  # nothing more to do on a concluded dispute

    figures = staff_client.get("/disputes").text
    row = re.search(rf'<tr data-unit="{COMMUNITY}".*?</tr>', figures, re.DOTALL)
    assert row, figures
    assert re.search(r'data-scope="village">1<', row.group(0))
    assert "100.0%" in row.group(0)
    assert "调解成功 ÷（调解成功 + 调解不成）" in figures  # the definitions beside the table
    assert number not in text_of(figures, "open-disputes")  # concluded: no longer open


def test_bad_input_is_a_chinese_422_on_the_page_and_changes_nothing(
    staff_client: TestClient,
) -> None:
    number = dispute(staff_client, 2)
    for name, fields, message in [
        ("session", {"held_on": "2026-13-40", "place": "x", "tier": "grid", "mediator": "a",
                     "summary": "调解"}, "调解日期格式应为"),
        ("parties", {"name_0": "王芳", "phone_0": "12", "role_0": "applicant"},
         "联系电话格式不正确"),
        ("grade", {"risk_grade": "purple", "note": "研判意见"}, "请选择风险等级"),
        ("outcome", {"outcome": "failed", "text": "未达成一致"}, "移交"),
        ("conclude", {}, "请先记录调解结果"),
        ("agreement", {}, "请选择调解协议文件"),
        ("nonsense", {}, "未知的调解记录操作"),
    ]:  # fmt: skip
        response = step(staff_client, number, name, **fields)
        assert response.status_code == 422, (name, response.text)
        assert message in response.text
    refused = step(staff_client, number, "agreement",
                   files={"agreement": ("x.txt", b"plain text", "application/pdf")})  # fmt: skip
    assert refused.status_code == 422 and "只接受 PDF、JPEG 或 PNG" in refused.text
    events = staff_client.get(f"/tickets/{number}").text.split('class="events"')[1]
    assert events.count("<li>") == 1  # still only 受理
    forged = staff_client.post(f"/tickets/{number}/mediation/supervise",
                               data={"csrf_token": "wrong", "note": "督办"})  # fmt: skip
    assert forged.status_code == 403
    assert staff_client.get("/disputes?since=2026-02-30").status_code == 422


def test_grid_workers_work_on_their_grids_disputes_within_their_steps(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "desk", Role.STAFF)
    add_user(settings, "zhang", Role.GRID_WORKER, [GRID])
    login(client, "desk")
    mine = dispute(client, 3)
    theirs = dispute(client, 4, grid_code=OTHER_GRID, description="邻居威胁要报复")
    plain = file(client, 5)
    assert client.get(f"/tickets/{plain}/mediation").status_code == 404
    client.cookies.clear()
    login(client, "zhang")
    assert client.get(f"/tickets/{theirs}/mediation").status_code == 404
    page = client.get(f"/tickets/{mine}/mediation").text
    assert 'data-step="parties"' in page and 'data-step="grade"' not in page
    refused = step(client, mine, "grade", risk_grade="red", note="升级")
    assert refused.status_code == 403 and "网格员不能办理「风险研判」" in refused.text
    done = step(client, mine, "session", held_on=today(), place="5栋楼下", tier="grid",
                mediator="张丽", summary="双方同意等物业查明")  # fmt: skip
    assert done.status_code == 303
    listed = client.get("/disputes").text
    assert mine in listed and theirs not in listed
    total = re.search(r'<tr data-unit="" .*?</tr>', listed, re.DOTALL)
    assert total and '<td data-label="登记纠纷">1</td>' in total.group(0)
