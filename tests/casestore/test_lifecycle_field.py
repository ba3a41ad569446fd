"""The grid worker's steps in the life cycle (casestore/services/lifecycle.py): 接单, 已到场,
需要协调 as actions of the API, the step deadline of a dispatch, the dispatch hooks."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from accounts.models import Role
from casestore.models import Ticket
from casestore.schemas import TicketAction
from casestore.services import lifecycle
from casestore.services.lifecycle import Context
from console.staff.roles import ROLES
from core import labels
from core.clock import add_working_days, utcnow
from tests.casestore import test_fieldwork as field
from tests.casestore.test_fieldwork import resident_ticket
from tests.casestore.test_lifecycle import act, file_ticket, pending

ctx, registry = field.ctx, field.registry  # the field tests' fixtures


def grid_ticket(client: TestClient, auth: dict[str, str]) -> str:
    body = file_ticket(
        client, auth, category="environmental_protection", subcategory="waste_sanitation"
    )
    return str(body["number"])


def test_accept_arrive_and_coordinate_are_told_to_the_resident(
    client: TestClient, auth: dict[str, str]
) -> None:
    number = grid_ticket(client, auth)
    code, body = act(client, auth, number, action="accept")
    assert code == 409 and "不能执行「接单」" in body["detail"]  # not dispatched yet
    code, body = act(client, auth, number, action="dispatch")
    assert code == 200
    code, body = act(client, auth, number, action="accept", actor="grid_worker:zhangli")
    assert code == 200 and body["status"] == "in_progress"
    code, body = act(client, auth, number, action="arrive", actor="grid_worker:zhangli")
    assert code == 200 and body["status"] == "in_progress"
    code, body = act(client, auth, number, action="coordinate", actor="grid_worker:zhangli")
    assert code == 422 and body["detail"] == "请填写需要协调的原因"
    code, body = act(client, auth, number, action="coordinate", text="需要社区协调物业")
    assert code == 200 and body["tier"] == "community" and body["assigned_to"] == "黉门街社区"
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[-3:] == ["accepted", "arrived", "coordination_requested"]
    assert body["events"][-1]["data"] == {
        "from_tier": "grid",
        "to_tier": "community",
        "reason": "需要社区协调物业",
    }
    texts = [n["text"] for n in pending(client, auth)]
    assert any("网格员已接单" in t for t in texts)
    assert any("网格员已到达现场" in t for t in texts)
    assert "需要社区（村）协调处理" in texts[-1] and "黉门街社区" in texts[-1]


def test_the_new_actions_have_labels_and_grid_workers_may_take_them() -> None:
    for action, event in [("accept", "accepted"), ("arrive", "arrived"),
                          ("coordinate", "coordination_requested")]:  # fmt: skip
        assert labels.ACTION_EVENT[action] == event
        assert labels.EVENT[event] == labels.ACTION[action]
        assert action in ROLES[Role.GRID_WORKER].actions and action in ROLES[Role.STAFF].actions
    assert [labels.ACTION[a] for a in ("accept", "arrive", "coordinate")] == [
        "接单", "已到场", "需要协调",
    ]  # fmt: skip
    assert {"remind", "auto_escalate", "field_report"} <= set(labels.EVENT)
    assert ROLES[Role.VOLUNTEER].actions == frozenset()


def test_a_dispatch_to_the_grid_starts_a_step_a_dispatch_to_a_department_does_not(
    ctx: Context,
) -> None:
    grid = resident_ticket(ctx, 1)
    grid.reminded_at = grid.created_at
    before = utcnow()
    lifecycle.apply_action(ctx, grid, TicketAction(action="dispatch", actor="staff:li"))
    after = utcnow()
    assert lifecycle.sla_days(ctx, grid) == 2  # 垃圾清运与环境卫生
    assert grid.reminded_at is None and grid.step_due_at is not None
    assert add_working_days(before, 2) <= grid.step_due_at <= add_working_days(after, 2)
    department = resident_ticket(ctx, 2)
    lifecycle.apply_action(ctx, department, TicketAction(action="dispatch", actor="staff:li",
                                                         dispatch_to="department"))  # fmt: skip
    assert department.step_due_at is None


def test_dispatch_hooks_run_once_each_for_grid_dispatches_only(
    client: TestClient, auth: dict[str, str], monkeypatch: Any
) -> None:
    seen: list[tuple[str, str | None]] = []

    def hook(ctx: Context, ticket: Ticket) -> None:
        seen.append((ticket.number, ticket.step_due_at and "set"))

    monkeypatch.setattr(lifecycle, "_dispatch_hooks", [])
    assert lifecycle.on_dispatch(hook) is hook
    lifecycle.on_dispatch(hook)
    assert lifecycle._dispatch_hooks == [hook]
    number = grid_ticket(client, auth)
    act(client, auth, number, action="dispatch")
    assert seen == [(number, "set")]
    second = file_ticket(
        client, auth, submission_key="web-abc12345-0002",
        category="environmental_protection", subcategory="waste_sanitation",
    )["number"]  # fmt: skip
    act(client, auth, second, action="dispatch", dispatch_to="department")
    street = file_ticket(client, auth, submission_key="web-abc12345-0003")["number"]
    act(client, auth, street, action="dispatch")  # 城乡建设: tier street, not the grid's worker
    assert seen == [(number, "set")]
