"""The dispute line's pages (矛盾纠纷): a dispute's mediation record (调解记录) with its steps,
and the open disputes with the figures of where disputes are settled.

Staff and admins take every step; grid workers, on the disputes of their grids, record the
parties, sessions, outcome and agreement and divert a dispute upwards; 风险研判, 跟踪督办 and
案结事了 are the hotline's and supervisors'. Every step is a ticket event (its audit).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from accounts.models import Role
from casestore.models import Ticket
from casestore.services import disputes, lifecycle
from console.staff.auth import ForbiddenError, FormDataDep, Staff, StaffDep
from console.staff.queue import parse_date, row_view
from console.staff.rendering import error_page, render
from console.staff.tickets import stored_file, visible_ticket
from core import labels
from core.clock import LOCAL_TZ, utcnow
from core.deps import SessionDep, TaxonomyDep
from core.taxonomy import Taxonomy
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)

STEPS = ("parties", "session", "grade", "divert", "supervise", "outcome", "agreement", "conclude")
STEP_LABELS = {
    "parties": labels.EVENT["dispute_parties"],
    "session": labels.EVENT["mediation_session"],
    "grade": labels.DISPUTE_STAGE["assessed"],
    "divert": labels.DISPUTE_STAGE["diverted"],
    "supervise": labels.DISPUTE_STAGE["supervising"],
    "outcome": labels.EVENT["mediation_outcome"],
    "agreement": labels.EVENT["mediation_agreement"],
    "conclude": labels.DISPUTE_STAGE["concluded"],
}
WORKER_STEPS = frozenset({"parties", "session", "divert", "outcome", "agreement"})
BLANK_PARTY_ROWS = 2
MAX_DAYS = 366


class StepRefusedError(Exception):
    """The signed-in role may not take this step (403, shown on the page)."""


def _no_volunteers(staff: Staff) -> None:
    if staff.role == Role.VOLUNTEER:
        raise ForbiddenError


def steps_for(staff: Staff) -> frozenset[str]:
    return WORKER_STEPS if staff.role == Role.GRID_WORKER else frozenset(STEPS)


def _context(staff: Staff, ticket: Ticket, taxonomy: Taxonomy,
             registry: Registry) -> lifecycle.Context:  # fmt: skip
    session = Session.object_session(ticket)
    assert session is not None
    return lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry,
                             grid_scope=staff.grid_scope, area_scope=staff.area_scope)  # fmt: skip


def _page(
    request: Request,
    session: Session,
    taxonomy: Taxonomy,
    registry: Registry,
    staff: Staff,
    ticket: Ticket,
) -> dict[str, Any]:
    mediation = ticket.mediation
    parties = list(mediation.parties) if mediation else []
    blank = {"name": "", "phone": "", "role": "other"}
    agreement = disputes.agreement_of(session, ticket)
    final = ticket.status in labels.FINAL_STATUSES or disputes.concluded(ticket)
    return {
        "staff": staff,
        "ticket": ticket,
        "row": row_view(ticket, taxonomy, registry),
        "mediation": mediation,
        "steps": disputes.stage_steps(ticket),
        "grade": ticket.risk_grade,
        "parties": parties + [blank] * BLANK_PARTY_ROWS,
        "sessions": list(mediation.sessions) if mediation else [],
        "agreement": agreement,
        "allowed": set() if final else steps_for(staff),
        "final": final,
        "can_conclude": disputes.can_conclude(ticket),
        "suggested_tier": disputes.suggested_tier(ticket),
        "divert_tiers": [(t, labels.TIER[t]) for t in disputes.DIVERT_TIERS],
        "today": utcnow().astimezone(LOCAL_TZ).date().isoformat(),
        "settled_scope": _settled_scope(ticket.settled_tier),
        "done": STEP_LABELS.get(request.query_params.get("done", ""), ""),
        "error": None,
        "entered": {},
    }


def _settled_scope(tier: str | None) -> str:
    """不出村（社区） … for the tier a dispute was settled at ("" when not settled)."""
    for scope, tiers in disputes.SCOPE_TIERS.items():
        if tier and tier in tiers:
            return labels.SETTLED_SCOPE[scope]
    return ""


def dispute_ticket(session: Session, staff: Staff, number: str) -> Ticket:
    _no_volunteers(staff)
    return visible_ticket(session, staff, number)


@router.get("/tickets/{number}/mediation", response_class=HTMLResponse)
def mediation_page(
    number: str,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> HTMLResponse:
    ticket = dispute_ticket(session, staff, number)
    if ticket.category != disputes.DISPUTES:
        return error_page(request, f"工单 {number} 不属于矛盾纠纷，没有调解记录", 404)
    context = _page(request, session, taxonomy, registry, staff, ticket)
    return render(request, "mediation.html", context)


def _field(form: dict[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _held_on(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise disputes.DisputeError("调解日期格式应为 年-月-日，例如 2026-11-26") from None


def _parties(form: dict[str, str]) -> list[dict[str, str]]:
    rows = []
    for i in range(disputes.MAX_PARTIES + BLANK_PARTY_ROWS):
        if f"name_{i}" in form or f"phone_{i}" in form:
            rows.append({"name": _field(form, f"name_{i}"), "phone": _field(form, f"phone_{i}"),
                         "role": _field(form, f"role_{i}") or "other"})  # fmt: skip
    return rows


def _take_step(
    ctx: lifecycle.Context, ticket: Ticket, step: str, fields: dict[str, str], upload: Any,
    actor: str,
) -> None:  # fmt: skip
    if step == "parties":
        disputes.set_parties(ctx, ticket, _parties(fields), _field(fields, "mediator"), actor)
    elif step == "session":
        disputes.add_session(ctx, ticket, _held_on(_field(fields, "held_on")),
                             _field(fields, "place"), _field(fields, "tier"),
                             _field(fields, "mediator"), _field(fields, "summary"),
                             actor)  # fmt: skip
    elif step == "grade":
        disputes.grade(ctx, ticket, _field(fields, "risk_grade"), _field(fields, "note"), actor)
    elif step == "divert":
        disputes.divert(ctx, ticket, _field(fields, "tier"), _field(fields, "reason"), actor)
    elif step == "supervise":
        disputes.supervise(ctx, ticket, _field(fields, "note"), actor)
    elif step == "outcome":
        disputes.record_outcome(ctx, ticket, _field(fields, "outcome"), actor,
                                _field(fields, "text"), _field(fields, "referred_to"))  # fmt: skip
    elif step == "agreement":
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise disputes.DisputeError("请选择调解协议文件（PDF、JPEG 或 PNG）")
        data = upload.file.read(disputes.MAX_AGREEMENT_BYTES + 1)
        disputes.attach_agreement(ctx, ticket, upload.filename, upload.content_type or "",
                                  data, actor)  # fmt: skip
    else:
        disputes.conclude(ctx, ticket, actor)


@router.post("/tickets/{number}/mediation/{step}", response_class=HTMLResponse)
def mediation_step(
    number: str,
    step: str,
    request: Request,
    form: FormDataDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    ticket = dispute_ticket(session, staff, number)
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    error: tuple[int, str] | None = None
    try:
        if step not in STEPS:
            raise disputes.DisputeError("未知的调解记录操作")
        if step not in steps_for(staff):
            raise StepRefusedError(f"{staff.role_label}不能办理「{STEP_LABELS[step]}」")
        ctx = _context(staff, ticket, taxonomy, registry)
        _take_step(ctx, ticket, step, fields, form.get("agreement"), staff.actor)
    except StepRefusedError as exc:
        error = (403, str(exc))
    except (disputes.DisputeError, lifecycle.ActionInputError) as exc:
        error = (422, str(exc))
    except lifecycle.ActionError as exc:
        error = (409, str(exc))
    if error is None:
        return RedirectResponse(f"/tickets/{number}/mediation?done={step}", status_code=303)
    session.rollback()  # a half-taken step leaves nothing behind
    ticket = dispute_ticket(session, staff, number)
    context = _page(request, session, taxonomy, registry, staff, ticket)
    context["error"] = error[1]
    context["entered"] = {"step": step, **fields}
    return render(request, "mediation.html", context, status_code=error[0])


@router.get("/tickets/{number}/mediation/agreement")
def agreement_file(number: str, session: SessionDep, staff: StaffDep) -> Response:
    ticket = dispute_ticket(session, staff, number)
    attachment = disputes.agreement_of(session, ticket)
    if attachment is None:
        return Response("没有调解协议", status_code=404, media_type="text/plain; charset=utf-8")
    disposition = "inline" if attachment.content_type != "application/pdf" else "attachment"
    return stored_file(attachment, f"{disposition}; filename*=UTF-8''{quote(attachment.filename)}")


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    taxonomy: TaxonomyDep,
    staff: StaffDep,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    _no_volunteers(staff)
    errors: list[str] = []
    today = utcnow().astimezone(LOCAL_TZ).date()
    first = parse_date(since, "开始日期", errors) or today.replace(day=1)
    last = parse_date(until, "结束日期", errors) or today
    if last < first:
        errors.append("结束日期不能早于开始日期")
    elif (last - first).days >= MAX_DAYS:
        errors.append(f"统计期间最长 {MAX_DAYS} 天")
    if errors:
        return _disputes_page(request, session, registry, taxonomy, staff,
                              today.replace(day=1), today, errors)  # fmt: skip
    return _disputes_page(request, session, registry, taxonomy, staff, first, last, [])


def _disputes_page(
    request: Request, session: Session, registry: Registry, taxonomy: Taxonomy, staff: Staff,
    first: date, last: date, errors: list[str],
) -> HTMLResponse:  # fmt: skip
    open_rows = disputes.open_disputes(session, staff.grid_scope, staff.area_scope)
    table = disputes.figures(session, registry, None, first, last, grid_scope=staff.grid_scope)
    by_stage = {code: 0 for code in labels.DISPUTE_STAGE if code != "concluded"}
    by_grade = {code: 0 for code in labels.RISK_GRADE}
    for t in open_rows:
        stage = t.dispute_stage or "registered"
        by_stage[stage if stage in by_stage else "supervising"] += 1  # reopened after 案结事了
        if t.risk_grade in by_grade:
            by_grade[t.risk_grade] += 1
    context = {
        "staff": staff,
        "rows": [row_view(t, taxonomy, registry) for t in open_rows],
        "by_stage": by_stage,
        "by_grade": by_grade,
        "table": table,
        "definitions": disputes.DEFINITIONS,
        "scopes": list(disputes.SCOPE_TIERS),
        "since": first.isoformat(),
        "until": last.isoformat(),
        "period": f"{first.isoformat()} 至 {last.isoformat()}",
        "errors": errors,
    }
    return render(request, "disputes.html", context, status_code=422 if errors else 200)
