"""The dispute line (矛盾纠纷): a dispute ticket's own steps, its mediation record and the
figures of where disputes are settled.

Steps (labels.DISPUTE_STAGE, in order; a step never moves the stage back):

1. registered 登记受理 — the ticket is filed (``dispute_intake.on_filed``: the first risk grade
   from the description, an empty mediation record), or corrected into the category later
   (``ensure``).
2. mediating 先行调解 — the first mediation session, at the grid or the community
   (``add_session``: date, place, tier, mediator, what was agreed).
3. assessed 风险研判 — staff set or confirm the four-colour grade with their reasons
   (``grade``): red 红 joint handling across departments, orange 橙 may escalate, yellow 黄
   ordinary, blue 蓝 hidden risk. Red and orange open disputes are raised as alerts by the
   early-warning job (``warnings.risks``, which reads ``Ticket.risk_grade``).
4. diverted 分流交办 — to the community, street or district by grade and difficulty
   (``divert``): the ticket is escalated tier by tier through ``lifecycle`` (``escalate``), so
   its tier and the unit handling it move the standard way. ``suggested_tier`` proposes red →
   district, orange → street, others → community.
5. supervising 跟踪督办 — the diverting level follows it up (``supervise``, a note each time).
6. concluded 案结事了 — after an outcome of 调解成功, or 调解不成 with whom it was referred to
   (``record_outcome``), ``conclude`` closes the ticket through ``lifecycle`` (``close``).

``record_outcome`` records where a settled dispute was settled (``Ticket.settled_tier``: the
tier of the latest session, else the ticket's tier) and resolves the ticket through
``lifecycle`` (``resolve``, which tells the resident) when its status allows; otherwise the
resident is told directly. The written agreement (``attach_agreement``) is a PDF, JPEG or PNG
of at most 5 MB, kept as an ``Attachment`` linked from the mediation record only (not among
the ticket's photos).

Every step is one ticket event (labels.EVENT) with the staff member as its actor, besides the
escalation events of ``divert`` and the resolve/close events of the life cycle.

Figures (``figures``), per street and per community, over the disputes *filed* in the period
(by local day; rejected and merged tickets not counted), as they are now:

* 登记纠纷 — dispute tickets filed in the period.
* 调解成功 — of those, mediation outcome 调解成功.
* 调解不成 — of those, outcome 调解不成 (referred elsewhere).
* 不出村（社区） — settled (调解成功) at the grid or the community.
* 不出乡镇（街道） — settled at the street or below.
* 不出县（区） — settled at the district or below.
* 调解成功率 — 调解成功 / (调解成功 + 调解不成); disputes without an outcome yet are not counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casestore.models import Attachment, Mediation, MediationSession, Ticket, TicketStatus
from casestore.schemas import PHONE_RE, TicketAction
from casestore.services import attachments as attachment_service
from casestore.services import lifecycle
from casestore.services.dispute_intake import DISPUTES, initial_grade, on_filed
from core import labels
from core.clock import LOCAL_TZ, local_midnight, utcnow
from grids.registry import Registry

__all__ = [
    "DISPUTES", "DisputeError", "ensure", "initial_grade", "on_filed", "set_parties",
    "add_session", "grade", "divert", "supervise", "record_outcome", "attach_agreement",
    "conclude", "concluded", "can_conclude", "agreement_of", "sniff_agreement", "suggested_tier",
    "open_disputes", "stage_steps", "figures", "DEFINITIONS", "Figures", "FigureTable",
]  # fmt: skip

STAGES = tuple(labels.DISPUTE_STAGE)  # registered … concluded
DIVERT_TIERS = ("community", "street", "district")
MAX_AGREEMENT_BYTES = 5 * 1024 * 1024
AGREEMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
AGREEMENT_CHANNEL = "mediation"  # Attachment.channel of written agreements
MAX_PARTIES = 10
NOT_COUNTED = ("rejected", "merged")  # not a dispute after all (as in the service figures)
# Where a settled dispute counts (labels.SETTLED_SCOPE): the tiers at or below each scope.
SCOPE_TIERS = {
    "village": ("grid", "community"),
    "township": ("grid", "community", "street"),
    "county": ("grid", "community", "street", "district"),
}
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("登记纠纷", "统计期间内登记受理的矛盾纠纷工单（不含不予受理、已合并的工单）"),
    ("调解成功", "其中调解结果为调解成功的纠纷"),
    ("调解不成", "其中调解结果为调解不成（已移交其他部门或途径）的纠纷"),
    (labels.SETTLED_SCOPE["village"], "调解成功、且在网格或社区（村）一级化解的纠纷"),
    (labels.SETTLED_SCOPE["township"], "调解成功、且在街道（乡镇）及以下化解的纠纷"),
    (labels.SETTLED_SCOPE["county"], "调解成功、且在区（县）及以下化解的纠纷"),
    ("调解成功率", "调解成功 ÷（调解成功 + 调解不成）；尚无调解结果的纠纷不计入"),
)


class DisputeError(ValueError):
    """The step does not fit the dispute, or its fields are wrong (Chinese; HTTP 422)."""


# ---------------------------------------------------------------- the record


def ensure(ctx: lifecycle.Context, ticket: Ticket, actor: str = "system") -> Mediation:
    """The dispute's mediation record, created (with stage and grade) if it has none yet: a
    ticket corrected into 矛盾纠纷 after filing gets one the first time it is worked on."""
    if ticket.category != DISPUTES:
        raise DisputeError("该工单不属于矛盾纠纷，没有调解记录")
    if ticket.mediation is not None:
        if ticket.dispute_stage is None:
            ticket.dispute_stage = "registered"
        return ticket.mediation
    mediation = on_filed(ctx.session, ticket)
    lifecycle.record_event(
        ticket, "dispute_registered", actor, {"risk_grade": ticket.risk_grade or ""}
    )
    return mediation


def concluded(ticket: Ticket) -> bool:
    """案结事了 and still closed (a resident who says 问题没解决 reopens the dispute)."""
    return ticket.dispute_stage == "concluded" and ticket.status not in labels.OPEN_STATUSES


def _open_record(ctx: lifecycle.Context, ticket: Ticket, actor: str) -> Mediation:
    mediation = ensure(ctx, ticket, actor)
    if ticket.dispute_stage == "concluded" and not concluded(ticket):
        ticket.dispute_stage = "supervising"  # reopened after 案结事了: followed up again
    if concluded(ticket):
        raise DisputeError("该纠纷已案结事了，调解记录不能再修改")
    if ticket.status in labels.FINAL_STATUSES:
        status = labels.STATUS[ticket.status]
        raise DisputeError(f"工单当前状态为「{status}」，调解记录不能再修改")
    return mediation


def _advance(ticket: Ticket, stage: str) -> None:
    """Move the stage forward to ``stage`` (never back)."""
    current = ticket.dispute_stage if ticket.dispute_stage in STAGES else "registered"
    if STAGES.index(stage) > STAGES.index(current):
        ticket.dispute_stage = stage
    else:
        ticket.dispute_stage = current


def _text(value: str | None, what: str, *, least: int = 1, most: int = 2000) -> str:
    text = (value or "").strip()
    if len(text) < least:
        raise DisputeError(f"请填写{what}" if not text else f"{what}至少{least}个字")
    if len(text) > most:
        raise DisputeError(f"{what}不能超过{most}个字")
    return text


def _touch(mediation: Mediation) -> None:
    mediation.updated_at = utcnow()


def set_parties(
    ctx: lifecycle.Context,
    ticket: Ticket,
    parties: Sequence[dict[str, str]],
    mediator: str,
    actor: str,
) -> Mediation:
    """当事人 (name, phone, role of labels.PARTY_ROLE) and the mediator; rows with neither a
    name nor a phone are left out. Phones are kept in the record, not in the event."""
    mediation = _open_record(ctx, ticket, actor)
    rows: list[dict[str, str]] = []
    for party in parties:
        name = (party.get("name") or "").strip()
        phone = "".join((party.get("phone") or "").split())
        role = (party.get("role") or "other").strip()
        if not name and not phone:
            continue
        if not name:
            raise DisputeError("请填写当事人姓名")
        if len(name) > 32:
            raise DisputeError("当事人姓名不能超过32个字")
        if phone and not PHONE_RE.match(phone):
            raise DisputeError(f"当事人 {name} 的联系电话格式不正确")
        if role not in labels.PARTY_ROLE:
            raise DisputeError("请选择当事人身份：" + "、".join(labels.PARTY_ROLE.values()))
        rows.append({"name": name, "phone": phone, "role": role})
    if not rows:
        raise DisputeError("请至少填写一名当事人")
    if len(rows) > MAX_PARTIES:
        raise DisputeError(f"当事人最多{MAX_PARTIES}名")
    mediator = (mediator or "").strip()
    if len(mediator) > 64:
        raise DisputeError("调解员姓名不能超过64个字")
    mediation.parties = rows
    mediation.mediator = mediator
    _touch(mediation)
    shown = "、".join(f"{r['name']}（{labels.PARTY_ROLE[r['role']]}）" for r in rows)
    lifecycle.record_event(ticket, "dispute_parties", actor,
                           {"parties": shown, "mediator": mediator})  # fmt: skip
    ctx.session.flush()
    return mediation


def add_session(
    ctx: lifecycle.Context,
    ticket: Ticket,
    held_on: date,
    place: str,
    tier: str,
    mediator: str,
    summary: str,
    actor: str,
) -> MediationSession:
    """One mediation sitting (调解经过); the first one is 先行调解."""
    mediation = _open_record(ctx, ticket, actor)
    if held_on > utcnow().astimezone(LOCAL_TZ).date():
        raise DisputeError("调解日期不能晚于今天")
    if tier not in labels.TIER:
        raise DisputeError("请选择调解层级：" + "、".join(labels.TIER.values()))
    row = MediationSession(
        held_on=held_on,
        place=_text(place, "调解地点", most=100),
        tier=tier,
        mediator=_text(mediator or mediation.mediator, "调解员", most=64),
        summary=_text(summary, "调解情况", least=2),
        created_by=actor,
        created_at=utcnow(),
    )
    mediation.sessions.append(row)
    _touch(mediation)
    _advance(ticket, "mediating")
    lifecycle.record_event(ticket, "mediation_session", actor, {
        "held_on": held_on.isoformat(), "place": row.place, "tier": tier,
        "mediator": row.mediator, "summary": row.summary,
    })  # fmt: skip
    ctx.session.flush()
    return row


def grade(ctx: lifecycle.Context, ticket: Ticket, grade: str, note: str, actor: str) -> Ticket:
    """风险研判: set or confirm the grade, with the reasons. Red and orange raise an alert on
    the warnings job's next run (again whenever the grade changes)."""
    _open_record(ctx, ticket, actor)
    if grade not in labels.RISK_GRADE:
        raise DisputeError("请选择风险等级：" + "、".join(labels.RISK_GRADE.values()))
    text = _text(note, "研判意见", least=2)
    before = ticket.risk_grade
    ticket.risk_grade = grade
    _advance(ticket, "assessed")
    lifecycle.record_event(ticket, "risk_assessed", actor,
                           {"risk_grade": {"from": before, "to": grade}, "note": text})  # fmt: skip
    ctx.session.flush()
    return ticket


