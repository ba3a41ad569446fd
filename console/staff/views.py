"""Console pages: login, review queue, ticket page with actions, hotline intake, export."""

from __future__ import annotations

import csv
import io
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import yaml
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from openpyxl import Workbook
from pydantic import ValidationError
from sqlalchemy.orm import Session

from accounts import service as user_service
from casestore.models import Attachment, Channel, Ticket, TicketStatus
from casestore.schemas import TicketAction, TicketDraft, TranscriptLine
from casestore.services import lifecycle, queue
from casestore.services import tickets as ticket_service
from console.paths import templates
from console.staff.auth import (
    COOKIE,
    DeskStaffDep,
    LoginThrottle,
    Staff,
    StaffDep,
    check_csrf,
    staff_from_request,
)
from console.staff.mapsvg import grid_svg
from core import labels
from core.clock import LOCAL_TZ
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.taxonomy import Taxonomy
from grids.api import RegistryDep, get_registry, get_resolver
from grids.registry import Registry
from retraining.rasa_client import to_prediction

router = APIRouter(tags=["console"], include_in_schema=False)
log = logging.getLogger(__name__)
throttle = LoginThrottle()

PAGE_SIZE = 50
LOGIN_COOKIE = "petition_login"
CHANNEL_LABELS = {
    "webchat": "网页留言",
    "telegram": "Telegram",
    "hotline": "热线电话",
    "rest": "接口",
    "open311": "Open311",
}
STATUS_VIEWS = {
    "review": ("待审核", (TicketStatus.SUBMITTED, TicketStatus.REOPENED)),
    "open": ("办理中（全部未办结）", queue.OPEN_STATUSES),
    "all": ("全部", ()),
}
EXPORT_COLUMNS = [
    ("工单号", "number"),
    ("状态", "status_label"),
    ("一级分类", "category_name"),
    ("二级分类", "subcategory_name"),
    ("置信度", "confidence"),
    ("网格", "grid_name"),
    ("地点", "location_text"),
    ("诉求内容", "description"),
    ("渠道", "channel_label"),
    ("承办", "assigned_to"),
    ("受理时间", "created"),
    ("办理期限", "due"),
    ("预警", "sla_label"),
    ("满意度", "rating"),
]


EVENT_LABELS = {
    "created": "受理",
    "handoff_requested": "市民要求人工",
    "attachments_linked": "附上照片",
    "attachment_added": "补充照片",
    "resident_message": "市民留言",
    "merged_from": "合并入其他工单",
    **{kind: lifecycle.ACTION_LABELS[action] for action, kind in lifecycle.EVENT_KINDS.items()},
}


def _localtime(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _event_detail(data: dict[str, Any]) -> str:
    parts = []
    for key, value in data.items():
        if isinstance(value, dict):
            value = f"{value.get('from')} → {value.get('to')}"
        if value not in (None, ""):
            parts.append(f"{key}: {value}")
    return "；".join(parts)


templates.env.filters["localtime"] = _localtime
templates.env.filters["event_label"] = lambda kind: EVENT_LABELS.get(kind, kind)
templates.env.filters["event_detail"] = _event_detail


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request=request, name=f"staff/{name}", context=context, status_code=status_code
    )


@lru_cache
def reply_templates(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(yaml.safe_load(fh)["templates"])


# ---------------------------------------------------------------- login / logout


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if staff_from_request(request, session):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, {"next": _safe_next(next), "error": None})


