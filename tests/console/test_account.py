"""My account (console/staff/account.py): the Telegram link code, its state, unlinking."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service
from accounts.models import Role, User
from core import audit
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.console.staff_fixtures import GRID, add_user, csrf, login


def link(settings: Settings, code: str, telegram_id: int) -> None:
    """What the bot does with ``/link <code>`` (through the case-store API)."""
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        service.link_telegram(session=session, code=code, telegram_id=telegram_id)
    engine.dispose()


def test_a_grid_worker_links_and_unlinks_telegram(
    client: TestClient, settings: Settings, session: Session
) -> None:
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get("/account")
    assert page.status_code == 200
    assert "WANG" in page.text and "网格员" in page.text and "尚未绑定Telegram" in page.text
    assert "黉门街社区第一网格" in page.text and GRID not in page.text  # by name, not code
    assert 'href="/account"' in page.text and 'href="/field"' in page.text

    forged = client.post("/account/telegram/code", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    token = csrf(client, "/account")
    made = client.post("/account/telegram/code", data={"csrf_token": token})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    code = re.search(r'id="link-code">(\d+)<', made.text)
    assert code is not None and len(code.group(1)) == service.LINK_CODE_DIGITS
    assert f"在Telegram中向本平台的机器人发送 /link {code.group(1)}" in made.text
    assert "有效至" in made.text
    again = client.get("/account").text  # shown once: later only that one is pending
    assert code.group(1) not in again and "已有一个未使用的绑定码" in again

    link(settings, code.group(1), 424242)
    linked = client.get("/account").text
    assert "已绑定Telegram（绑定于" in linked and "解除绑定" in linked
    unlinked = client.post("/account/telegram/unlink", data={"csrf_token": token})
    assert unlinked.status_code == 200  # followed the redirect
    assert "已解除Telegram绑定" in unlinked.text and "尚未绑定Telegram" in unlinked.text
    again_unlinked = client.post("/account/telegram/unlink", data={"csrf_token": token})
    assert again_unlinked.status_code == 409 and "尚未绑定Telegram" in again_unlinked.text

    user = session.scalars(select(User).where(User.username == "wang")).one()
    assert user.telegram_id is None
    actions = [(a.actor, a.action) for a in audit.recent(session, object_type="user")]
    assert actions[:3] == [
        ("grid_worker:wang", "telegram_unlink"),
        ("grid_worker:wang", "telegram_link"),
        ("grid_worker:wang", "telegram_code"),
    ]


def test_every_role_has_the_account_page(client: TestClient, settings: Settings) -> None:
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili") == 303
    page = client.get("/account")
    assert page.status_code == 200 and "话务员" in page.text and "生成绑定码" in page.text
    assert 'href="/field"' not in page.text  # 外勤 is for the grid's own people
    client.cookies.clear()
    assert client.get("/account", follow_redirects=False).status_code == 303  # signed out


def test_a_new_code_replaces_the_old_one(client: TestClient, settings: Settings) -> None:
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    login(client, "wang")
    token = csrf(client, "/account")
    first = re.findall(r'id="link-code">(\d+)<', client.post(
        "/account/telegram/code", data={"csrf_token": token}).text)[0]  # fmt: skip
    second = re.findall(r'id="link-code">(\d+)<', client.post(
        "/account/telegram/code", data={"csrf_token": token}).text)[0]  # fmt: skip
    with pytest.raises(service.LinkError, match="无效或已过期"):
        link(settings, first, 1)
    link(settings, second, 1)
    assert "已绑定Telegram" in client.get("/account").text
