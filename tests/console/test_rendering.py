"""Rendering (console/staff/rendering.py): labels instead of codes, and the error pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accounts.models import Role
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