def suggested_tier(ticket: Ticket) -> str:
    """Where to divert by grade: red → district, orange → street, others → community (never
    below the tier the ticket is at)."""
    wanted = {"red": "district", "orange": "street"}.get(ticket.risk_grade or "", "community")
    tiers = labels.TIERS
    current = tiers.index(ticket.tier) if ticket.tier in tiers else 0
    return tiers[max(tiers.index(wanted), current, 1)]


def divert(ctx: lifecycle.Context, ticket: Ticket, tier: str, reason: str, actor: str) -> Ticket:
    """分流交办 to the community, street or district: escalated tier by tier (one life-cycle
    escalation each), then the stage and the reason are recorded."""
    _open_record(ctx, ticket, actor)
    if tier not in DIVERT_TIERS:
        raise DisputeError("请选择分流层级：" + "、".join(labels.TIER[t] for t in DIVERT_TIERS))
    text = _text(reason, "分流理由", least=2)
    tiers = labels.TIERS
    current = tiers.index(ticket.tier) if ticket.tier in tiers else 0
    target = tiers.index(tier)
    if target < current:
        raise DisputeError(
            f"该纠纷已在{labels.TIER[ticket.tier]}办理，不能分流到{labels.TIER[tier]}"
        )
    try:
        while tiers.index(ticket.tier) < target:
            action = TicketAction(action="escalate", actor=actor, text=f"分流交办：{text}")
            lifecycle.apply_action(ctx, ticket, action)
    except lifecycle.ActionError as exc:
        raise DisputeError(str(exc)) from exc
    _advance(ticket, "diverted")
    lifecycle.record_event(ticket, "dispute_diverted", actor, {"tier": tier, "reason": text})
    ctx.session.flush()
    return ticket


