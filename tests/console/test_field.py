"""The field page (console/staff/field.py): a grid worker's task steps, a volunteer's report
drafted and confirmed, the visit log, own reports and the month's figures, and who may do what."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role
from casestore.models import Attachment, Notification, Ticket, VisitLog
from casestore.services.attachments import RESULT_PHOTO_CHANNEL
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from tests.console.staff_fixtures import AUTH, GRID, OTHER_GRID, add_user, csrf, file, login

# A point inside GRID's boundary (data/grids), as the browser's geolocation would give it.
IN_GRID = ("30.637500", "104.052500")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "white").save(out, "PNG")
    return out.getvalue()


@contextmanager
def db(settings: Settings) -> Iterator[Session]:
    """A short read of the database between requests (SQLite: never hold its lock)."""
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def dispatched(client: TestClient, n: int, grid: str = GRID) -> str:
    """A resident's ticket dispatched to its grid worker (a task)."""
    number = file(
        client,
        n,
        grid_code=grid,
        category="environmental_protection",
        subcategory="waste_sanitation",
    )  # fmt: skip  (handled at tier grid)
    response = client.post(f"/api/v1/tickets/{number}/actions", headers=AUTH,
                           json={"actor": "staff:lili", "action": "dispatch",
                                 "dispatch_to": "grid"})  # fmt: skip
    assert response.status_code == 200, response.text
    return number


def step(
    client: TestClient, number: str, name: str, text: str = "", photo: bool = False
) -> Response:
    data = {"csrf_token": csrf(client, "/field"), "step": name, "text": text}
    files = [("photo", ("result.png", png(), "image/png"))] if photo else None
    return client.post(
        f"/field/tasks/{number}/steps", data=data, files=files, follow_redirects=False
    )


def hidden(page: str) -> dict[str, list[str]]:
    """The confirm form's fields as posted unchanged: the hidden ones and the category."""
    form = page.split('action="/field/reports"')[1].split("</form>")[0]
    values: dict[str, list[str]] = {}
    for name, value in re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', form):
        values.setdefault(name, []).append(value)
    chosen = re.search(r'<option value="([a-z_]+)" selected>', form)
    values["category"] = [chosen.group(1)] if chosen else []
    return values


