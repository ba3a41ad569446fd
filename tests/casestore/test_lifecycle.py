"""Staff and resident actions through the API: life cycle, audit, notifications, attachments."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from accounts import apikeys
from casestore.schemas import TicketAction
from casestore.services import lifecycle
from casestore.services.tickets import get_ticket
from core.settings import ROOT
from core.taxonomy import Taxonomy
from grids.registry import load_registry
from tests.app_fixtures import draft_body

GRID = "510107001001001"


def file_ticket(client: TestClient, auth: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/tickets", json=draft_body(**{"grid_code": GRID, **overrides}), headers=auth
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def act(
    client: TestClient, auth: dict[str, str], number: str, **body: Any
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        f"/api/v1/tickets/{number}/actions", json={"actor": "staff:li", **body}, headers=auth
    )
    return response.status_code, response.json()


def pending(client: TestClient, auth: dict[str, str], channel: str = "webchat") -> list[dict]:
    response = client.get(f"/api/v1/notifications?channel={channel}", headers=auth)
    assert response.status_code == 200
    return list(response.json()["items"])


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_full_life_cycle_is_audited_and_told(client: TestClient, auth: dict[str, str]) -> None:
    ticket = file_ticket(
        client, auth, category="environmental_protection", subcategory="waste_sanitation"
    )
    number = ticket["number"]
    assert ticket["tier"] == "grid"  # from the taxonomy: small matters stay in the grid

    code, body = act(client, auth, number, action="dispatch")
    assert code == 200 and body["status"] == "dispatched"
    assert "网格员" in body["assigned_to"]
    code, body = act(client, auth, number, action="reply", text="已安排疏通")
    assert code == 200 and body["status"] == "dispatched"
    code, body = act(client, auth, number, action="close", text="下水道已疏通")
    assert code == 200 and body["status"] == "closed" and body["resolution"] == "下水道已疏通"

    kinds = [e["kind"] for e in body["events"]]
    assert kinds == ["created", "dispatched", "replied", "closed"]
    assert body["events"][1]["data"] == {
        "from": "submitted",
        "to": "dispatched",
        "dispatch_to": "grid",
        "assigned_to": body["assigned_to"],
        "note": "",
    }
    notes = pending(client, auth)
    assert [n["kind"] for n in notes] == ["status", "reply", "satisfaction"]
    assert all(n["conversation_id"] == "web-abc12345" for n in notes)
    assert "已安排疏通" in notes[1]["text"]
    payloads = [b["payload"] for b in notes[2]["buttons"]]
    assert len(payloads) == 4 and payloads[0].startswith("/rate_service{")
    assert pending(client, auth, "telegram") == []


def test_unresolved_rating_reopens(client: TestClient, auth: dict[str, str]) -> None:
    number = file_ticket(client, auth)["number"]
    act(client, auth, number, action="dispatch")
    act(client, auth, number, action="close", text="已处理")
    code, body = act(client, auth, number, action="rate", rating="unresolved", actor="resident")
    assert code == 200 and body["status"] == "reopened" and body["rating"] == "unresolved"
    assert body["events"][-1]["data"]["to"] == "reopened"
    code, body = act(client, auth, number, action="dispatch")
    assert code == 200 and body["status"] == "dispatched"


def test_illegal_transitions_and_bad_fields_are_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    number = file_ticket(client, auth)["number"]
    code, body = act(client, auth, number, action="close", text="x")
    assert code == 409 and "不能执行「办结」" in body["detail"]
    code, body = act(client, auth, number, action="reply", text="   ")
    assert code == 422 and body["detail"] == "请填写答复内容"
    code, body = act(client, auth, number, action="reject", reason="boring")
    assert code == 422
    code, body = act(client, auth, number, action="fly")
    assert code == 422
    code, body = act(client, auth, number, action="correct", category="no_such")
    assert code == 422 and "未知的分类" in body["detail"]
    code, body = act(client, auth, number, action="merge", merge_into=number)
    assert code == 422
    response = client.post("/api/v1/tickets/123/actions", json={"action": "start"}, headers=auth)
    assert response.status_code == 422
    detail = client.get(f"/api/v1/tickets/{number}", headers=auth).json()
    assert [e["kind"] for e in detail["events"]] == ["created"]


def test_stale_version_is_a_conflict(client: TestClient, auth: dict[str, str]) -> None:
    ticket = file_ticket(client, auth)
    number, version = ticket["number"], ticket["version"]
    code, _ = act(client, auth, number, action="reply", text="第一位坐席", version=version)
    assert code == 200
    code, body = act(client, auth, number, action="reply", text="第二位坐席", version=version)
    assert code == 409 and "已被他人修改" in body["detail"]


def test_correction_becomes_a_training_example(client: TestClient, auth: dict[str, str]) -> None:
    number = file_ticket(
        client, auth, transcript=[{"role": "resident", "text": "楼下烧烤店油烟太大了"}]
    )["number"]
    code, body = act(client, auth, number, action="correct", category="environmental_protection")
    assert code == 200 and body["category"] == "environmental_protection"
    assert body["department"] != "住房和城乡建设局"
    examples = client.get("/api/v1/training-examples?source=correction", headers=auth).json()
    assert examples["total"] == 1
    example = examples["items"][0]
    assert example["text"] == "楼下烧烤店油烟太大了"
    assert example["intent"] == "report_environmental_protection"
    assert example["predicted_intent"] == "report_urban_construction"
    assert example["ticket_number"] == number and example["created_by"] == "staff:li"


def test_escalate_merge_reject(client: TestClient, auth: dict[str, str]) -> None:
    first = file_ticket(client, auth, category="disputes")["number"]
    second = file_ticket(client, auth, submission_key="web-abc12345-0002")["number"]
    third = file_ticket(client, auth, submission_key="web-abc12345-0003")["number"]
    code, body = act(client, auth, first, action="escalate", text="需社区协调")
    assert code == 200 and body["tier"] == "community"
    code, body = act(client, auth, second, action="merge", merge_into=first)
    assert code == 200 and body["status"] == "merged" and body["merged_into"] == first
    target = client.get(f"/api/v1/tickets/{first}", headers=auth).json()
    assert target["events"][-1]["kind"] == "merged_from"
    code, body = act(client, auth, third, action="reject", reason="out_of_scope", text="属法院")
    assert code == 200 and body["status"] == "rejected"
    texts = [n["text"] for n in pending(client, auth)]
    assert any(f"与同一问题的工单 {first} 合并办理" in t for t in texts)
    assert any("不属于受理范围" in t for t in texts)


def test_notifications_are_acknowledged_once(client: TestClient, auth: dict[str, str]) -> None:
    number = file_ticket(client, auth, channel="telegram", conversation_id="tg-42")["number"]
    act(client, auth, number, action="reply", text="收到")
    [note] = pending(client, auth, "telegram")
    for _ in range(2):
        response = client.post(f"/api/v1/notifications/{note['id']}/delivered", headers=auth)
        assert response.status_code == 200 and response.json()["status"] == "delivered"
    assert pending(client, auth, "telegram") == []
    assert client.post("/api/v1/notifications/999/delivered", headers=auth).status_code == 404


def test_photo_uploaded_before_filing_joins_the_ticket(
    client: TestClient, auth: dict[str, str], session: Session
) -> None:
    upload = client.post(
        "/api/v1/attachments",
        data={"conversation_id": "web-abc12345", "channel": "webchat"},
        files={"file": ("p.jpg", jpeg_bytes(), "application/octet-stream")},
        headers=auth,
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["content_type"] == "image/jpeg"
    ticket = file_ticket(client, auth)
    assert [a["id"] for a in ticket["attachments"]] == [upload.json()["id"]]
    assert ticket["events"][-1]["kind"] == "attachments_linked"
    # Public reads show no photos; an Open311 client with a key gets an unguessable link.
    [public] = client.get(f"/open311/v2/requests/{ticket['number']}.json").json()
    assert public.get("media_url") is None
    _, key = apikeys.create_key(session=session, name="city-app", actor="test")
    session.commit()
    [request] = client.get(
        f"/open311/v2/requests/{ticket['number']}.json", params={"api_key": key}
    ).json()
    assert re.search(
        rf"/open311/v2/media/{upload.json()['id']}-[0-9a-f]{{32}}$", request["media_url"]
    )
    media = client.get(request["media_url"])
    assert media.status_code == 200 and media.content == jpeg_bytes()
    assert media.headers["content-type"] == "image/jpeg"


def test_bad_uploads_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    form = {"conversation_id": "web-x", "channel": "webchat"}
    not_image = client.post(
        "/api/v1/attachments",
        data=form,
        files={"file": ("a.jpg", b"<script>alert(1)</script>", "image/jpeg")},
        headers=auth,
    )
    assert not_image.status_code == 415 and "JPEG" in not_image.json()["detail"]
    too_big = client.post(
        "/api/v1/attachments",
        data=form,
        files={"file": ("a.jpg", b"\xff" * (10 * 1024 * 1024 + 1), "image/jpeg")},
        headers=auth,
    )
    assert too_big.status_code == 413
    no_auth = client.post("/api/v1/attachments", data=form, files={"file": ("a", b"x")})
    assert no_auth.status_code == 401
    unlinked = client.post(
        "/api/v1/attachments",
        data=form,
        files={"file": ("p.jpg", jpeg_bytes(), "image/jpeg")},
        headers=auth,
    ).json()
    assert client.get(f"/open311/v2/media/{unlinked['id']}").status_code == 404


def test_rating_a_resolved_ticket_closes_it(client: TestClient, auth: dict[str, str]) -> None:
    number = file_ticket(client, auth)["number"]
    act(client, auth, number, action="dispatch")
    code, body = act(client, auth, number, action="resolve", text="已修复")
    assert code == 200 and body["status"] == "resolved"
    code, body = act(client, auth, number, action="rate", rating="satisfied", actor="resident")
    assert code == 200 and body["status"] == "closed" and body["rating"] == "satisfied"
    assert body["events"][-1]["data"]["to"] == "closed"
    code, _ = act(client, auth, number, action="rate", rating="satisfied", actor="resident")
    assert code == 200  # a closed ticket may be rated again (the resident changes their mind)


def test_an_unclassified_ticket_is_classified_by_staff_before_dispatch(
    client: TestClient, auth: dict[str, str]
) -> None:
    ticket = file_ticket(client, auth, category="unclassified")
    assert ticket["category_name"] == "待分类" and ticket["department"] == "热线受理中心（待分类）"
    number = ticket["number"]
    code, body = act(client, auth, number, action="dispatch", dispatch_to="department")
    assert code == 422 and "待分类" in body["detail"]
    code, body = act(client, auth, number, action="correct", category="public_safety")
    assert code == 200 and body["category_name"] == "公共安全"
    code, body = act(client, auth, number, action="dispatch", dispatch_to="department")
    assert code == 200 and body["status"] == "dispatched"
    with_sub = client.post(
        "/api/v1/tickets",
        json={
            **draft_body(submission_key="web-unclassified-2"),
            "category": "unclassified",
            "subcategory": "noise_pollution",
        },  # fmt: skip
        headers=auth,
    )
    assert with_sub.status_code == 422


def test_correcting_keeps_a_grid(client: TestClient, auth: dict[str, str]) -> None:
    """An empty grid would hide the ticket from its grid worker; it is refused."""
    number = file_ticket(client, auth)["number"]
    code, body = act(client, auth, number, action="correct", grid_code="")
    assert code == 422 and "网格不能改为待定" in body["detail"]
    assert client.get(f"/api/v1/tickets/{number}", headers=auth).json()["grid_code"] == GRID
    code, body = act(client, auth, number, action="correct", grid_code="510107001001002")
    assert code == 200 and body["grid_code"] == "510107001001002"
    without = file_ticket(client, auth, submission_key="web-abc12345-0002", grid_code=None)
    code, body = act(client, auth, without["number"], action="correct", grid_code="",
                     category="environmental_protection")  # fmt: skip
    assert code == 200 and body["grid_code"] is None  # nothing to keep: "" changes nothing


def test_a_merge_target_must_be_within_the_actors_grids(
    client: TestClient, auth: dict[str, str], session: Session, taxonomy: Taxonomy
) -> None:
    mine = file_ticket(client, auth)["number"]
    theirs = file_ticket(
        client, auth, submission_key="web-abc12345-0002", grid_code="510107001001002"
    )["number"]
    registry = load_registry(ROOT / "data" / "grids")
    ctx = lifecycle.Context(
        session=session, taxonomy=taxonomy, registry=registry, grid_scope=(GRID,)
    )
    ticket = get_ticket(session=session, number=mine)
    assert ticket is not None
    action = TicketAction(action="merge", actor="grid_worker:wang", merge_into=theirs)
    with pytest.raises(lifecycle.ActionInputError) as refused:
        lifecycle.apply_action(ctx, ticket, action)
    missing = TicketAction(action="merge", actor="grid_worker:wang", merge_into="2026010100999")
    with pytest.raises(lifecycle.ActionInputError) as unknown:
        lifecycle.apply_action(ctx, ticket, missing)
    assert str(refused.value).replace(theirs, "N") == str(unknown.value).replace(
        "2026010100999", "N"
    )  # the same answer as a number that does not exist
    session.rollback()
    everywhere = lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry)
    ticket = get_ticket(session=session, number=mine)
    assert ticket is not None
    assert lifecycle.apply_action(everywhere, ticket, action).status == "merged"


def test_the_unit_a_dispatch_option_names_is_the_one_told_and_shown(
    client: TestClient, auth: dict[str, str], session: Session, taxonomy: Taxonomy
) -> None:
    """A street-tier matter "sent to the grid" goes to the street: every place says so."""
    number = file_ticket(
        client, auth, subcategory="municipal_facilities", grid_code="510107001001004"
    )["number"]
    registry = load_registry(ROOT / "data" / "grids")
    ctx = lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry)
    ticket = get_ticket(session=session, number=number)
    assert ticket is not None and ticket.tier == "street" and ticket.department == "城市管理局"
    choices = lifecycle.dispatch_choices(ctx, ticket)
    assert choices == {
        "grid": ("街道（乡镇）", "玉林街道"),
        "department": ("职能部门", "城市管理局"),
    }
    assert lifecycle.current_handler(ticket) == "城市管理局"  # not dispatched yet
    lifecycle.apply_action(ctx, ticket, TicketAction(action="dispatch", actor="staff:li"))
    assert ticket.assigned_to == lifecycle.current_handler(ticket) == "玉林街道"
    session.commit()
    told = pending(client, auth)[-1]["text"]
    assert "已派单至 玉林街道 办理" in told
    lifecycle.apply_action(ctx, ticket, TicketAction(action="start", actor="staff:li"))
    lifecycle.apply_action(
        ctx, ticket, TicketAction(action="escalate", actor="staff:li", text="需区级协调")
    )
    assert ticket.tier == "district" and lifecycle.current_handler(ticket) == "武侯区"


def test_a_correction_that_moves_the_deadline_tells_the_resident(
    client: TestClient, auth: dict[str, str]
) -> None:
    """The resident was promised a date when the ticket was filed; if a correction moves it,
    they are told the new one (and staff see the change in the history)."""
    ticket = file_ticket(client, auth, subcategory="municipal_facilities")  # 3 working days
    number = ticket["number"]
    before = len(pending(client, auth))
    code, body = act(
        client, auth, number, action="correct", category="urban_construction",
        subcategory="housing_quality",
    )  # fmt: skip
    assert code == 200, body  # 10 working days: a later date
    [note] = pending(client, auth)[before:]
    assert note["text"].startswith(f"【工单 {number}】") and "答复期限调整为" in note["text"]
    assert "「城乡建设（房屋质量）」" in note["text"] and "住房和城乡建设局" in note["text"]
    [event] = [e for e in body["events"] if e["kind"] == "corrected"]
    assert event["data"]["due_at"]["from"] != event["data"]["due_at"]["to"]
    assert event["data"]["due_at"]["to"] in note["text"]
    # A correction that keeps the deadline (the grid only) says nothing to the resident.
    code, body = act(client, auth, number, action="correct", grid_code="510107001001004")
    assert code == 200 and len(pending(client, auth)) == before + 1


def test_the_result_reaches_the_resident_once(client: TestClient, auth: dict[str, str]) -> None:
    """办理完成 sends the result; closing afterwards asks for the rating without sending the
    same result again (a walk-through found it twice), but a changed result is sent."""
    number = file_ticket(client, auth)["number"]
    before = len(pending(client, auth))
    for body in (
        {"action": "dispatch", "dispatch_to": "grid"},
        {"action": "start"},
        {"action": "resolve", "text": "已疏通下水道"},
        {"action": "close"},
    ):
        code, detail = act(client, auth, number, **body)
        assert code == 200, detail
    texts = [n["text"] for n in pending(client, auth)[before:]]
    assert sum("已疏通下水道" in t for t in texts) == 1, texts
    assert "请您对本次办理进行评价" in texts[-1]

    other = file_ticket(client, auth, submission_key="web-abc12345-0002")["number"]
    for body in (
        {"action": "dispatch", "dispatch_to": "grid"},
        {"action": "resolve", "text": "已安排疏通"},
        {"action": "close", "text": "已疏通，并清理了路面"},
    ):
        code, detail = act(client, auth, other, **body)
        assert code == 200, detail
    assert "办理结果：已疏通，并清理了路面" in pending(client, auth)[-1]["text"]