def supervise(ctx: lifecycle.Context, ticket: Ticket, note: str, actor: str) -> Ticket:
    """跟踪督办: the diverting level follows the dispute up (a note each time)."""
    _open_record(ctx, ticket, actor)
    text = _text(note, "督办情况", least=2)
    _advance(ticket, "supervising")
    lifecycle.record_event(ticket, "dispute_supervised", actor, {"note": text})
    ctx.session.flush()
    return ticket


def record_outcome(
    ctx: lifecycle.Context,
    ticket: Ticket,
    outcome: str,
    actor: str,
    text: str,
    referred_to: str | None = None,
) -> Mediation:
    """调解成功, or 调解不成 and to whom it was referred. A success records the tier that settled
    it; the ticket is resolved with the text when its status allows, and the resident told."""
    mediation = _open_record(ctx, ticket, actor)
    if outcome not in labels.MEDIATION_OUTCOME:
        raise DisputeError("请选择调解结果：" + "、".join(labels.MEDIATION_OUTCOME.values()))
    result = _text(text, "调解结果说明", least=2)
    referred = (referred_to or "").strip()
    if outcome == "failed" and not referred:
        raise DisputeError("调解不成的，请填写移交的部门或途径（如人民法院、劳动仲裁）")
    if len(referred) > 100:
        raise DisputeError("移交去向不能超过100个字")
    mediation.outcome = outcome
    mediation.referred_to = (referred or None) if outcome == "failed" else None
    _touch(mediation)
    if outcome == "success":
        latest = mediation.sessions[-1].tier if mediation.sessions else None
        ticket.settled_tier = latest or ticket.tier
        told = f"调解成功：{result}"
    else:
        ticket.settled_tier = None
        told = f"调解不成，已移交{referred}：{result}"
    lifecycle.record_event(ticket, "mediation_outcome", actor, {
        "outcome": outcome, "referred_to": mediation.referred_to or "",
        "tier": ticket.settled_tier or "", "text": result,
    })  # fmt: skip
    if TicketStatus(ticket.status) in lifecycle.ALLOWED_FROM["resolve"]:
        lifecycle.apply_action(ctx, ticket, TicketAction(action="resolve", actor=actor, text=told))
    else:
        lifecycle.notify(ctx, ticket, "reply", f"【工单 {ticket.number}】{told}")
    ctx.session.flush()
    return mediation