def _login_page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """The login form carries a fresh token that must match its cookie (login CSRF)."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {**context, "login_token": token}, status_code)
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login"
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    login_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    address = _address(request)
    context: dict[str, Any] = {"next": _safe_next(next), "username": username}
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, login_token):
        context["error"] = "登录页面已过期，请重新输入"
        return _login_page(request, context, status_code=403)
    if throttle.blocked(address, username):
        context["error"] = "登录失败次数过多，请15分钟后再试"
        return _login_page(request, context, status_code=429)
    user = user_service.authenticate(session=session, username=username, password=password)
    if user is None:
        throttle.failed(address, username)
        context["error"] = "用户名或密码错误"
        return _login_page(request, context, status_code=401)
    throttle.succeeded(address, username)
    new = user_service.start_session(
        session=session, user=user, hours=settings.console_session_hours
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = settings.console_cookie_secure
    response.set_cookie(
        COOKIE,
        new.token,
        max_age=settings.console_session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" if secure is None else secure,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(staff, csrf_token)
    user_service.end_session(session=session, token=request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---------------------------------------------------------------- queue


def _parse_date(value: str | None, what: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{what}格式应为 年-月-日，例如 2026-11-26")
        return None


@dataclass(frozen=True)
class QueueParams:
    """The queue's filters as they come in the URL (shared by the page and the exports)."""

    view: str = "review"
    category: str | None = None
    grid: str | None = None
    channel: str | None = None
    since: str | None = None
    until: str | None = None
    overdue: bool = False
    q: str | None = None


