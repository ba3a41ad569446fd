"""The review queue (工单队列) and its exports: one set of filters, a page and two files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from casestore.models import Ticket
from casestore.services import queue as queue_service
from console.staff.auth import Staff, StaffDep
from console.staff.export import cell as cell  # the queue's tests import it from here
from console.staff.export import export_fields, export_response
from console.staff.rendering import localtime, render
from console.staff.roles import ROLES
from core import labels
from core.clock import local_midnight, utcnow
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.taxonomy import UNCLASSIFIED, Taxonomy
from grids.api import RegistryDep
from grids.registry import Registry, Unit

router = APIRouter(tags=["console"], include_in_schema=False)

PAGE_SIZE = 50
# The queue's own views (labels.QUEUE_VIEW) and the statuses each shows; () is every status.
# "tasks" (the handlers' open tasks) and "mine" (the tickets the signed-in user acted on) are
# picked by the queue service: queue_service.QueueFilter.
VIEW_STATUSES: dict[str, tuple[str, ...]] = {
    "review": labels.REVIEW_STATUSES,
    "tasks": (),
    "open": labels.OPEN_STATUSES,
    "all": (),
    "mine": (),
}


def parse_date(value: str | None, what: str, errors: list[str]) -> date | None:
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

    view: str | None = None  # None: the role's default (roles.ROLES)
    category: str | None = None
    grid: str | None = None
    channel: str | None = None
    since: str | None = None
    until: str | None = None
    overdue: bool = False
    q: str | None = None


def queue_params(
    view: Annotated[str | None, Query(max_length=32)] = None,
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


def unit_codes(registry: Registry | None) -> dict[str, Unit]:
    return registry.units if registry else {}


def unit_filter(
    registry: Registry | None, code: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """A community, street or district chosen in the place filter: its grids and sub-units."""
    if not registry or not code or code not in registry.units:
        return None
    grids = tuple(g.code for g in registry.grids_within(code))
    units = tuple(u.code for u in registry.units.values() if code in _ancestors(registry, u))
    return grids, units


def _ancestors(registry: Registry, unit: Unit) -> tuple[str, ...]:
    return tuple(step["code"] for step in registry.chain(unit.code))


def default_view(staff: Staff) -> str:
    return ROLES[staff.role].views[0]


def queue_filter(
    staff: Staff, p: QueueParams, errors: list[str], registry: Registry | None = None
) -> queue_service.QueueFilter:
    """The service's filter; problems with the parameters are appended to `errors`."""
    view = p.view or default_view(staff)
    if view in ROLES[staff.role].views:
        statuses = VIEW_STATUSES[view]
    elif view in VIEW_STATUSES:
        errors.append(f"{staff.role_label}没有「{labels.QUEUE_VIEW[view]}」视图")
        statuses = ()
    elif view in labels.STATUS:
        statuses = (view,)
    else:
        errors.append("未知的状态筛选")
        statuses = ()
    since = parse_date(p.since, "开始日期", errors)
    until = parse_date(p.until, "结束日期", errors)  # inclusive: up to the next midnight
    return queue_service.QueueFilter(
        tasks=view == "tasks",
        actor=staff.actor if view == "mine" else None,
        statuses=statuses,
        category=p.category or None,
        grid_code=p.grid if p.grid and p.grid not in unit_codes(registry) else None,
        unit=unit_filter(registry, p.grid),
        channel=p.channel or None,
        since=local_midnight(since) if since else None,
        until=local_midnight(until + timedelta(days=1)) if until else None,
        overdue=p.overdue,
        q=(p.q or "").strip() or None,
        grid_scope=staff.grid_scope,
        area_scope=staff.area_scope,
    )


def area_text(registry: Registry, area: Unit | None) -> str:
    """ "武侯区 玉林街道 黉门街社区（待社区（村）分派）": a ticket known only at that level."""
    if area is None:
        return ""
    tier = labels.label(labels.TIER, area.tier)
    queue = labels.PLACEHOLDER["area_queue"].replace("{tier}", tier)
    return f"{registry.full_name(area.code)}（{queue}）"


