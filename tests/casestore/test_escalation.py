"""The escalation job (casestore/services/escalation.py): one reminder before a step's deadline,
then automatic escalation up the tier chain, each tier's people told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role
from casestore.models import Notification, StaffNotice, Ticket
from casestore.schemas import TicketAction
from casestore.services import escalation, lifecycle
from casestore.services.lifecycle import Context
from cli import analytics
from core.clock import add_working_days
from core.taxonomy import Taxonomy
from grids.registry import Registry
from tests.casestore import test_fieldwork as field
from tests.casestore.test_fieldwork import GRID, RESIDENT_TG, WORKER_TG, resident_ticket, user

ctx, registry = field.ctx, field.registry  # the field tests' fixtures

COMMUNITY = "510107001001"  # 黉门街社区
STREET = "510107001"  # 玉林街道


def dispatched(ctx: Context) -> Ticket:
    ticket = resident_ticket(ctx)
    lifecycle.apply_action(ctx, ticket, TicketAction(action="dispatch", actor="staff:li"))
    return ticket


def telegram(session: Session, conversation: str, kind: str) -> list[Notification]:
    query = select(Notification).where(
        Notification.conversation_id == conversation, Notification.kind == kind
    )
    return list(session.scalars(query.order_by(Notification.id)))


def staff(session: Session, name: str, unit: str, telegram_id: int | None = None) -> None:
    made = user(session, name, Role.STAFF, [], telegram_id)
    made.unit_code = unit


def test_one_reminder_in_the_last_quarter_of_the_step(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    ticket = dispatched(ctx)
    due = ticket.step_due_at
    assert due is not None
    started = ticket.events[-1].created_at
    quarter = (due - started) / 4
    early = escalation.run(ctx, due - quarter - timedelta(minutes=5))
    assert early == escalation.EscalationResult(reminded=0, escalated=0)
    assert ticket.reminded_at is None

    late = due - quarter + timedelta(minutes=5)
    assert escalation.run(ctx, late) == escalation.EscalationResult(reminded=1, escalated=0)
    assert ticket.reminded_at == late and ticket.events[-1].kind == "remind"
    assert ticket.events[-1].actor == "system"
    reminders = telegram(ctx.session, f"tg-{WORKER_TG}", "reminder")
    assert len(reminders) == 1 and reminders[0].text.startswith("【即将超期】")
    assert ticket.number in reminders[0].text
    assert reminders[0].buttons[0]["payload"] == f"/task accept {ticket.number}"
    assert escalation.run(ctx, late + timedelta(minutes=1)).reminded == 0  # once per step
    assert ticket.tier == "grid"


def test_past_the_deadline_it_climbs_one_tier_and_tells_the_new_tier(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    staff(ctx.session, "shequ", COMMUNITY, 8001)
    staff(ctx.session, "shequ2", COMMUNITY)
    staff(ctx.session, "jiedao", STREET, 8002)
    ticket = dispatched(ctx)
    assert ticket.step_due_at is not None
    now = ticket.step_due_at + timedelta(minutes=1)
    assert escalation.run(ctx, now) == escalation.EscalationResult(reminded=0, escalated=1)
    assert (ticket.tier, ticket.assigned_to, ticket.status) == (
        "community", "黉门街社区", "dispatched",
    )  # fmt: skip
    assert ticket.step_due_at == add_working_days(now, lifecycle.sla_days(ctx, ticket))
    event = ticket.events[-1]
    assert (event.kind, event.actor) == ("auto_escalate", "system")
    assert (event.data["from_tier"], event.data["to_tier"]) == ("grid", "community")
    notices = ctx.session.scalars(select(StaffNotice).order_by(StaffNotice.id)).all()
    assert len(notices) == 2 and notices[0].link == f"/tickets/{ticket.number}"
    assert "已自动上报至社区（村）" in notices[0].text
    assert len(telegram(ctx.session, "tg-8001", "escalated")) == 1
    assert telegram(ctx.session, "tg-8002", "escalated") == []  # the street: not yet
    assert telegram(ctx.session, f"tg-{RESIDENT_TG}", "escalated") == []

    again = ticket.step_due_at + timedelta(minutes=1)
    assert escalation.run(ctx, again).escalated == 1
    assert ticket.tier == "street" and len(telegram(ctx.session, "tg-8002", "escalated")) == 1
    escalation.run(ctx, ticket.step_due_at + timedelta(minutes=1))
    assert ticket.tier == "district"
    assert escalation.run(ctx, ticket.step_due_at + timedelta(days=30)).escalated == 0
    kinds = [e.kind for e in ticket.events].count("auto_escalate")
    assert kinds == 3


def test_finished_and_department_tickets_are_left_alone(ctx: Context) -> None:
    done = dispatched(ctx)
    lifecycle.apply_action(ctx, done, TicketAction(action="close", actor="staff:li", text="好了"))
    department = resident_ticket(ctx, 2)
    lifecycle.apply_action(ctx, department, TicketAction(action="dispatch", actor="staff:li",
                                                         dispatch_to="department"))  # fmt: skip
    assert department.step_due_at is None
    far = done.due_at + timedelta(days=60)
    assert escalation.run(ctx, far) == escalation.EscalationResult(reminded=0, escalated=0)
    assert (done.tier, department.tier) == ("grid", "grid")


@pytest.mark.parametrize("step", ["escalate", "coordinate"])
def test_a_move_up_by_hand_starts_a_new_step(ctx: Context, step: str) -> None:
    ticket = dispatched(ctx)
    ticket.reminded_at = ticket.created_at
    lifecycle.apply_action(ctx, ticket, TicketAction(action=step, actor="staff:li", text="需协调"))
    assert ticket.reminded_at is None and ticket.step_due_at is not None
    assert ticket.step_due_at > ticket.events[-1].created_at + timedelta(days=1)


def test_an_approved_extension_moves_the_steps_deadline_too(ctx: Context) -> None:
    ticket = dispatched(ctx)
    step_due, due = ticket.step_due_at, ticket.due_at
    assert step_due is not None
    ticket.reminded_at = ticket.created_at
    ask = TicketAction(action="request_extension", actor="grid_worker:z", days=3, text="等材料")
    lifecycle.apply_action(ctx, ticket, ask)
    lifecycle.apply_action(ctx, ticket, TicketAction(action="approve_extension", actor="admin:a"))
    assert ticket.step_due_at == add_working_days(step_due, 3)
    assert ticket.due_at == add_working_days(due, 3) and ticket.reminded_at is None
    assert escalation.run(ctx, step_due + timedelta(minutes=1)).escalated == 0


def test_the_analytics_round_runs_the_job(
    session: Session, taxonomy: Taxonomy, registry: Registry, ctx: Context
) -> None:
    ticket = dispatched(ctx)
    assert ticket.step_due_at is not None
    ticket.step_due_at = ticket.created_at  # overdue now
    session.flush()
    result = analytics.escalate(session, registry, taxonomy)
    assert result.escalated == 1 and ticket.tier == "community"