def queue_params(
    view: Annotated[str, Query(max_length=32)] = "review",
    category: Annotated[str | None, Query(max_length=64)] = None,
    grid: Annotated[str | None, Query(max_length=32)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> QueueParams:
    return QueueParams(view, category, grid, channel, since, until, overdue, q)


QueueParamsDep = Annotated[QueueParams, Depends(queue_params)]


def _queue_filter(staff: Staff, p: QueueParams, errors: list[str]) -> queue.QueueFilter:
    view = p.view
    if view in STATUS_VIEWS:
        statuses = tuple(s.value for s in STATUS_VIEWS[view][1])
    elif view in {s.value for s in TicketStatus}:
        statuses = (view,)
    else:
        errors.append("未知的状态筛选")
        statuses = ()
    return queue.QueueFilter(
        statuses=statuses,
        category=p.category or None,
        grid_code=p.grid or None,
        channel=p.channel or None,
        since=_parse_date(p.since, "开始日期", errors),
        until=_parse_date(p.until, "结束日期", errors),
        overdue=p.overdue,
        q=(p.q or "").strip() or None,
        grid_scope=staff.grid_scope,
    )


def row_view(ticket: Ticket, taxonomy: Taxonomy, registry: Registry) -> dict[str, Any]:
    category = taxonomy.get(ticket.category)
    sub = category.subcategory(ticket.subcategory) if category and ticket.subcategory else None
    grid = registry.grids.get(ticket.grid_code) if ticket.grid_code else None
    level = queue.sla_level(ticket)
    local = LOCAL_TZ
    return {
        "ticket": ticket,
        "number": ticket.number,
        "status_label": labels.STATUS[TicketStatus(ticket.status)],
        "category_name": category.name if category else ticket.category,
        "subcategory_name": sub.name if sub else "",
        "confidence": ticket.nlu_confidence,
        "grid_name": grid.name if grid else "",
        "grid_full": registry.full_name(grid.code) if grid else "",
        "location_text": ticket.location_text,
        "description": ticket.description,
        "channel_label": CHANNEL_LABELS.get(ticket.channel, ticket.channel),
        "assigned_to": ticket.assigned_to or "",
        "created": ticket.created_at.astimezone(local).strftime("%Y-%m-%d %H:%M"),
        "due": ticket.due_at.astimezone(local).strftime("%Y-%m-%d %H:%M"),
        "age": queue.age_text(ticket),
        "sla": level,
        "open": ticket.status in queue.OPEN_STATUSES,
        "sla_label": queue.SLA_LABELS[level],
        "rating": lifecycle.RATINGS.get(ticket.rating or "", ""),
    }


def _filter_context(
    taxonomy: Taxonomy, registry: Registry, staff: Staff, params: dict[str, Any]
) -> dict[str, Any]:
    grids = [
        (g.code, registry.full_name(g.code))
        for g in registry.grids.values()
        if staff.sees_grid(g.code)
    ]
    return {
        "params": params,
        "views": [(k, v[0]) for k, v in STATUS_VIEWS.items()]
        + [(s, label) for s, label in labels.STATUS.items() if s != TicketStatus.DRAFT],
        "categories": [(c.code, c.name) for c in taxonomy.categories],
        "grids": grids,
        "channels": list(CHANNEL_LABELS.items()),
        "query_string": urlencode({k: v for k, v in params.items() if v not in (None, "", False)}),
    }


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    params: QueueParamsDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    errors: list[str] = []
    f = _queue_filter(staff, params, errors)
    rows, total = queue.list_queue(
        session=session, f=f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    context = {
        "staff": staff,
        "rows": [row_view(t, taxonomy, registry) for t in rows],
        "total": total,
        "page": page,
        "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        "errors": errors,
        **_filter_context(taxonomy, registry, staff, asdict(params)),
    }
    return render(request, "queue.html", context, status_code=422 if errors else 200)


# ---------------------------------------------------------------- ticket page


class TicketNotVisibleError(Exception):
    """Unknown number, or a grid worker asking for another grid's ticket (404 page)."""


def _visible_ticket(session: Session, staff: Staff, number: str) -> Ticket:
    ticket = ticket_service.get_ticket(session=session, number=number) if number.isdigit() else None
    if ticket is None or not staff.sees_grid(ticket.grid_code):
        raise TicketNotVisibleError(number)
    return ticket


def _ticket_context(
    request: Request,
    session: Session,
    taxonomy: Taxonomy,
    registry: Registry,
    staff: Staff,
    ticket: Ticket,
) -> dict[str, Any]:
    settings = request.app.state.settings
    resolver = get_resolver(request)
    resolution = resolver.resolve_text(ticket.location_text or ticket.description)
    point = (
        (ticket.longitude, ticket.latitude)
        if ticket.longitude is not None and ticket.latitude is not None
        else None
    )
    candidates = []
    for item in ticket.nlu_candidates or []:
        category = taxonomy.get(str(item.get("category")))
        candidates.append(
            {
                "name": category.name if category else item.get("category"),
                "confidence": float(item.get("confidence") or 0),
            }
        )
    handler = lifecycle.handler_for(
        lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry), ticket
    )
    status = TicketStatus(ticket.status)
    return {
        "staff": staff,
        "row": row_view(ticket, taxonomy, registry),
        "ticket": ticket,
        "candidates": candidates[:3],
        "grid_candidates": [
            {"code": c.grid.code, "name": registry.full_name(c.grid.code), "score": c.score}
            for c in resolution.candidates[:3]
        ],
        "map": grid_svg(registry, ticket.grid_code, point)
        if ticket.grid_code in registry.grids
        else None,
        "similar": [
            (row_view(t, taxonomy, registry), score)
            for t, score in queue.similar_open(session=session, ticket=ticket)
            if staff.sees_grid(t.grid_code)
        ],
        "events": ticket.events,
        "allowed": {name for name, states in lifecycle.ALLOWED_FROM.items() if status in states}
        - {"rate"},
        "labels": lifecycle.ACTION_LABELS,
        "reject_reasons": lifecycle.REJECT_REASONS,
        "tier_labels": lifecycle.TIER_LABELS,
        "taxonomy": taxonomy,
        "grids": [
            (g.code, registry.full_name(g.code))
            for g in registry.grids.values()
            if staff.sees_grid(g.code)
        ],
        "replies": [
            {"title": t["title"], "text": t["text"].format(number=ticket.number, handler=handler)}
            for t in reply_templates(settings.data_dir / "reply_templates.yml")
        ],
        "done": lifecycle.ACTION_LABELS.get(request.query_params.get("done", ""), ""),
        "error": None,
    }


@router.get("/tickets/{number}", response_class=HTMLResponse)
def ticket_page(
    number: str,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> HTMLResponse:
    ticket = _visible_ticket(session, staff, number)
    return render(
        request, "ticket.html", _ticket_context(request, session, taxonomy, registry, staff, ticket)
    )


@router.post("/tickets/{number}/actions", response_class=HTMLResponse)
async def ticket_action(
    number: str,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    form = await request.form()
    check_csrf(staff, str(form.get("csrf_token") or ""))
    ticket = _visible_ticket(session, staff, number)
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    if fields.get("action") == "rate":
        fields["action"] = ""  # residents rate, staff do not
    error: tuple[int, str] | None = None
    try:
        action = TicketAction.model_validate({**fields, "actor": staff.actor})
        if action.grid_code and not staff.sees_grid(action.grid_code):
            raise lifecycle.ActionInputError("不能把工单改到您负责范围以外的网格")
        lifecycle.apply_action(
            lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry), ticket, action
        )
    except ValidationError as exc:
        error = (422, _validation_message(exc))
    except lifecycle.ActionInputError as exc:
        error = (422, str(exc))
    except lifecycle.ActionError as exc:
        error = (409, str(exc))
    if error:
        session.rollback()
        ticket = _visible_ticket(session, staff, number)
        context = _ticket_context(request, session, taxonomy, registry, staff, ticket)
        context["error"] = error[1]
        return render(request, "ticket.html", context, status_code=error[0])
    return RedirectResponse(f"/tickets/{number}?done={action.action}", status_code=303)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    names = {"action": "操作", "text": "内容", "version": "版本", "description": "诉求内容"}
    if field in names:
        return f"{names[field]}填写有误：请检查后重新提交"
    return "提交的内容有误，请检查后重新提交"


@router.get("/tickets/{number}/photos/{attachment_id}")
def ticket_photo(number: str, attachment_id: int, session: SessionDep, staff: StaffDep) -> Response:
    ticket = _visible_ticket(session, staff, number)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise TicketNotVisibleError(number)
    return Response(
        attachment.data,
        media_type=attachment.content_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )


# ---------------------------------------------------------------- hotline intake


@router.get("/intake", response_class=HTMLResponse)
def intake_form(request: Request, taxonomy: TaxonomyDep, staff: DeskStaffDep) -> HTMLResponse:
    return render(request, "intake.html", _intake_context(taxonomy, request, staff, {}, None))


def _intake_context(
    taxonomy: Taxonomy,
    request: Request,
    staff: Staff,
    values: dict[str, Any],
    error: str | None,
) -> dict[str, Any]:
    registry = get_registry(request)
    return {
        "staff": staff,
        "taxonomy": taxonomy,
        "grids": [(g.code, registry.full_name(g.code)) for g in registry.grids.values()],
        "values": {"submission_key": f"hotline:{uuid.uuid4().hex}", **values},
        "error": error,
    }


@router.post("/intake/suggest")
async def intake_suggest(
    request: Request,
    taxonomy: TaxonomyDep,
    staff: DeskStaffDep,
) -> JSONResponse:
    """The bot's classification and grid suggestions for what the caller said."""
    form = await request.form()
    check_csrf(staff, str(form.get("csrf_token") or ""))
    description = str(form.get("description") or "").strip()[:2000]
    location = str(form.get("location_text") or "").strip()[:200]
    if len(description) < 2:
        return JSONResponse({"detail": "请先填写诉求内容"}, status_code=422)
    resolution = get_resolver(request).resolve_text(f"{location} {description}")
    registry = get_registry(request)
    result: dict[str, Any] = {
        "grids": [
            {"code": c.grid.code, "name": registry.full_name(c.grid.code), "score": c.score}
            for c in resolution.candidates[:3]
        ],
        "categories": [],
        "notice": "",
    }
    settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.rasa_client
    try:
        response = await client.post(
            "/model/parse", params={"token": settings.rasa_token}, json={"text": description}
        )
        response.raise_for_status()
        prediction = to_prediction(response.json())
    except httpx.HTTPError:
        result["notice"] = "自动分类暂不可用，请手动选择分类"
        return JSONResponse(result)
    for code, confidence in prediction.top3:
        category = taxonomy.get(code)
        if category:
            result["categories"].append(
                {"code": code, "name": category.name, "confidence": round(confidence, 3)}
            )
    result["subcategory"] = prediction.subcategory if prediction.category else None
    return JSONResponse(result)


@router.post("/intake", response_class=HTMLResponse)
async def intake_submit(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: DeskStaffDep,
) -> Response:
    form = await request.form()
    check_csrf(staff, str(form.get("csrf_token") or ""))
    values = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    anonymous = values.get("anonymous") == "on"
    error: str | None = None
    try:
        draft = TicketDraft(
            submission_key=values.get("submission_key", ""),
            category=values.get("category", ""),
            subcategory=values.get("subcategory") or None,
            grid_code=values.get("grid_code") or None,
            location_text=values.get("location_text", ""),
            description=values.get("description", ""),
            contact_phone=None if anonymous else values.get("contact_phone") or None,
            anonymous=anonymous,
            channel=Channel.HOTLINE,
            transcript=[TranscriptLine(role="staff", text=values.get("description", "")[:5000])],
        )
        if draft.grid_code and draft.grid_code not in registry.grids:
            raise ValueError(f"未知的网格编码：{draft.grid_code}")
        ticket, _ = ticket_service.create_ticket(
            session=session, draft=draft, taxonomy=taxonomy, actor=staff.actor
        )
    except ValidationError as exc:
        error = _draft_message(exc)
    except ValueError as exc:  # includes UnknownCategoryError
        error = str(exc)
    if error:
        context = _intake_context(taxonomy, request, staff, values, error)
        return render(request, "intake.html", context, status_code=422)
    return RedirectResponse(f"/tickets/{ticket.number}?done=intake", status_code=303)


def _draft_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    names = {
        "category": "请选择分类",
        "description": "诉求内容至少2个字，最多2000字",
        "location_text": "地点最多200字",
        "submission_key": "表单已过期，请刷新页面后重新填写",
    }
    return names.get(field, message)


# ---------------------------------------------------------------- export


@router.get("/export.{fmt}")
def export(
    fmt: str,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    params: QueueParamsDep,
) -> Response:
    """The filtered list as XLSX or CSV (UTF-8 with BOM so Excel reads the Chinese)."""
    errors: list[str] = []
    f = _queue_filter(staff, params, errors)
    if errors or fmt not in {"csv", "xlsx"}:
        return JSONResponse({"detail": errors[0] if errors else "只支持 csv 或 xlsx"}, 422)
    rows = (row_view(t, taxonomy, registry) for t in queue.iter_all(session=session, f=f))
    header = [title for title, _ in EXPORT_COLUMNS]
    stamp = date.today().strftime("%Y%m%d")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(row[key]) for _, key in EXPORT_COLUMNS])
        return Response(
            "\ufeff" + buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="tickets-{stamp}.csv"'},
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(row[key]) for _, key in EXPORT_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="tickets-{stamp}.xlsx"'},
    )


def _cell(value: Any) -> Any:
    """Spreadsheet-safe: no formula injection from resident text."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@"}:
        return "'" + value
    return "" if value is None else value


# ---------------------------------------------------------------- errors


def install(app: Any) -> None:
    """Mount the console and turn its exceptions into pages."""
    from fastapi import FastAPI

    from console.staff import admin, taxonomy, training
    from console.staff.auth import CsrfError, ForbiddenError, LoginRequiredError

    assert isinstance(app, FastAPI)
    app.include_router(router)
    app.include_router(admin.router)
    app.include_router(training.router)
    app.include_router(taxonomy.router)

    def _error_page(request: Request, message: str, status_code: int) -> HTMLResponse:
        session_maker = request.app.state.sessionmaker
        with session_maker() as session:
            staff = staff_from_request(request, session)
        return render(
            request, "error.html", {"staff": staff, "message": message}, status_code=status_code
        )

    @app.exception_handler(LoginRequiredError)
    async def _login(request: Request, exc: LoginRequiredError) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return _error_page(request, "登录已过期，请重新登录后再操作", 401)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, exc: ForbiddenError) -> Response:
        return _error_page(request, "您的账号没有此项权限", 403)

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return _error_page(request, "页面已过期（安全校验失败），请刷新页面后重试", 403)

    @app.exception_handler(TicketNotVisibleError)
    async def _missing(request: Request, exc: TicketNotVisibleError) -> Response:
        return _error_page(request, f"未找到工单 {exc.args[0]}，或不在您负责的网格内", 404)
