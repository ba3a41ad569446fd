"""The hotline's own steps on a ticket: 转办, 退回, 延期, 催办, 督办 and 回访 (through the API)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from core.clock import LOCAL_TZ, add_working_days
from tests.casestore.test_lifecycle import act, file_ticket, pending

OTHER_UNIT = "城市管理局"


def dispatched(client: TestClient, auth: dict[str, str]) -> dict:
    ticket = file_ticket(client, auth)
    code, body = act(client, auth, ticket["number"], action="dispatch", dispatch_to="department")
    assert code == 200 and body["status"] == "dispatched", body
    return body


def local_day(value: str) -> str:
    day = datetime.fromisoformat(value).astimezone(LOCAL_TZ)
    return f"{day.year}年{day.month}月{day.day}日"


def test_a_transfer_moves_the_ticket_to_the_new_unit_and_tells_the_resident(
    client: TestClient, auth: dict[str, str]
) -> None:
    ticket = dispatched(client, auth)
    number, before = ticket["number"], ticket["assigned_to"]
    assert before != OTHER_UNIT
    code, body = act(client, auth, number, action="transfer", department=OTHER_UNIT)
    assert code == 422 and "转办原因" in body["detail"]
    code, body = act(client, auth, number, action="transfer", department="月球管理局", text="x")
    assert code == 422 and "承办单位" in body["detail"]
    code, body = act(client, auth, number, action="transfer", department=before, text="x")
    assert code == 422 and "已由" in body["detail"]
    code, body = act(
        client, auth, number, action="transfer", department=OTHER_UNIT, text="路灯由城管负责"
    )
    assert code == 200 and body["status"] == "dispatched"
    assert body["assigned_to"] == OTHER_UNIT and body["department"] == OTHER_UNIT
    assert body["due_at"] == ticket["due_at"]  # the resident's deadline stays
    event = body["events"][-1]
    assert event["kind"] == "transferred" and event["data"] == {
        "from_unit": before, "to_unit": OTHER_UNIT, "reason": "路灯由城管负责"}  # fmt: skip
    assert f"已转至 {OTHER_UNIT} 办理" in pending(client, auth)[-1]["text"]


def test_a_returned_ticket_goes_back_to_the_dispatcher_with_its_reason(
    client: TestClient, auth: dict[str, str]
) -> None:
    ticket = dispatched(client, auth)
    number = ticket["number"]
    code, body = act(client, auth, number, action="return")
    assert code == 422 and "退回原因" in body["detail"]
    code, body = act(client, auth, number, action="return", text="不属于本单位职责")
    assert code == 200 and body["status"] == "returned" and body["assigned_to"] is None
    assert body["status_label"] == "已退回，待重新派单"
    assert body["events"][-1]["data"] == {
        "from": "dispatched", "to": "returned", "from_unit": ticket["assigned_to"],
        "reason": "不属于本单位职责"}  # fmt: skip
    assert "已退回热线重新派单" in pending(client, auth)[-1]["text"]
    code, body = act(client, auth, number, action="return", text="再退一次")
    assert code == 409  # already back with the dispatcher
    queue = client.get("/api/v1/tickets", params={"status": "returned"}, headers=auth).json()
    assert [t["number"] for t in queue["items"]] == [number]
    code, body = act(client, auth, number, action="dispatch", dispatch_to="grid")
    assert code == 200 and body["status"] == "dispatched"


def test_an_extension_is_requested_then_approved_or_denied_and_the_resident_hears_of_it(
    client: TestClient, auth: dict[str, str]
) -> None:
    ticket = dispatched(client, auth)
    number, due = ticket["number"], ticket["due_at"]
    code, body = act(client, auth, number, action="approve_extension")
    assert code == 409 and "没有待审批的延期申请" in body["detail"]
    code, body = act(client, auth, number, action="request_extension", text="需要采购")
    assert code == 422 and "延期天数" in body["detail"]
    code, body = act(client, auth, number, action="request_extension", days=31, text="x")
    assert code == 422
    code, body = act(client, auth, number, action="request_extension", days=3, text="需要采购")
    assert code == 200 and body["extension_days"] == 3 and body["extension_reason"] == "需要采购"
    assert body["due_at"] == due  # nothing moves before it is approved
    code, body = act(client, auth, number, action="request_extension", days=2, text="再申请")
    assert code == 409 and "已有延期申请" in body["detail"]
    told = len(pending(client, auth))
    code, body = act(client, auth, number, action="deny_extension")
    assert code == 422 and "理由" in body["detail"]
    code, body = act(client, auth, number, action="deny_extension", text="可先临时处置")
    assert code == 200 and body["extension_days"] is None and body["due_at"] == due
    assert len(pending(client, auth)) == told  # a refusal is between the units

    act(client, auth, number, action="request_extension", days=3, text="灯具到货需要时间")
    code, body = act(client, auth, number, action="approve_extension", text="同意")
    expected = add_working_days(datetime.fromisoformat(due), 3)
    assert code == 200 and datetime.fromisoformat(body["due_at"]) == expected
    assert body["extension_days"] is None
    event = body["events"][-1]
    assert event["kind"] == "extension_approved" and event["data"]["days"] == 3
    assert event["data"]["due_at"] == {"from": local_day(due), "to": local_day(body["due_at"])}
    assert f"答复期限延至 {local_day(body['due_at'])}" in pending(client, auth)[-1]["text"]


def test_urges_are_counted_and_supervision_is_set_once(
    client: TestClient, auth: dict[str, str]
) -> None:
    number = dispatched(client, auth)["number"]
    act(client, auth, number, action="urge")
    code, body = act(client, auth, number, action="urge", text="市民第三次来电")
    assert code == 200 and body["urge_count"] == 2
    assert body["events"][-1]["data"]["urges"] == 2
    code, body = act(client, auth, number, action="supervise")
    assert code == 422 and "督办要求" in body["detail"]
    code, body = act(client, auth, number, action="supervise", text="限三日内办结")
    assert code == 200 and body["supervised"] is True
    code, body = act(client, auth, number, action="supervise", text="再督办")
    assert code == 409 and "已在督办中" in body["detail"]
    act(client, auth, number, action="close", text="已处理")
    code, body = act(client, auth, number, action="urge")
    assert code == 409  # nothing left to urge


def test_a_follow_up_call_rates_the_ticket_or_notes_that_nobody_answered(
    client: TestClient, auth: dict[str, str]
) -> None:
    number = dispatched(client, auth)["number"]
    code, body = act(client, auth, number, action="follow_up", rating="satisfied")
    assert code == 409  # not done yet: nothing to follow up
    act(client, auth, number, action="resolve", text="已修复")
    code, body = act(client, auth, number, action="follow_up", rating="maybe")
    assert code == 422 and "未联系上" in body["detail"]
    code, body = act(client, auth, number, action="follow_up", rating="unreached", text="无人接")
    assert code == 200 and body["status"] == "resolved" and body["rating"] is None
    code, body = act(client, auth, number, action="follow_up", rating="basically_satisfied")
    assert code == 200 and body["status"] == "closed" and body["rating"] == "basically_satisfied"
    code, body = act(client, auth, number, action="follow_up", rating="unresolved", text="又坏了")
    assert code == 200 and body["status"] == "reopened" and body["rating"] == "unresolved"
    results = [e["data"].get("result") for e in body["events"] if e["kind"] == "followed_up"]
    assert results == ["unreached", "basically_satisfied", "unresolved"]
