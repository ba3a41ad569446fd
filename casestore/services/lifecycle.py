"""Staff and resident actions on a ticket: the ticket life cycle (draft → submitted →
dispatched → in_progress → resolved → closed, with rejected, merged, reopened and returned
beside it).

Besides moving the status, the hotline's own steps: 转办 (transfer to another unit), 退回 (the
unit sends the ticket back to the dispatcher, with a reason), 延期 (an extension requested by
the handler, approved or not by a supervisor; an approved one moves the deadline and the
resident is told), 催办 (a reminder to the handler, counted), 督办 (a supervisor's flag) and
回访 (the result of the follow-up call, which rates the ticket like the resident's own rating).

The grid worker's own steps on a dispatched task (the bot's buttons, the field page): 接单
(accept), 已到场 (arrive) and 需要协调 (coordinate: up one tier, with the reason); 办结 is
``resolve``. Dispatching to a grid and every move up the tier chain start a step with its
deadline (``step_due_at``, the taxonomy's SLA in working days) that the escalation job watches
(``casestore.services.escalation``).

A dispatch to a grid also runs the dispatch hooks (``on_dispatch``): the field service
(``casestore.services.fieldwork``) registers its task push there when it is imported, so this
module never imports it (fieldwork builds on this one).

Every action is one audited event; actions the resident should hear about also put a
notification in the outbox of the resident's channel (Telegram, web chat).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from casestore.models import Channel, Notification, Ticket, TicketEvent, TicketStatus
from casestore.schemas import TicketAction
from casestore.services.tickets import get_ticket
from core import labels
from core.clock import LOCAL_TZ, add_working_days, utcnow
from core.taxonomy import UNCLASSIFIED, Taxonomy, intent_of
from grids.registry import Registry
from retraining.models import ExampleSource, TrainingExample

S = TicketStatus
OPEN_STATES = {S(status) for status in labels.OPEN_STATUSES}

# action → statuses it may start from
ALLOWED_FROM: dict[str, set[TicketStatus]] = {
    "correct": OPEN_STATES,
    "dispatch": {S.SUBMITTED, S.REOPENED, S.RETURNED},
    "start": {S.DISPATCHED},
    "accept": {S.DISPATCHED},
    "arrive": {S.DISPATCHED, S.IN_PROGRESS},
    "coordinate": {S.DISPATCHED, S.IN_PROGRESS},
    "escalate": OPEN_STATES,
    "reply": OPEN_STATES | {S.RESOLVED},
    "resolve": {S.DISPATCHED, S.IN_PROGRESS},
    "close": {S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED},
    "reject": {S.SUBMITTED, S.REOPENED, S.RETURNED, S.DISPATCHED},
    "merge": OPEN_STATES,
    "reopen": {S.RESOLVED, S.CLOSED, S.REJECTED, S.MERGED},
    "rate": {S.RESOLVED, S.CLOSED},
    "transfer": {S.DISPATCHED, S.IN_PROGRESS, S.RETURNED},
    "return": {S.DISPATCHED, S.IN_PROGRESS},
    "request_extension": {S.DISPATCHED, S.IN_PROGRESS},
    "approve_extension": {S.DISPATCHED, S.IN_PROGRESS},
    "deny_extension": {S.DISPATCHED, S.IN_PROGRESS},
    "urge": {S.DISPATCHED, S.IN_PROGRESS},
    "supervise": OPEN_STATES,
    "follow_up": {S.RESOLVED, S.CLOSED},
}


NOTIFIED_CHANNELS = {Channel.TELEGRAM.value, Channel.WEBCHAT.value}


class ActionError(ValueError):
    """The action does not fit the ticket as it is now (HTTP 409)."""


class ActionInputError(ValueError):
    """The action's fields are missing or wrong (HTTP 422)."""


class VersionConflictError(ActionError):
    """Someone else changed the ticket since the form was loaded."""