def sniff_agreement(data: bytes) -> str:
    """The agreement's content type from its bytes: PDF, JPEG or PNG, at most 5 MB."""
    if len(data) > MAX_AGREEMENT_BYTES:
        raise DisputeError(f"调解协议文件不能超过 {MAX_AGREEMENT_BYTES // (1024 * 1024)} MB")
    if not data:
        raise DisputeError("调解协议文件是空的")
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        kind = attachment_service.sniff_image(data)
    except (attachment_service.UnsupportedMediaError, attachment_service.AttachmentTooLargeError):
        kind = ""
    if kind not in AGREEMENT_TYPES:
        raise DisputeError("调解协议只接受 PDF、JPEG 或 PNG 文件")
    return kind


def attach_agreement(
    ctx: lifecycle.Context,
    ticket: Ticket,
    filename: str,
    content_type: str,
    data: bytes,
    actor: str,
) -> Attachment:
    """The written agreement (调解协议书): a PDF or a photo of it. The type is read from the
    bytes, never from ``content_type`` (the sender's claim); a new one replaces the old."""
    mediation = _open_record(ctx, ticket, actor)
    kind = sniff_agreement(data)
    name = (filename or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:200] or "调解协议"
    attachment = Attachment(
        ticket_id=None,  # not one of the ticket's photos: reached through the record only
        conversation_id=f"mediation-{ticket.number}",
        channel=AGREEMENT_CHANNEL,
        filename=name,
        content_type=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=utcnow(),
    )
    ctx.session.add(attachment)
    ctx.session.flush()
    mediation.agreement_id = attachment.id
    _touch(mediation)
    lifecycle.record_event(ticket, "mediation_agreement", actor, {"agreement": name})
    ctx.session.flush()
    return attachment


