"""Rendering (console/staff/rendering.py): labels instead of codes, and the error pages."""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from accounts import service as accounts
from accounts.models import Role
from casestore.models import Ticket
from casestore.services import escalation, fieldwork
from casestore.services import queue as queue_service
from casestore.services.lifecycle import Context
from console.paths import templates
from console.staff.rendering import INTENT, actor, detail
from core import labels
from core.clock import LOCAL_TZ, utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import ROOT, Settings
from core.taxonomy import Taxonomy
from grids.registry import load_registry
from tests.console.staff_fixtures import AUTH, GRID, act, add_user, csrf, file, login


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()


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


class VisibleText(HTMLParser):
    """The text a person reads on a page: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in {"script", "style"}

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in {"script", "style"}

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


SERVICE_KINDS = {
    "dispute_registered", "dispute_parties", "mediation_session", "risk_assessed",
    "dispute_diverted", "dispute_supervised", "mediation_outcome", "mediation_agreement",
    "dispute_concluded", "remind", "auto_escalate", "field_report", "coordination_requested",
}  # fmt: skip


def assert_no_codes(page: str, history: str, taxonomy: Taxonomy) -> None:
    """Nothing on the page a staff member reads is a code: statuses, events, fields, grids."""
    text = visible(page)
    codes = {
        *labels.STATUS, *labels.CHANNEL, *labels.RATING, *labels.TIER, *labels.REJECT_REASON,
        *labels.DISPATCH_TARGET, *labels.EVENT, *labels.EVENT_FIELD, *INTENT,
        *labels.RISK_GRADE, *labels.DISPUTE_STAGE, *labels.MEDIATION_OUTCOME, *labels.PARTY_ROLE,
        *taxonomy.codes(), *(s.code for c in taxonomy.categories for s in c.subcategories),
    }  # fmt: skip
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", text)
    shown = {code for code in codes if re.search(rf"(?<![A-Za-z]){code}(?![A-Za-z])", text)}
    assert not shown
    assert not re.search(r"\d{15}", history)  # grids by name


def test_a_ticket_with_events_of_every_kind_shows_no_codes(
    staff_client: TestClient, taxonomy: Taxonomy
) -> None:
    client = staff_client
    upload = {"conversation_id": "web-abc12345", "channel": "webchat"}
    photo = {"file": ("p.jpg", jpeg(), "image/jpeg")}
    client.post("/api/v1/attachments", data=upload, files=photo, headers=AUTH)
    transcript = [
        {"role": "resident", "text": "黉门街的路灯坏了"},
        {"role": "bot", "text": "请确认"},
        {"role": "resident", "text": "/affirm"},
        {
            "role": "resident",
            "text": '/rate_service{"ticket_number": "1", "rating": "dissatisfied"}',
        },
        {"role": "resident", "text": "/report_disputes"},
    ]
    number = file(client, transcript=transcript, handoff_requested=True)
    other = file(client, 2, conversation_id="web-other123", description="黉门街路灯不亮")
    events = f"/api/v1/tickets/{number}/events"
    client.post(events, json={"kind": "handoff_requested", "data": {"via": "bot"}}, headers=AUTH)
    for intent in ("not_resolved", "inform", "affirm", "report_disputes", "nlu_fallback"):
        message = {"kind": "resident_message", "data": {"text": "还是不亮", "intent": intent}}
        client.post(events, json=message, headers=AUTH)
    client.post("/api/v1/attachments", data={**upload, "ticket_number": number}, files=photo,
                headers=AUTH)  # fmt: skip
    lookup = {"conversation_id": "web-stranger", "phone_last4": "0000"}
    client.post(f"/api/v1/tickets/{number}/status-lookup", json=lookup, headers=AUTH)
    steps = [
        {"action": "correct", "category": "urban_construction",
         "subcategory": "municipal_facilities", "grid_code": "510107001001004",
         "description": "黉门街四网格的路灯坏了一排"},
        {"action": "correct", "subcategory": "property_management"},  # the category stays
        {"action": "dispatch", "dispatch_to": "grid", "text": "请尽快处理"},
        {"action": "accept"},
        {"action": "arrive", "text": "已到现场查看"},
        {"action": "escalate", "text": "需要街道协调"},
        {"action": "reply", "text": "已联系供电所"},
        {"action": "resolve", "text": "路灯已修复"},
        {"action": "rate", "rating": "dissatisfied", "actor": "resident", "text": "太慢了"},
        {"action": "reopen", "text": "市民来电说又坏了"},
        {"action": "dispatch", "dispatch_to": "department"},
        {"action": "urge", "text": "市民再次来电催促"},
        {"action": "supervise", "text": "区长信箱转来，限期办结"},
        {"action": "request_extension", "days": 3, "text": "需要采购灯具"},
        {"action": "deny_extension", "text": "可先临时照明"},
        {"action": "request_extension", "days": 2, "text": "灯具到货需要时间"},
        {"action": "approve_extension"},
        {"action": "transfer", "department": "城市管理局", "text": "路灯由城管负责"},
        {"action": "return", "text": "不属于本单位职责"},
        {"action": "dispatch", "dispatch_to": "department"},
        {"action": "start"},
        {"action": "close", "text": "已更换灯具"},
        {"action": "follow_up", "rating": "unreached", "text": "电话无人接听"},
        {"action": "rate", "rating": "unresolved", "actor": "resident"},
        {"action": "reject", "reason": "duplicate", "text": "与另一工单重复"},
        {"action": "reopen"},
        {"action": "merge", "merge_into": other},
    ]  # fmt: skip
    for step in steps:
        body = {"actor": "staff:lili", **step}
        response = client.post(f"/api/v1/tickets/{number}/actions", json=body, headers=AUTH)
        assert response.status_code == 200, (step, response.text)
    page = client.get(f"/tickets/{number}").text
    history = visible(page.split('<ol class="events">')[1].split("</ol>")[0])
    kinds = [e["kind"] for e in client.get(events.rsplit("/", 1)[0], headers=AUTH).json()["events"]]
    # Merged_from is the other ticket's; the result photo is the console form's (test_tickets);
    # the dispute line's and the field services' events are the next test's.
    left = {"merged_from", "result_photo", *SERVICE_KINDS}
    assert set(kinds) == set(labels.EVENT) - left, kinds
    assert_no_codes(page, history, taxonomy)
    text = visible(page)
    expected = [
        "状态：已受理，待审核；渠道：网页留言",
        "满意度：不满意",
        "原状态：已办结；新状态：已重新办理",
        "满意度：问题没解决",
        f"意图：{INTENT['not_resolved']}",
        f"意图：{INTENT['inform']}",
        f"意图：{INTENT['affirm']}",
        "意图：矛盾纠纷",
        "网格：黉门街社区第一网格 → 黉门街社区第四网格",
        "二级分类：市政设施 → 物业管理",
        "途径：机器人",
        "派往：网格",
        "累计催办次数：1",
        "原因：区长信箱转来，限期办结",
        "延期（工作日）：3；原因：需要采购灯具",
        "延期（工作日）：2；答复期限：",
        "原承办单位：住房和城乡建设局；新承办单位：城市管理局；原因：路灯由城管负责",
        "原状态：已派单；新状态：已退回，待重新派单；原承办单位：城市管理局；原因：不属于本单位职责",
        "回访结果：未联系上；内容：电话无人接听",
    ]
    for words in expected:
        assert words in history, words
    assert "分类：城乡建设 → 城乡建设" not in history
    assert f"［{INTENT['affirm']}］" in text
    assert f"［{INTENT['rate_service']}（满意度：不满意）］" in text
    other_page = visible(client.get(f"/tickets/{other}").text)
    assert f"工单号：{number}" in other_page


def test_the_dispute_line_and_the_field_services_events_show_no_codes(
    staff_client: TestClient, settings: Settings, taxonomy: Taxonomy
) -> None:
    client = staff_client
    number = file(client, category="disputes", subcategory="neighbor_disputes",
                  description="5栋有两户因为漏水吵起来了")  # fmt: skip
    assert act(client, number, action="dispatch").status_code == 303
    today = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    steps: list[tuple[str, dict[str, str]]] = [
        ("parties", {"name_0": "王芳", "phone_0": "13800000001", "role_0": "applicant",
                     "name_1": "李强", "phone_1": "", "role_1": "respondent",
                     "mediator": "张丽"}),
        ("grade", {"risk_grade": "orange", "note": "双方情绪激动"}),
        ("divert", {"tier": "community", "reason": "需社区调委会介入"}),
        ("session", {"held_on": today, "place": "社区调解室", "tier": "community",
                     "mediator": "刘敏", "summary": "楼上修好漏水点"}),
        ("supervise", {"note": "三日内回访"}),
        ("outcome", {"outcome": "success", "text": "双方达成协议"}),
        ("conclude", {}),
    ]  # fmt: skip
    for name, fields in steps:
        if name == "conclude":
            upload = client.post(
                f"/tickets/{number}/mediation/agreement",
                data={"csrf_token": csrf(client, f"/tickets/{number}/mediation")},
                files={"agreement": ("协议.jpg", jpeg(), "image/jpeg")},
                follow_redirects=False,
            )
            assert upload.status_code == 303, upload.text
        data = {"csrf_token": csrf(client, f"/tickets/{number}/mediation"), **fields}
        posted = client.post(f"/tickets/{number}/mediation/{name}", data=data,
                             follow_redirects=False)  # fmt: skip
        assert posted.status_code == 303, (name, posted.text)

    # A worker's patrol report, and a resident's ticket past its step's deadline.
    other = file(client, 2, category="environmental_protection",
                 subcategory="waste_sanitation", grid_code=GRID)  # fmt: skip
    assert act(client, other, action="dispatch").status_code == 303
    engine = make_engine(settings.database_url)
    registry = load_registry(ROOT / "data" / "grids")
    with session_scope(make_sessionmaker(engine)) as session:
        ctx = Context(session=session, taxonomy=taxonomy, registry=registry)
        worker = accounts.create_user(session=session, username="zhangwei",
                                      display_name="张伟", password="correct-horse",
                                      role=Role.GRID_WORKER, grid_codes=[GRID])  # fmt: skip
        person = fieldwork.person_of(worker)
        draft = fieldwork.draft_report(
            ctx,
            person,
            "代3栋王阿姨反映：楼道灯坏了",
            classify=lambda text: ("urban_construction", None),
        )
        report, _ = fieldwork.file_report(
            ctx, person, draft, submission_key="web-field-1", channel="webchat"
        )
        reported = report.number
        ticket = session.scalars(select(Ticket).where(Ticket.number == other)).one()
        due = ticket.step_due_at
        assert due is not None
        assert escalation.run(ctx, due - timedelta(minutes=1)).reminded == 1
        assert escalation.run(ctx, due + timedelta(minutes=1)).escalated == 1
    engine.dispose()
    body = {"actor": "grid_worker:zhangwei", "action": "coordinate", "text": "需要街道协调"}
    moved = client.post(f"/api/v1/tickets/{other}/actions", json=body, headers=AUTH)
    assert moved.status_code == 200, moved.text

    # A ticket corrected into a dispute after filing is registered when first worked on.
    corrected = file(client, 3, description="两家邻居因为楼道堆物吵架")
    body = {"actor": "staff:lili", "action": "correct", "category": "disputes",
            "subcategory": "neighbor_disputes"}  # fmt: skip
    assert client.post(f"/api/v1/tickets/{corrected}/actions", json=body,
                       headers=AUTH).status_code == 200  # fmt: skip
    data = {"csrf_token": csrf(client, f"/tickets/{corrected}/mediation"), "mediator": "张丽",
            "name_0": "王芳", "phone_0": "", "role_0": "applicant"}  # fmt: skip
    posted = client.post(f"/tickets/{corrected}/mediation/parties", data=data,
                         follow_redirects=False)  # fmt: skip
    assert posted.status_code == 303, posted.text

    kinds: set[str] = set()
    for shown in (number, reported, other, corrected):
        page = client.get(f"/tickets/{shown}").text
        history = visible(page.split('<ol class="events">')[1].split("</ol>")[0])
        assert_no_codes(page, history, taxonomy)
        events = client.get(f"/api/v1/tickets/{shown}", headers=AUTH).json()["events"]
        kinds |= {e["kind"] for e in events}
    assert kinds >= SERVICE_KINDS, SERVICE_KINDS - kinds
    record = client.get(f"/tickets/{number}/mediation").text
    assert_no_codes(record, "", taxonomy)