@dataclass(frozen=True)
class Context:
    session: Session
    taxonomy: Taxonomy
    registry: Registry
    # The grids the actor may see (a grid worker's); None: every ticket (staff, the API).
    grid_scope: tuple[str, ...] | None = None
    # Units whose tickets without a grid the actor also sees (a street's staff).
    area_scope: tuple[str, ...] | None = None

    def sees(self, ticket: Ticket) -> bool:
        """The same rule as opening a ticket: inside the actor's grids (or areas)."""
        if self.grid_scope is None or (ticket.grid_code or "") in self.grid_scope:
            return True
        return not ticket.grid_code and (ticket.area_code or "") in (self.area_scope or ())


DispatchHook = Callable[[Context, Ticket], object]
_dispatch_hooks: list[DispatchHook] = []


def on_dispatch(hook: DispatchHook) -> DispatchHook:
    """Register ``hook(ctx, ticket)``, run whenever a ticket is dispatched to its grid's worker
    (tier grid); registering the same function again keeps one. Usable as a decorator."""
    if hook not in _dispatch_hooks:
        _dispatch_hooks.append(hook)
    return hook


def apply_action(ctx: Context, ticket: Ticket, action: TicketAction) -> Ticket:
    """Check and apply one action; raises ActionError / ActionInputError."""
    if action.version is not None and action.version != ticket.version:
        raise VersionConflictError(
            f"工单 {ticket.number} 已被他人修改（当前版本 {ticket.version}），请刷新后再操作"
        )
    status = TicketStatus(ticket.status)
    if status not in ALLOWED_FROM[action.action]:
        raise ActionError(
            f"工单当前状态为「{status_label(status)}」，不能执行「{labels.ACTION[action.action]}」"
        )
    handler = _HANDLERS[action.action]
    before = ticket.status
    data = handler(ctx, ticket, action)
    if ticket.status != before:
        data = {"from": before, "to": ticket.status, **data}
    _event(ticket, labels.ACTION_EVENT[action.action], action.actor, data)
    ticket.updated_at = utcnow()
    ctx.session.flush()
    return ticket


def available(ticket: Ticket) -> set[str]:
    """The actions that fit the ticket as it is now (its status, an open extension request,
    supervision): what the ticket page offers, before the role's own limits."""
    status = TicketStatus(ticket.status)
    names = {name for name, states in ALLOWED_FROM.items() if status in states}
    if ticket.extension_days:
        names.discard("request_extension")
    else:
        names -= {"approve_extension", "deny_extension"}
    if ticket.supervised:
        names.discard("supervise")
    return names


def status_label(status: TicketStatus) -> str:
    return labels.STATUS[status]


def _event(ticket: Ticket, kind: str, actor: str, data: dict[str, Any]) -> None:
    ticket.events.append(TicketEvent(kind=kind, actor=actor, data=data, created_at=utcnow()))


def record_event(ticket: Ticket, kind: str, actor: str, data: dict[str, Any]) -> None:
    """One event on the ticket outside the actions (its kind labelled in labels.EVENT)."""
    _event(ticket, kind, actor, data)
    ticket.updated_at = utcnow()


def notify(
    ctx: Context,
    ticket: Ticket,
    kind: str,
    text: str,
    buttons: list[dict[str, str]] | None = None,
) -> Notification | None:
    """Queue a message for the resident in the channel the ticket came from."""
    if ticket.channel not in NOTIFIED_CHANNELS or not ticket.conversation_id:
        return None
    return queue_message(ctx, ticket, ticket.channel, ticket.conversation_id, kind, text, buttons)


def queue_message(
    ctx: Context,
    ticket: Ticket,
    channel: str,
    conversation_id: str,
    kind: str,
    text: str,
    buttons: list[dict[str, str]] | None = None,
) -> Notification:
    """One message about the ticket in a channel's outbox, for that conversation."""
    note = Notification(
        ticket=ticket,
        channel=channel,
        conversation_id=conversation_id,
        kind=kind,
        text=text,
        buttons=buttons or [],
        created_at=utcnow(),
    )
    ctx.session.add(note)
    return note


