"""Overdue steps (超期): remind the handler once, then escalate up the tier chain by itself.

A dispatched or in-progress ticket on the tier chain has the deadline of its current step
(``Ticket.step_due_at``: set on dispatch to a grid and on each move up, the taxonomy's SLA in
working days from then). Every run (``petition analytics watch``, each minute):

* **remind** (超期提醒) — when less than a quarter of the step's time is left, once per step
  (``reminded_at``): a Telegram message to the linked handlers of the tier (the grid's
  workers, with the task's buttons; the unit's staff above the grid) and an event ``remind``;
* **escalate** (超期自动上报) — past ``step_due_at``, one tier up (grid → community → street →
  district) by the system: the new tier's unit handles it, the next step's deadline is the SLA
  again from now, an event ``auto_escalate``; the new tier's staff get a console notice
  (``StaffNotice``) and, when linked, a Telegram message. A ticket at the district tier has
  nowhere to go: it stays overdue for the console's SLA colours.

The step's time is measured from the event that started it (dispatch, 上报, 需要协调, an
automatic escalation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from casestore.models import StaffNotice, Ticket, TicketEvent
from casestore.services import fieldwork, lifecycle
from casestore.services.lifecycle import Context
from core import labels
from core.clock import LOCAL_TZ, add_working_days, utcnow

SYSTEM = "system"
TASK_STATUSES = ("dispatched", "in_progress")
# The events that start a step (its time is counted from the latest).
STEP_EVENTS = (
    labels.ACTION_EVENT["dispatch"],
    labels.ACTION_EVENT["escalate"],
    labels.ACTION_EVENT["coordinate"],
    "auto_escalate",
)
REMIND_SHARE = 0.25  # remind when less than this share of the step's time is left
BATCH = 500  # tickets per run and kind (the rest wait a minute)


@dataclass(frozen=True)
class EscalationResult:
    reminded: int
    escalated: int


def _local(moment: datetime) -> str:
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _step_starts(ctx: Context, ticket_ids: list[int]) -> dict[int, datetime]:
    if not ticket_ids:
        return {}
    rows = ctx.session.execute(
        select(TicketEvent.ticket_id, func.max(TicketEvent.created_at))
        .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.kind.in_(STEP_EVENTS))
        .group_by(TicketEvent.ticket_id)
    )
    return {int(ticket_id): started for ticket_id, started in rows}


def _longest_step(ctx: Context, now: datetime) -> timedelta:
    days = [c.sla_days for c in ctx.taxonomy.categories]
    days += [s.sla_days for c in ctx.taxonomy.categories for s in c.subcategories]
    return add_working_days(now, max(days, default=5)) - now


def remind(ctx: Context, ticket: Ticket, now: datetime) -> int:
    """The one reminder of the step: to the linked handlers, and the event; how many sent."""
    assert ticket.step_due_at is not None
    due = _local(ticket.step_due_at)
    text = (
        f"【即将超期】工单 {ticket.number} 本级办理期限为 {due}，请尽快处理；"
        "逾期未办结将自动上报上一级。\n" + fieldwork.task_text(ctx, ticket)
    )
    buttons = fieldwork.task_buttons(ticket) if ticket.tier == "grid" else []
    sent = 0
    for user in fieldwork.handlers(ctx, ticket):
        if fieldwork.send_telegram(ctx, ticket, user, "reminder", text, buttons) is not None:
            sent += 1
    ticket.reminded_at = now
    lifecycle.record_event(
        ticket, "remind", SYSTEM, {"step_due_at": due, "assigned_to": ticket.assigned_to}
    )
    return sent


def escalate(ctx: Context, ticket: Ticket, now: datetime) -> None:
    """Up one tier by the system, and the new tier's people told."""
    overdue = _local(ticket.step_due_at) if ticket.step_due_at else ""
    data = lifecycle.move_up(ctx, ticket)
    ticket.step_due_at = add_working_days(now, lifecycle.sla_days(ctx, ticket))
    lifecycle.record_event(
        ticket,
        "auto_escalate",
        SYSTEM,
        {**data, "assigned_to": ticket.assigned_to,
         "reason": f"本级办理期限 {overdue} 已过，系统自动上报"},
    )  # fmt: skip
    tier = labels.label(labels.TIER, ticket.tier)
    text = (
        f"【超期上报】工单 {ticket.number} 在下一级超过办理期限（{overdue}）未办结，"
        f"已自动上报至{tier}，由 {lifecycle.current_handler(ticket)} 办理，"
        f"本级期限 {_local(ticket.step_due_at)}。"
    )
    for user in fieldwork.handlers(ctx, ticket):  # the staff of the unit above the grid
        ctx.session.add(
            StaffNotice(
                user_id=user.id, text=text[:300], link=f"/tickets/{ticket.number}", created_at=now
            )
        )
        fieldwork.send_telegram(
            ctx, ticket, user, "escalated", f"{text}\n{fieldwork.task_text(ctx, ticket)}"
        )


def run(ctx: Context, now: datetime | None = None) -> EscalationResult:
    """One pass over the open steps: escalate what is overdue, remind what is nearly so."""
    now = now or utcnow()
    top = labels.TIERS[-1]
    overdue = ctx.session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_(TASK_STATUSES),
            Ticket.step_due_at.is_not(None),
            Ticket.step_due_at <= now,
            Ticket.tier != top,
        )
        .order_by(Ticket.step_due_at, Ticket.id)
        .limit(BATCH)
    ).all()
    for ticket in overdue:
        escalate(ctx, ticket, now)
    # Only steps whose last quarter may have begun: a quarter of the longest step ahead.
    horizon = now + _longest_step(ctx, now) * REMIND_SHARE
    near = ctx.session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_(TASK_STATUSES),
            Ticket.step_due_at.is_not(None),
            Ticket.step_due_at > now,
            Ticket.step_due_at <= horizon,
            Ticket.reminded_at.is_(None),
        )
        .order_by(Ticket.step_due_at, Ticket.id)
        .limit(BATCH)
    ).all()
    starts = _step_starts(ctx, [t.id for t in near])
    reminded = 0
    for ticket in near:
        due = ticket.step_due_at
        assert due is not None
        started = starts.get(ticket.id)
        if started is None:  # no step event (imported data): the SLA back from the deadline
            started = due - (add_working_days(now, lifecycle.sla_days(ctx, ticket)) - now)
        if due - now < (due - started) * REMIND_SHARE:
            remind(ctx, ticket, now)
            reminded += 1
    ctx.session.flush()
    return EscalationResult(reminded=reminded, escalated=len(overdue))