def row_view(ticket: Ticket, taxonomy: Taxonomy, registry: Registry) -> dict[str, Any]:
    """One ticket as the queue, the ticket page and the exports show it (labels, local time)."""
    category = taxonomy.get(ticket.category)
    sub = category.subcategory(ticket.subcategory) if category and ticket.subcategory else None
    grid = registry.grids.get(ticket.grid_code) if ticket.grid_code else None
    area = registry.units.get(ticket.area_code) if ticket.area_code and not grid else None
    level = queue_service.sla_level(ticket)
    return {
        "ticket": ticket,
        "number": ticket.number,
        "status_label": labels.label(labels.STATUS, ticket.status),
        "category_name": taxonomy.name_of(ticket.category),
        "subcategory_name": sub.name if sub else "",
        "confidence": ticket.nlu_confidence,
        "grid_name": grid.name if grid else (area.name if area else ""),
        "grid_full": registry.full_name(grid.code) if grid else area_text(registry, area),
        "location_text": ticket.location_text,
        "description": ticket.description,
        "channel_label": labels.label(labels.CHANNEL, ticket.channel),
        "assigned_to": ticket.assigned_to or "",
        "created": localtime(ticket.created_at),
        "due": localtime(ticket.due_at),
        "age": queue_service.age_text(ticket),
        "sla": level,
        "open": ticket.status in labels.OPEN_STATUSES,
        "came_back": ticket.status in {"reopened", "returned"},  # the resident or the unit
        "sla_label": labels.SLA[level],
        "rating": labels.RATING.get(ticket.rating or "", ""),
        "flags": flags(ticket),
    }


def flags(ticket: Ticket) -> list[dict[str, str]]:
    """The marks beside a ticket (督办, 催办×N, 延期待批, 转人工) while it is open."""
    if ticket.status not in labels.OPEN_STATUSES:
        return []
    marks = []
    if ticket.supervised:
        marks.append({"code": "supervised", "label": labels.FLAG["supervised"]})
    if ticket.urge_count:
        urged = labels.FLAG["urged"]
        marks.append({"code": "urged", "label": f"{urged}×{ticket.urge_count}"})
    if ticket.extension_days:
        marks.append({"code": "extension", "label": labels.FLAG["extension_requested"]})
    if ticket.handoff_requested:
        marks.append({"code": "handoff", "label": labels.FLAG["handoff"]})
    return marks


def _filter_context(
    taxonomy: Taxonomy, registry: Registry, staff: Staff, params: dict[str, Any]
) -> dict[str, Any]:
    grids = [
        (g.code, registry.full_name(g.code))
        for g in registry.grids.values()
        if staff.sees_grid(g.code)
    ]
    if staff.grid_scope is None:  # the queues of communities, streets and districts
        grids = [
            (u.code, f"{registry.full_name(u.code)}（{labels.label(labels.TIER, u.tier)}）")
            for u in sorted(registry.units.values(), key=lambda u: u.code)
        ] + grids
    return {
        "params": params,
        "views": [(v, labels.QUEUE_VIEW[v]) for v in ROLES[staff.role].views],
        "statuses": [(s, label) for s, label in labels.STATUS.items() if s != "draft"],
        "categories": [(c.code, c.name) for c in taxonomy.categories]
        + [(UNCLASSIFIED, labels.UNCLASSIFIED)],
        "grids": grids,
        "channels": list(labels.CHANNEL.items()),
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
    params = replace(params, view=params.view or default_view(staff))
    f = queue_filter(staff, params, errors, registry)
    rows, total = queue_service.list_queue(
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


# ---------------------------------------------------------------- export


@router.get("/export.{fmt}")
def export(
    fmt: str,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    settings: SettingsDep,
    staff: StaffDep,
    params: QueueParamsDep,
) -> Response:
    """The filtered list as XLSX or CSV (console/staff/export.py writes the file)."""
    errors: list[str] = []
    f = queue_filter(staff, params, errors, registry)
    if errors or fmt not in {"csv", "xlsx"}:
        return JSONResponse({"detail": errors[0] if errors else "只支持 csv 或 xlsx"}, 422)
    zone = settings.local_tz
    rows = (
        {**row_view(t, taxonomy, registry), **export_fields(t, registry, zone)}
        for t in queue_service.iter_all(session=session, f=f)
    )
    return export_response(fmt, rows, stamp=utcnow().astimezone(zone).strftime("%Y%m%d"))