def test_a_grid_worker_takes_a_task_from_accept_to_resolve(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    number = dispatched(client, 1)
    assert login(client, "wang") == 303
    page = client.get("/field")
    assert page.status_code == 200
    task = page.text.split(f'id="task-{number}"')[1].split("</article>")[0]
    assert "接单" in task and "下水道堵了" in task and "办结" in task

    accepted = step(client, number, "accept")
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/field?done=accept&number={number}"
    assert f"已接单：工单 {number}" in client.get(accepted.headers["location"]).text
    assert step(client, number, "arrive").status_code == 303
    task = client.get("/field").text.split(f'id="task-{number}"')[1].split("</article>")[0]
    assert 'value="arrive"' not in task  # arrived once

    no_photo = step(client, number, "resolve", "已疏通下水道")
    assert no_photo.status_code == 422 and "办结需要至少一张现场照片" in no_photo.text
    assert "已疏通下水道" in no_photo.text  # what was typed is kept
    no_text = step(client, number, "resolve", "", photo=True)
    assert no_text.status_code == 422 and "请填写办理结果" in no_text.text
    not_image = client.post(
        f"/field/tasks/{number}/steps",
        data={"csrf_token": csrf(client, "/field"), "step": "resolve", "text": "好了"},
        files=[("photo", ("x.png", b"not an image", "image/png"))],
        follow_redirects=False,
    )
    assert not_image.status_code == 415 and "只接受 JPEG、PNG 或 WebP" in not_image.text
    with db(settings) as session:  # the refused uploads left nothing behind
        assert session.scalars(select(Attachment)).all() == []

    resolved = step(client, number, "resolve", "已疏通下水道", photo=True)
    assert resolved.status_code == 303
    assert "已办结" in client.get(resolved.headers["location"]).text
    with db(settings) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.status == "resolved"
        assert [a.channel for a in ticket.attachments] == [RESULT_PHOTO_CHANNEL]
        actors = {e.actor for e in ticket.events if e.kind in ("accepted", "arrived")}
        assert actors == {"grid_worker:wang"}
        told = session.scalars(
            select(Notification).where(Notification.conversation_id == "web-abc12345")
        ).all()
        assert told  # the resident hears in their own channel
    page = client.get("/field").text
    assert f'id="task-{number}"' not in page  # done, off the list
    assert "暂无待办任务" in page
    figures = page.split('id="figures"')[1].split("</section>")[0]
    assert "接单</dt><dd>1 件" in figures and "办结</dt><dd>1 件" in figures


def test_a_grid_worker_acts_on_their_own_grids_only(client: TestClient, settings: Settings) -> None:
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    theirs = dispatched(client, 1, OTHER_GRID)
    mine = dispatched(client, 2)
    login(client, "wang")
    page = client.get("/field").text
    assert f'id="task-{mine}"' in page and f'id="task-{theirs}"' not in page
    other = step(client, theirs, "accept")
    assert other.status_code == 404 and f"您负责的网格中没有工单 {theirs}" in other.text
    unknown = step(client, mine, "fly")
    assert unknown.status_code == 422 and "请选择要办理的步骤" in unknown.text
    reason = step(client, mine, "coordinate")
    assert reason.status_code == 422 and "请说明需要协调的原因" in reason.text
    forged = client.post(f"/field/tasks/{mine}/steps", data={"csrf_token": "x", "step": "accept"})
    assert forged.status_code == 403
    escalated = step(client, mine, "coordinate", "需要社区协调物业")
    assert escalated.status_code == 303
    assert "已上报" in client.get(escalated.headers["location"]).text
    again = step(client, mine, "accept")  # now the community's: no longer the worker's
    assert again.status_code == 409 and "不再由网格员处理" in again.text
    assert client.get("/field?done=accept&number=<b>").status_code == 200  # no echo, no error
    assert "<b>" not in client.get("/field?done=accept&number=<b>").text


def test_a_volunteer_reports_for_a_resident_and_sees_their_own_reports(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "zhang", Role.VOLUNTEER, [GRID])
    add_user(settings, "liu", Role.VOLUNTEER, [GRID])
    assert login(client, "liu") == 303
    token = csrf(client, "/field")
    draft = client.post(
        "/field/reports/draft", data={"csrf_token": token, "text": "小区门口路灯不亮了"}
    )
    fields = hidden(draft.text)
    assert client.post("/field/reports", data=fields, follow_redirects=False).status_code == 303
    client.cookies.clear()

    assert login(client, "zhang") == 303
    page = client.get("/field").text
    assert 'id="tasks"' not in page and "还没有上报记录" in page  # liu's report is not hers
    token = csrf(client, "/field")
    draft = client.post(
        "/field/reports/draft",
        data={"csrf_token": token, "text": "5栋有两户因为漏水吵起来了", "on_behalf_of": "王阿姨",
              "latitude": IN_GRID[0], "longitude": IN_GRID[1]},
        files=[("photo", ("leak.png", png(), "image/png"))],
    )  # fmt: skip
    assert draft.status_code == 200
    assert "请核对以下上报内容" in draft.text and "代反映：王阿姨" in draft.text
    assert "黉门街社区第一网格" in draft.text and "位置：已附定位" in draft.text
    fields = hidden(draft.text)
    assert fields["on_behalf_of"] == ["王阿姨"] and len(fields["attachment_ids"]) == 1
    assert fields["submission_key"][0].startswith("web-field-zhang-")
    assert fields["category"]  # the drafted category, selected for confirmation
    with db(settings) as session:
        assert session.scalars(select(Ticket).where(Ticket.reported_by == "zhang")).all() == []

    body = dict(fields)
    filed = client.post("/field/reports", data=body, follow_redirects=False)
    assert filed.status_code == 303
    number = filed.headers["location"].rsplit("=", 1)[1]
    shown = client.get(filed.headers["location"]).text
    assert f"已登记，工单号 {number}" in shown
    mine = shown.split('id="my-reports"')[1]
    assert number in mine and "代王阿姨反映" in mine and "路灯" not in mine
    figures = shown.split('id="figures"')[1].split("</section>")[0]
    assert '上报</dt><dd id="fig-reports">1 件' in figures and "代民反映</dt><dd>1 件" in figures
    assert "接单" not in figures  # volunteers take no steps

    again = client.post("/field/reports", data=body, follow_redirects=False)  # a double tap
    assert again.status_code == 303 and again.headers["location"].endswith(number)
    with db(settings) as session:
        tickets = session.scalars(select(Ticket).where(Ticket.reported_by == "zhang")).all()
        assert [t.number for t in tickets] == [number]
        ticket = tickets[0]
        assert ticket.on_behalf_of == "王阿姨" and ticket.grid_code == GRID
        assert ticket.channel == "webchat" and ticket.conversation_id == "web-staff-zhang"
        assert len(ticket.attachments) == 1
    stale = client.post("/field/reports", data={**body, "submission_key": "web-field-liu-00"})
    assert stale.status_code == 422 and "页面已过期" in stale.text
    other_key = {**body, "submission_key": "web-field-liu-0123456789abcdef"}
    assert client.post("/field/reports", data=other_key).status_code == 422  # not hers

    mine_task = dispatched(client, 3)
    forbidden = step(client, mine_task, "accept")
    assert forbidden.status_code == 403 and "您的账号没有此项权限" in forbidden.text


def test_report_input_is_checked_on_the_page(client: TestClient, settings: Settings) -> None:
    add_user(settings, "zhang", Role.VOLUNTEER, [GRID])
    login(client, "zhang")
    token = csrf(client, "/field")
    cases = [
        ({"text": ""}, "请填写上报内容"),
        ({"text": "路灯坏了", "latitude": "30.6"}, "位置需要同时有经度和纬度"),
        ({"text": "路灯坏了", "latitude": "abc", "longitude": "104"}, "位置纬度应为数字"),
        ({"text": "路灯坏了", "latitude": "95", "longitude": "104"}, "位置纬度超出范围"),
        ({"text": "路灯坏了", "latitude": "nan", "longitude": "104"}, "位置纬度超出范围"),
        ({"text": "灯" * 2001}, "内容过长"),
        ({"text": "路灯坏了", "on_behalf_of": "王" * 101}, "内容过长"),
    ]
    for data, message in cases:
        response = client.post("/field/reports/draft", data={"csrf_token": token, **data})
        assert response.status_code == 422, data
        assert message in response.text, data
    photos = [("photo", (f"{i}.png", png(), "image/png")) for i in range(5)]
    many = client.post(
        "/field/reports/draft", data={"csrf_token": token, "text": "路灯坏了"}, files=photos
    )
    assert many.status_code == 422 and "一次最多上传 4 张照片" in many.text
    with db(settings) as session:
        assert session.scalars(select(Attachment)).all() == []
    draft = client.post("/field/reports/draft", data={"csrf_token": token, "text": "路灯坏了"})
    fields = hidden(draft.text)
    no_category = client.post("/field/reports", data={**fields, "category": "nonsense"})
    assert no_category.status_code == 422 and "请选择问题分类" in no_category.text


def test_the_visit_log(client: TestClient, settings: Settings) -> None:
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    login(client, "wang")
    token = csrf(client, "/field")
    for bad, message in (("abc", "走访户数请填写0或正整数"), ("-3", "走访户数请填写0或正整数"),
                         ("5000", "走访户数不能超过 2000")):  # fmt: skip
        response = client.post("/field/visits", data={"csrf_token": token, "households": bad})
        assert response.status_code == 422 and message in response.text
    long_notes = client.post(
        "/field/visits", data={"csrf_token": token, "households": "3", "notes": "记" * 1001}
    )
    assert long_notes.status_code == 422 and "内容过长" in long_notes.text
    logged = client.post(
        "/field/visits",
        data={"csrf_token": token, "households": "12", "notes": "3栋老人独居，已登记"},
        follow_redirects=False,
    )
    assert logged.status_code == 303
    page = client.get(logged.headers["location"]).text
    assert "已记录今天的走访日志" in page
    assert "1 次，12 户" in page.split('id="fig-visits"')[1].split("</dd>")[0]
    with db(settings) as session:
        visit = session.scalars(select(VisitLog)).one()
        assert (visit.username, visit.households, visit.grid_code) == ("wang", 12, GRID)


def test_the_page_fits_a_phone_without_inline_scripts(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "zhang", Role.VOLUNTEER, [GRID])
    login(client, "zhang")
    page = client.get("/field")
    assert 'name="viewport" content="width=device-width' in page.text
    assert '<link rel="stylesheet" href="/static/field.css">' in page.text
    assert re.findall(r"<script[^>]*>", page.text) == [
        '<script src="/static/field.js" defer>',
        '<script src="/static/console.js" defer>',
    ]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert re.search(r"\son[a-z]+=", page.text) is None  # no onclick= handlers either
    assert 'id="locate"' in page.text and 'id="latitude"' in page.text
    css = client.get("/static/field.css")
    assert css.status_code == 200 and "max-width: 560px" in css.text
    js = client.get("/static/field.js").text
    assert "navigator.geolocation.getCurrentPosition" in js


def test_desk_staff_have_no_field_page(staff_client: TestClient) -> None:
    assert staff_client.get("/field").status_code == 403
    token = csrf(staff_client, "/account")
    visit = staff_client.post("/field/visits", data={"csrf_token": token, "households": "3"})
    assert visit.status_code == 403
