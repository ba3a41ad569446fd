"""Rendering (console/staff/rendering.py): labels instead of codes, and the error pages."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from accounts.models import Role
from casestore.services import queue as queue_service
from console.paths import templates
from console.staff.rendering import actor, detail
from core.settings import Settings
from core.taxonomy import Taxonomy
from tests.console.staff_fixtures import add_user, login


def test_event_data_shows_field_and_value_labels(taxonomy: Taxonomy) -> None:
    dispatched = {"from": "submitted", "to": "dispatched", "target": "grid", "note": ""}
    assert detail(dispatched) == "原状态：已受理，待审核；新状态：已派单；派往：网格"
    escalated = {"from_tier": "grid", "to_tier": "community", "reason": "需要社区协调"}
    assert detail(escalated) == "原层级：网格；新层级：社区（村）；原因：需要社区协调"
    assert detail({"reason": "out_of_scope"}) == "原因：不属于受理范围"
    corrected = {"category": {"from": "urban_construction", "to": "environmental_protection"},
                 "grid_code": {"from": None, "to": "510107001001001"}}  # fmt: skip
    assert (
        detail(corrected, taxonomy) == "分类：城乡建设 → 环境保护；网格：（无） → 510107001001001"
    )
    assert detail(corrected).startswith("分类：urban_construction → ")  # no taxonomy at hand
    assert detail({"via": "bot", "unknown_key": 3}) == "途径：机器人；unknown_key：3"
    assert detail({}) == ""


def test_actors_show_roles_and_sources_in_chinese() -> None:
    assert actor("staff:lili") == "话务员 lili"
    assert actor("grid_worker:wang") == "网格员 wang"
    assert actor("resident") == "市民"
    assert actor("cli:root") == "命令行 root"
    assert actor("someone-else") == "someone-else"
    assert actor(None) == ""


def test_filters_in_templates() -> None:
    page = templates.env.from_string(
        "{{ 'community'|label(labels.TIER) }} {{ 'corrected'|event_label }} "
        "{{ 'no_such'|label(labels.STATUS) }} {{ {'rating': 'satisfied'}|event_detail }}"
    )
    assert page.render() == "社区（村） 更正 no_such 满意度：满意"


def test_error_pages_keep_the_console_frame(client: TestClient, settings: Settings) -> None:
    expired = client.post("/tickets/2026112600001/actions", data={"action": "reply"})
    assert expired.status_code == 401 and "登录已过期" in expired.text
    assert 'accesskey="q"' not in expired.text  # not signed in: no menu
    add_user(settings, "wang", Role.GRID_WORKER, ["510107001001001"])
    login(client, "wang")
    missing = client.get("/tickets/2026112600001")
    assert missing.status_code == 404
    assert "未找到工单 2026112600001，或不在您负责的网格内" in missing.text
    assert 'accesskey="q"' in missing.text and "WANG（网格员）" in missing.text
    assert client.get("/tickets/not-a-number").status_code == 404
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "您的账号没有此项权限" in forbidden.text


def test_the_not_found_page_opens_no_session_of_its_own(
    client: TestClient, settings: Settings
) -> None:
    """Every SQLite session begins IMMEDIATE (the write lock): a 404 must not take it again."""
    add_user(settings, "wang", Role.GRID_WORKER, ["510107001001001"])
    login(client, "wang")
    app = client.app
    assert isinstance(app, FastAPI)
    factory = app.state.sessionmaker
    opened: list[int] = []

    def counting() -> Session:
        opened.append(1)
        session: Session = factory()
        return session

    app.state.sessionmaker = counting
    missing = client.get("/tickets/2026112600001")
    assert missing.status_code == 404 and "WANG（网格员）" in missing.text  # menu still shown
    assert len(opened) == 1  # the request's own session, nothing for the error page
    assert client.get("/admin/users").status_code == 403 and len(opened) == 2


def _locked(*args: object, **kwargs: object) -> None:
    raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def test_a_locked_database_is_a_503_asking_to_retry(
    staff_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_service, "list_queue", _locked)
    page = staff_client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and "请稍后重试" in page.text
    assert page.headers["retry-after"] and 'accesskey="q"' in page.text
    monkeypatch.setattr(queue_service, "iter_all", _locked)
    data = staff_client.get("/export.csv", headers={"Accept": "application/json"})
    assert data.status_code == 503 and "请稍后重试" in data.json()["detail"]