def agreement_of(session: Session, ticket: Ticket) -> Attachment | None:
    mediation = ticket.mediation
    if mediation is None or mediation.agreement_id is None:
        return None
    return session.get(Attachment, mediation.agreement_id)


def can_conclude(ticket: Ticket) -> bool:
    mediation = ticket.mediation
    if mediation is None or concluded(ticket):
        return False
    return mediation.outcome == "success" or (
        mediation.outcome == "failed" and bool(mediation.referred_to)
    )


def conclude(ctx: lifecycle.Context, ticket: Ticket, actor: str) -> Ticket:
    """案结事了: after 调解成功, or 调解不成 with where it was referred; closes the ticket."""
    _open_record(ctx, ticket, actor)
    if not can_conclude(ticket):
        raise DisputeError("请先记录调解结果（调解成功，或调解不成并填写移交去向）")
    status = TicketStatus(ticket.status)
    if status in lifecycle.ALLOWED_FROM["close"]:
        try:
            lifecycle.apply_action(ctx, ticket, TicketAction(action="close", actor=actor))
        except lifecycle.ActionInputError as exc:
            raise DisputeError(str(exc)) from exc
    elif status != TicketStatus.CLOSED:
        raise DisputeError(f"工单当前状态为「{labels.STATUS[status]}」，请先派单，再办理案结事了")
    ticket.dispute_stage = "concluded"
    lifecycle.record_event(ticket, "dispute_concluded", actor, {"status": ticket.status})
    ctx.session.flush()
    return ticket


# ---------------------------------------------------------------- lists and figures


def open_disputes(session: Session, grid_scope: tuple[str, ...] | None = None,
                  area_scope: tuple[str, ...] | None = None,
                  limit: int = 500) -> list[Ticket]:  # fmt: skip
    """Open dispute tickets (not concluded, not final), the highest risk first."""
    query = select(Ticket).where(
        Ticket.category == DISPUTES,
        Ticket.status.in_(labels.OPEN_STATUSES),
    )
    rows = [t for t in session.scalars(query.order_by(Ticket.created_at.desc()).limit(limit))]
    rows = [t for t in rows if _in_scope(t, grid_scope, area_scope)]
    order = {code: i for i, code in enumerate(labels.RISK_GRADE)}
    return sorted(rows, key=lambda t: order.get(t.risk_grade or "", len(order)))


def _in_scope(ticket: Ticket, grid_scope: tuple[str, ...] | None,
              area_scope: tuple[str, ...] | None) -> bool:  # fmt: skip
    if grid_scope is None or (ticket.grid_code or "") in grid_scope:
        return True
    return not ticket.grid_code and (ticket.area_code or "") in (area_scope or ())


@dataclass
class Figures:  # 矛盾纠纷化解 of one street or community
    level: str  # "street" | "community" | "" (all)
    code: str
    name: str
    registered: int = 0
    success: int = 0
    failed: int = 0
    settled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCOPE_TIERS, 0))

    @property
    def rate(self) -> float | None:  # 调解成功率
        tried = self.success + self.failed
        return self.success / tried if tried else None

    def add(self, outcome: str | None, settled_tier: str | None) -> None:
        self.registered += 1
        if outcome == "success":
            self.success += 1
            for scope, tiers in SCOPE_TIERS.items():
                if (settled_tier or "") in tiers:
                    self.settled[scope] += 1
        elif outcome == "failed":
            self.failed += 1