def _require_text(action: TicketAction, what: str) -> str:
    if not action.text or not action.text.strip():
        raise ActionInputError(f"请填写{what}")
    return action.text.strip()


def _mark_replied(ticket: Ticket) -> None:
    if ticket.first_reply_at is None:
        ticket.first_reply_at = utcnow()


def _correct(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    old_category, old_sub = ticket.category, ticket.subcategory
    if action.category is not None or action.subcategory is not None:
        code = action.category or ticket.category
        category = ctx.taxonomy.get(code)
        if category is None:
            raise ActionInputError(f"未知的分类：{code}")
        sub = category.subcategory(action.subcategory) if action.subcategory else None
        if action.subcategory and sub is None:
            raise ActionInputError(f"分类「{category.name}」下没有二级分类：{action.subcategory}")
        if (category.code, sub.code if sub else None) != (old_category, old_sub):
            ticket.category = category.code
            ticket.subcategory = sub.code if sub else None
            ticket.department = sub.department if sub else category.department
            sla_days = sub.sla_days if sub else category.sla_days
            old_due = _local_date(ticket)
            ticket.due_at = add_working_days(ticket.created_at, sla_days)
            changes["category"] = {"from": old_category, "to": ticket.category}
            changes["subcategory"] = {"from": old_sub, "to": ticket.subcategory}
            ctx.session.add(_correction_example(ticket, old_category, action.actor))
            if _local_date(ticket) != old_due:  # the resident was promised the old date
                changes["due_at"] = {"from": old_due, "to": _local_date(ticket)}
                notify(
                    ctx,
                    ticket,
                    "status",
                    f"【工单 {ticket.number}】您反映的问题已归入「{category.name}"
                    f"{f'（{sub.name}）' if sub else ''}」，"
                    f"由 {ticket.department} 办理，答复期限调整为 {_local_date(ticket)}。",
                )
    if action.grid_code is not None and action.grid_code != (ticket.grid_code or ""):
        if not action.grid_code:  # the ticket would drop out of its grid worker's queue
            raise ActionInputError("网格不能改为待定：请选择一个网格，或保持原网格")
        if action.grid_code not in ctx.registry.grids:
            raise ActionInputError(f"未知的网格编码：{action.grid_code}")
        changes["grid_code"] = {"from": ticket.grid_code, "to": action.grid_code}
        ticket.grid_code = action.grid_code
    if action.description is not None and action.description.strip() != ticket.description:
        text = action.description.strip()
        if len(text) < 2:
            raise ActionInputError("诉求内容至少2个字")
        changes["description"] = {"from": ticket.description, "to": text}
        ticket.description = text
    if not changes:
        raise ActionInputError("没有需要更正的内容")
    return changes


def resident_text(ticket: Ticket) -> str:
    """What the resident first said about the problem (for a training example)."""
    for line in ticket.transcript or []:
        text = str(line.get("text") or "")
        if line.get("role") == "resident" and len(text) >= 6 and not text.startswith("/"):
            return text
    return ticket.description


def _correction_example(ticket: Ticket, old_category: str, actor: str) -> TrainingExample:
    return TrainingExample(
        text=resident_text(ticket),
        intent=intent_of(ticket.category),
        subcategory=ticket.subcategory,
        source=ExampleSource.CORRECTION.value,
        status="pending",
        predicted_intent=intent_of(old_category),
        predicted_confidence=ticket.nlu_confidence,
        ticket_number=ticket.number,
        conversation_id=ticket.conversation_id,
        created_by=actor,
        created_at=utcnow(),
    )


def handler_for(ctx: Context, ticket: Ticket) -> str:
    """Who handles the ticket at its tier: the grid worker, a unit, or the department."""
    if ticket.grid_code and ticket.grid_code in ctx.registry.grids:
        grid = ctx.registry.grids[ticket.grid_code]
        if ticket.tier == "grid":
            return f"{grid.name}（网格员 {grid.worker_name}）"
        for step in ctx.registry.chain(grid.code):
            if step["tier"] == ticket.tier:
                return step["name"]
    if ticket.area_code and ticket.area_code in ctx.registry.units:
        for step in ctx.registry.chain(ticket.area_code):
            if step["tier"] == ticket.tier:
                return step["name"]
    return ticket.department


def current_handler(ticket: Ticket) -> str:
    """Who handles the ticket now (承办单位): the unit it was dispatched to, else its department.

    The one answer for the resident's notification, the status look-up and the ticket page.
    """
    return ticket.assigned_to or ticket.department


def dispatch_choices(ctx: Context, ticket: Ticket) -> dict[str, tuple[str, str]]:
    """What each dispatch target assigns the ticket to: target → (kind of unit, unit name).

    The ticket page labels its dispatch options with these, so an option names the unit the
    ticket will actually go to (a street-tier ticket's "grid" option goes to the street).
    """
    choices: dict[str, tuple[str, str]] = {}
    if ticket.grid_code:
        name = handler_for(ctx, ticket)
        kind = labels.TIER.get(ticket.tier, labels.DISPATCH_TARGET["grid"])
        if name == ticket.department:  # a grid the registry does not know: its department
            kind = labels.DISPATCH_TARGET["department"]
        choices["grid"] = (kind, name)
    choices["department"] = (labels.DISPATCH_TARGET["department"], ticket.department)
    return choices


def _dispatch(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    target = action.dispatch_to or ("grid" if ticket.grid_code else "department")
    if target not in labels.DISPATCH_TARGET:
        raise ActionInputError("派单对象只能是网格或职能部门")
    if ticket.category == UNCLASSIFIED:
        raise ActionInputError("该工单尚未分类（待分类），请先更正分类再派单")
    if target == "grid" and not ticket.grid_code:
        raise ActionInputError("该工单尚未确定网格，请先更正网格或派往职能部门")
    ticket.assigned_to = dispatch_choices(ctx, ticket)[target][1]
    ticket.status = S.DISPATCHED
    # A task on the tier chain has a step deadline (the escalation job watches it); a
    # department works to the ticket's own deadline.
    ticket.step_due_at = (
        add_working_days(utcnow(), sla_days(ctx, ticket)) if target == "grid" else None
    )
    ticket.reminded_at = None
    if target == "grid" and ticket.tier == "grid":
        for hook in list(_dispatch_hooks):
            hook(ctx, ticket)
    notify(
        ctx,
        ticket,
        "status",
        f"【工单 {ticket.number}】已派单至 {current_handler(ticket)} 办理，"
        f"办理期限 {_local_date(ticket)}。如需查询进度，请发送“查询进度”。",
    )
    return {"dispatch_to": target, "assigned_to": ticket.assigned_to, "note": action.text or ""}


def _local_date(ticket: Ticket) -> str:
    day = ticket.due_at.astimezone(LOCAL_TZ)
    return f"{day.year}年{day.month}月{day.day}日"


def _start(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    ticket.status = S.IN_PROGRESS
    return {"note": action.text or ""}


def next_tier(ticket: Ticket) -> str | None:
    """The tier above the ticket's (grid → community → street → district); None at the top."""
    index = labels.TIERS.index(ticket.tier) if ticket.tier in labels.TIERS else 0
    return labels.TIERS[index + 1] if index < len(labels.TIERS) - 1 else None


def move_up(ctx: Context, ticket: Ticket) -> dict[str, Any]:
    """Up one tier: the new tier's unit handles a dispatched ticket, with a new step deadline.

    Shared by 上报, 需要协调 and the escalation job; raises ActionError at the top tier."""
    tier = next_tier(ticket)
    if tier is None:
        raise ActionError("工单已在区（县）级办理，无法再上报")
    old = ticket.tier
    ticket.tier = tier
    if ticket.status in (S.DISPATCHED, S.IN_PROGRESS):  # the unit of the new tier handles it
        ticket.assigned_to = handler_for(ctx, ticket)
    ticket.step_due_at = add_working_days(utcnow(), sla_days(ctx, ticket))
    ticket.reminded_at = None
    return {"from_tier": old, "to_tier": ticket.tier}


def _escalate(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    if next_tier(ticket) is None:
        raise ActionError("工单已在区（县）级办理，无法再上报")
    reason = _require_text(action, "上报原因")
    return {**move_up(ctx, ticket), "reason": reason}


def _accept(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """接单: the grid worker takes the task."""
    ticket.status = S.IN_PROGRESS
    notify(ctx, ticket, "status",
           f"【工单 {ticket.number}】网格员已接单，将尽快到现场处理。")  # fmt: skip
    return {"note": (action.text or "").strip()}


def _arrive(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """已到场: the grid worker is on the spot (accepting the task if not yet done)."""
    ticket.status = S.IN_PROGRESS
    notify(ctx, ticket, "status", f"【工单 {ticket.number}】网格员已到达现场，正在处理。")
    return {"note": (action.text or "").strip()}


def _coordinate(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """需要协调: the grid worker cannot settle it alone; up one tier, saying why."""
    if next_tier(ticket) is None:
        raise ActionError("工单已在区（县）级办理，无法再上报协调")
    reason = _require_text(action, "需要协调的原因")
    data = {**move_up(ctx, ticket), "reason": reason}
    notify(
        ctx,
        ticket,
        "status",
        f"【工单 {ticket.number}】您反映的问题需要{labels.TIER[ticket.tier]}协调处理，"
        f"已转由 {current_handler(ticket)} 继续办理。",
    )
    return data


def _reply(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    text = _require_text(action, "答复内容")
    _mark_replied(ticket)
    notify(ctx, ticket, "reply", f"【工单 {ticket.number}】工作人员答复：{text}")
    return {"text": text}


def _resolve(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    text = _require_text(action, "办理结果")
    ticket.resolution = text
    ticket.status = S.RESOLVED
    _mark_replied(ticket)
    notify(ctx, ticket, "reply", f"【工单 {ticket.number}】办理结果：{text}")
    return {"text": text}


def satisfaction_buttons(number: str) -> list[dict[str, str]]:
    return [
        {
            "title": label,
            "payload": "/rate_service"
            + json.dumps({"ticket_number": number, "rating": code}, ensure_ascii=False),
        }
        for code, label in labels.RATING.items()
    ]


def _close(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    told = ticket.resolution if ticket.status == S.RESOLVED else None  # sent on 办理完成
    if action.text and action.text.strip():
        ticket.resolution = action.text.strip()
    if not ticket.resolution:
        raise ActionInputError("办结前请填写办理结果")
    ticket.status = S.CLOSED
    ticket.closed_at = utcnow()
    _mark_replied(ticket)
    # The resident already has the result if 办理完成 sent it unchanged: not twice.
    result = "" if ticket.resolution == told else f"办理结果：{ticket.resolution}\n"
    notify(
        ctx,
        ticket,
        "satisfaction",
        f"【工单 {ticket.number}】已办结。{result}"
        "请您对本次办理进行评价；如果问题没有解决，请点“问题没解决”或回复“没解决”。",
        satisfaction_buttons(ticket.number),
    )
    return {"text": ticket.resolution}


def _reject(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    if action.reason not in labels.REJECT_REASON:
        raise ActionInputError("请选择不予受理的原因：无效信息、不属于受理范围或重复诉求")
    ticket.status = S.REJECTED
    ticket.reject_reason = action.reason
    note = (action.text or "").strip()
    if action.reason != "spam":
        notify(
            ctx,
            ticket,
            "status",
            f"【工单 {ticket.number}】不予受理（{labels.REJECT_REASON[action.reason]}）"
            + (f"：{note}" if note else "。")
            + "如有疑问，请拨打12345。",
        )
    return {"reason": action.reason, "note": note}


def _merge(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    number = action.merge_into or ""
    if number == ticket.number:
        raise ActionInputError("不能把工单合并到它自己")
    target = get_ticket(session=ctx.session, number=number) if number else None
    if target is None or not ctx.sees(target):  # another grid's ticket: as if there were none
        raise ActionInputError(f"未找到要合并到的工单：{number or '（空）'}")
    if target.status in {S.MERGED, S.REJECTED}:
        raise ActionError(
            f"工单 {number} 已{status_label(TicketStatus(target.status))}，不能作为合并目标"
        )
    ticket.status = S.MERGED
    ticket.merged_into = target.number
    _event(target, "merged_from", action.actor, {"number": ticket.number})
    notify(
        ctx,
        ticket,
        "status",
        f"【工单 {ticket.number}】与同一问题的工单 {target.number} 合并办理，"
        f"办理进展将通过工单 {target.number} 告知您。",
    )
    return {"into": target.number}


def _reopen(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    ticket.status = S.REOPENED
    ticket.closed_at = None
    ticket.merged_into = None
    ticket.reject_reason = None
    ticket.due_at = add_working_days(utcnow(), sla_days(ctx, ticket))
    notify(ctx, ticket, "status", f"【工单 {ticket.number}】已重新办理，我们会尽快处理并答复您。")
    return {"reason": (action.text or "").strip()}


def sla_days(ctx: Context, ticket: Ticket) -> int:
    """The working days the ticket's (sub)category gives (its deadline, each tier's step)."""
    category = ctx.taxonomy.get(ticket.category)
    if category is None:
        return 5
    sub = category.subcategory(ticket.subcategory)
    return sub.sla_days if sub else category.sla_days


def _rate(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    if action.rating not in labels.RATING:
        raise ActionInputError("请选择满意度：满意、基本满意、不满意或问题没解决")
    _record_rating(ctx, ticket, action.rating)
    return {"rating": action.rating, "comment": (action.text or "").strip()}


def _record_rating(ctx: Context, ticket: Ticket, rating: str) -> None:
    """The resident's satisfaction, from the chat or the follow-up call (满意度)."""
    ticket.rating = rating
    if rating == "unresolved":
        ticket.status = S.REOPENED
        ticket.closed_at = None
        ticket.due_at = add_working_days(utcnow(), sla_days(ctx, ticket))
    elif ticket.status == S.RESOLVED:
        # Architecture: resolved → closed once the satisfaction is recorded.
        ticket.status = S.CLOSED
        ticket.closed_at = utcnow()


def departments(taxonomy: Taxonomy) -> list[str]:
    """Every unit a ticket can be transferred to (转办): the taxonomy's departments."""
    names = {c.department for c in taxonomy.categories}
    names |= {s.department for c in taxonomy.categories for s in c.subcategories}
    return sorted(n for n in names if n)


def _transfer(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """转办: to another department, with the reason; the new unit's deadline is unchanged."""
    target = (action.department or "").strip()
    if target not in departments(ctx.taxonomy):
        raise ActionInputError("请选择转办的承办单位")
    before = current_handler(ticket)
    if target == before:
        raise ActionInputError(f"工单已由 {target} 承办，请选择其他单位")
    reason = _require_text(action, "转办原因")
    ticket.department = target
    ticket.assigned_to = target
    ticket.status = S.DISPATCHED
    _clear_extension(ticket)
    notify(
        ctx,
        ticket,
        "status",
        f"【工单 {ticket.number}】已转至 {target} 办理，办理期限 {_local_date(ticket)}。",
    )
    return {"from_unit": before, "to_unit": target, "reason": reason}


def _return(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """退回: the unit it was dispatched to sends it back to the dispatcher, saying why."""
    reason = _require_text(action, "退回原因")
    before = current_handler(ticket)
    ticket.assigned_to = None
    ticket.status = S.RETURNED
    _clear_extension(ticket)
    notify(
        ctx,
        ticket,
        "status",
        f"【工单 {ticket.number}】{before} 认为需由其他单位办理（{reason}），"
        "已退回热线重新派单，我们会尽快安排并告知您。",
    )
    return {"from_unit": before, "reason": reason}


def _clear_extension(ticket: Ticket) -> None:
    ticket.extension_days = None
    ticket.extension_reason = None


def _request_extension(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    if ticket.extension_days:
        raise ActionError("该工单已有延期申请等待审批")
    if action.days is None:
        raise ActionInputError("请填写延期天数（1–30个工作日）")
    reason = _require_text(action, "延期原因")
    ticket.extension_days = action.days
    ticket.extension_reason = reason[:200]
    return {"days": action.days, "reason": reason}


def _approve_extension(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    days = _pending_extension(ticket)
    old_due = _local_date(ticket)
    ticket.due_at = add_working_days(ticket.due_at, days)
    if ticket.step_due_at is not None:  # the current tier's step is extended alike
        ticket.step_due_at = add_working_days(ticket.step_due_at, days)
        ticket.reminded_at = None
    _clear_extension(ticket)
    notify(
        ctx,
        ticket,
        "status",
        f"【工单 {ticket.number}】承办单位申请延期办理，已获批准，"
        f"答复期限延至 {_local_date(ticket)}。",
    )
    return {
        "days": days,
        "due_at": {"from": old_due, "to": _local_date(ticket)},
        "note": (action.text or "").strip(),
    }


def _deny_extension(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    days = _pending_extension(ticket)
    reason = _require_text(action, "不批准的理由")
    _clear_extension(ticket)
    return {"days": days, "reason": reason}


def _pending_extension(ticket: Ticket) -> int:
    if not ticket.extension_days:
        raise ActionError("该工单没有待审批的延期申请")
    return ticket.extension_days


def _urge(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """催办: a reminder to the handler, counted; it shows on their task list."""
    ticket.urge_count = (ticket.urge_count or 0) + 1
    return {"urges": ticket.urge_count, "assigned_to": current_handler(ticket),
            "text": (action.text or "").strip()}  # fmt: skip


def _supervise(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """督办: a supervisor puts the ticket under supervision, saying why."""
    if ticket.supervised:
        raise ActionError("该工单已在督办中")
    ticket.supervised = True
    return {"reason": _require_text(action, "督办要求")}


def _follow_up(ctx: Context, ticket: Ticket, action: TicketAction) -> dict[str, Any]:
    """回访: the follow-up call's result. Reaching the resident records their rating, as their
    own rating in the chat would (问题没解决 reopens the ticket); not reaching them is noted."""
    if action.rating not in labels.FOLLOW_UP:
        raise ActionInputError("请选择回访结果：" + "、".join(labels.FOLLOW_UP.values()))
    if action.rating in labels.RATING:
        _record_rating(ctx, ticket, action.rating)
    return {"result": action.rating, "text": (action.text or "").strip()}


_HANDLERS = {
    "correct": _correct,
    "dispatch": _dispatch,
    "start": _start,
    "accept": _accept,
    "arrive": _arrive,
    "coordinate": _coordinate,
    "escalate": _escalate,
    "reply": _reply,
    "resolve": _resolve,
    "close": _close,
    "reject": _reject,
    "merge": _merge,
    "reopen": _reopen,
    "rate": _rate,
    "transfer": _transfer,
    "return": _return,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "deny_extension": _deny_extension,
    "urge": _urge,
    "supervise": _supervise,
    "follow_up": _follow_up,
}
