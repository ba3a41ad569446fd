"""Account administration (console/staff/users.py): create, deactivate, re-enable, audit."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service as accounts
from accounts.models import Role, User
from core import audit
from core.settings import Settings
from tests.console.staff_fixtures import (
    GRID,
    PASSWORD,
    add_user,
    csrf,
    login,
)


def test_admin_creates_and_deactivates_accounts(
    client: TestClient, settings: Settings, session: Session
) -> None:
    add_user(settings, "boss", Role.ADMIN)
    assert login(client, "boss") == 303
    token = csrf(client, "/admin/users")
    form = {"csrf_token": token, "username": "wang", "display_name": "王网格", "password": PASSWORD}
    missing_grid = client.post("/admin/users", data={**form, "role": "grid_worker"})
    assert missing_grid.status_code == 422 and "需要指定负责的网格" in missing_grid.text
    no_role = client.post("/admin/users", data={**form, "role": "root"})
    assert no_role.status_code == 422 and "请选择角色" in no_role.text
    created = client.post(
        "/admin/users", data={**form, "role": "grid_worker", "grid_codes": [GRID]}
    )
    assert created.status_code == 200 and "已创建账号 wang" in created.text
    assert "王网格" in created.text and "<td>网格员</td>" in created.text
    staff_page = client.get("/admin/users").text
    user_id = re.findall(r'action="/admin/users/(\d+)/active"', staff_page)[-1]
    client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token, "active": "false"})
    client.cookies.clear()
    assert login(client, "wang") == 401  # deactivated
    assert login(client, "boss") == 303
    assert "已停用" in client.get("/admin/users").text
    records = [(a.actor, a.action, a.object_id) for a in audit.recent(session, object_type="user")]
    assert records[:2] == [
        ("admin:boss", "user_deactivate", user_id),
        ("admin:boss", "user_create", user_id),
    ]


def test_the_role_choices_carry_their_codes(client: TestClient, settings: Settings) -> None:
    add_user(settings, "boss", Role.ADMIN)
    login(client, "boss")
    page = client.get("/admin/users").text
    select = page.split('<select name="role">')[1].split("</select>")[0]
    assert re.findall(r'<option value="([a-z_]+)"\s*>([^<]+)</option>', select) == [
        ("staff", "话务员"),
        ("grid_worker", "网格员"),
        ("admin", "管理员"),
        ("volunteer", "民情专递员"),
    ]


def test_admins_cannot_deactivate_themselves_or_unknown_accounts(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "boss", Role.ADMIN)
    login(client, "boss")
    token = csrf(client, "/admin/users")
    own_id = re.findall(r'action="/admin/users/(\d+)/active"', client.get("/admin/users").text)[0]
    itself = client.post(f"/admin/users/{own_id}/active", data={"csrf_token": token})
    assert itself.status_code == 422 and "不能停用自己的账号" in itself.text
    unknown = client.post("/admin/users/999/active", data={"csrf_token": token})
    assert unknown.status_code == 404 and "未找到该账号" in unknown.text


def test_only_admins_manage_accounts(staff_client: TestClient) -> None:
    assert staff_client.get("/admin/users").status_code == 403


def test_admin_creates_a_volunteer_with_a_grid(
    client: TestClient, settings: Settings, session: Session
) -> None:
    add_user(settings, "boss", Role.ADMIN)
    login(client, "boss")
    token = csrf(client, "/admin/users")
    form = {"csrf_token": token, "username": "zhang", "display_name": "张阿姨",
            "password": PASSWORD, "role": "volunteer"}  # fmt: skip
    no_grid = client.post("/admin/users", data=form)
    assert no_grid.status_code == 422 and "民情专递员账号需要指定所在的网格编码" in no_grid.text
    assert 'value="volunteer" selected' in no_grid.text  # what was chosen stays chosen
    created = client.post("/admin/users", data={**form, "grid_codes": [GRID]})
    assert created.status_code == 200 and "已创建账号 zhang" in created.text
    assert "<td>民情专递员</td>" in created.text
    assert "网格员、民情专递员必填" in created.text
    client.cookies.clear()
    assert login(client, "zhang") == 303  # a volunteer signs in (to the field page)
    records = audit.recent(session, object_type="user")
    assert records[0].action == "user_create"
    assert records[0].data == {"username": "zhang", "role": "volunteer", "grid_codes": [GRID],
                               "unit_code": None}  # fmt: skip


def test_admin_hands_a_volunteer_a_link_code_and_ends_a_lost_phones_link(
    client: TestClient, settings: Settings, session: Session
) -> None:
    add_user(settings, "boss", Role.ADMIN)
    add_user(settings, "zhang", Role.VOLUNTEER, [GRID])
    found = session.scalars(select(User).where(User.username == "zhang")).one()
    volunteer = found.id
    session.commit()  # SQLite: no write lock held while the app signs in
    assert login(client, "boss") == 303
    page = client.get("/admin/users").text
    assert "黉门街社区第一网格" in page and f"<td>{GRID}</td>" not in page  # grids by name
    token = csrf(client, "/admin/users")
    action = f"/admin/users/{volunteer}/telegram"
    issued = client.post(action, data={"csrf_token": token, "op": "code"})
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    shown = re.search(r"生成Telegram绑定码 <b>(\d{8})</b>", issued.text)
    assert shown and f"/link {shown.group(1)}" in issued.text
    session.expire_all()
    linked = accounts.link_telegram(session=session, code=shown.group(1), telegram_id=4242)
    session.commit()
    assert linked.username == "zhang"
    assert "已绑定" in client.get("/admin/users").text
    unlinked = client.post(
        action, data={"csrf_token": token, "op": "unlink"}, follow_redirects=False
    )
    assert unlinked.status_code == 303, unlinked.text
    session.expire_all()
    assert accounts.user_by_telegram(session=session, telegram_id=4242) is None
    session.commit()
    again = client.post(action, data={"csrf_token": token, "op": "unlink"})
    assert again.status_code == 409 and "未绑定Telegram" in again.text
    assert client.post(action, data={"csrf_token": token, "op": "x"}).status_code == 422
    assert client.post(action, data={"csrf_token": "bad", "op": "code"}).status_code == 403
    actions = [a.action for a in audit.recent(session, object_type="user")]
    assert actions[:3] == ["telegram_unlink", "telegram_link", "telegram_code"]