@dataclass(frozen=True)
class FigureTable:
    start: date
    end: date  # inclusive
    rows: list[Figures]  # each street, then its communities
    total: Figures


def _places(registry: Registry, ticket_grid: str | None,
            area: str | None) -> tuple[str | None, str | None]:  # fmt: skip
    """(community, street) of a ticket: from its grid, else from the unit it was filed at."""
    if ticket_grid and ticket_grid in registry.grids:
        grid = registry.grids[ticket_grid]
        return grid.community, grid.street
    unit = registry.units.get(area or "")
    if unit is None:
        return None, None
    if unit.tier == "community":
        return unit.code, unit.parent
    if unit.tier == "street":
        return None, unit.code
    return None, None


def _counted(grid_code: str | None, area_code: str | None, grids: set[str],
             units: set[str]) -> bool:  # fmt: skip
    """In one of the grids, or without a grid in one of the units."""
    if grid_code:
        return grid_code in grids
    return (area_code or "") in units


def figures(
    session: Session,
    registry: Registry,
    unit_code: str | None,
    start: date,
    end: date,
    *,
    grid_scope: tuple[str, ...] | None = None,
) -> FigureTable:
    """The dispute figures of the disputes filed from ``start`` to ``end`` (local days,
    inclusive) per street and per community (definitions in the module's text), within
    ``unit_code`` (a district, street or community; None: everywhere) and, for a grid
    worker, within ``grid_scope``."""
    query = (
        select(Ticket.grid_code, Ticket.area_code, Ticket.settled_tier, Mediation.outcome)
        .outerjoin(Mediation, Mediation.ticket_id == Ticket.id)
        .where(
            Ticket.category == DISPUTES,
            Ticket.created_at >= local_midnight(start),
            Ticket.created_at < local_midnight(date.fromordinal(end.toordinal() + 1)),
            Ticket.status.not_in((*NOT_COUNTED, "draft")),
        )
    )
    grids: set[str] | None = None
    units: set[str] = set()
    if unit_code:
        grids = {g.code for g in registry.grids_within(unit_code)}
        units = set(registry.units_within(unit_code))
    if grid_scope is not None:
        grids = set(grid_scope) if grids is None else grids & set(grid_scope)
        units = set()
    by_unit: dict[str, Figures] = {}
    total = Figures("", "", "合计")
    for grid_code, area_code, settled_tier, outcome in session.execute(query):
        if grids is not None and not _counted(grid_code, area_code, grids, units):
            continue  # outside the unit (or the worker's grids)
        community, street = _places(registry, grid_code, area_code)
        total.add(outcome, settled_tier)
        for level, code in (("street", street), ("community", community)):
            if code and code in registry.units:
                row = by_unit.setdefault(code, Figures(level, code, registry.units[code].name))
                row.add(outcome, settled_tier)
    streets = sorted((f for f in by_unit.values() if f.level == "street"), key=lambda f: f.code)
    rows: list[Figures] = []
    for street_row in streets:
        rows.append(street_row)
        rows += sorted(
            (f for f in by_unit.values()
             if f.level == "community" and registry.units[f.code].parent == street_row.code),
            key=lambda f: f.code,
        )  # fmt: skip
    listed = {f.code for f in rows}
    rows += sorted((f for f in by_unit.values() if f.code not in listed), key=lambda f: f.code)
    return FigureTable(start, end, rows, total)


def stage_steps(ticket: Ticket) -> list[dict[str, Any]]:
    """The six steps with whether each is done, current or to come (the progress bar)."""
    current = ticket.dispute_stage if ticket.dispute_stage in STAGES else "registered"
    at = STAGES.index(current)
    return [
        {"code": code, "label": label,
         "state": "done" if i < at else ("current" if i == at else "todo")}
        for i, (code, label) in enumerate(labels.DISPUTE_STAGE.items())
    ]  # fmt: skip
