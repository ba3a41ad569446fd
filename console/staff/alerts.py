"""预警 pages: the alerts in the signed-in user's scope, one alert with its tickets and its
处置 (acknowledgement with a note), and the user's notices (坐席通知)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from casestore.models import Alert, Ticket
from casestore.services import warnings
from console.staff.auth import FormDep, Staff, StaffDep
from console.staff.rendering import error_page, render
from core import labels
from core.deps import SessionDep
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)

LIMIT = 200  # alerts listed
SHOWN_TICKETS = 5  # ticket links in a row of the list
# Level → the console's colour classes (console.css has no orange: yellow's, with its label).
LEVEL_CLASS = {"red": "sla-red", "orange": "sla-yellow", "yellow": "sla-yellow", "blue": "sla-blue"}
NOT_FOUND = "未找到该预警，或不在您负责的范围内"


def alert_level(alert: Alert) -> str:
    """红色预警 …; a dispute's alert shows its risk grade (红色（需多部门联合处置）…)."""
    table = labels.RISK_GRADE if alert.kind == "risk" else labels.ALERT_LEVEL
    return labels.label(table, alert.level)


def scope_filter(registry: Registry, grid_scope: tuple[str, ...] | None) -> Any:
    """SQL condition: the alerts about one of the scope's grids, or a unit holding one."""
    if grid_scope is None:
        return None
    grids = [code for code in grid_scope if code in registry.grids]
    units = {
        unit for code in grids for unit in (
            registry.grids[code].community, registry.grids[code].street,
            registry.grids[code].district,
        )
    }  # fmt: skip
    return or_(Alert.grid_code.in_(list(grid_scope)), Alert.unit_code.in_(sorted(units)))


def list_alerts(
    session: Session,
    registry: Registry,
    grid_scope: tuple[str, ...] | None,
    state: str = "open",
    kind: str | None = None,
    limit: int = LIMIT,
) -> list[Alert]:
    """Newest first: state "open" (未处置), "done" (已处置) or "all"; one kind if given."""
    query = select(Alert)
    where = scope_filter(registry, grid_scope)
    if where is not None:
        query = query.where(where)
    if state == "open":
        query = query.where(Alert.acknowledged_at.is_(None))
    elif state == "done":
        query = query.where(Alert.acknowledged_at.is_not(None))
    if kind:
        query = query.where(Alert.kind == kind)
    query = query.order_by(Alert.day.desc(), Alert.created_at.desc(), Alert.id.desc())
    return list(session.scalars(query.limit(limit)))


def visible_alert(
    session: Session, registry: Registry, staff: Staff, alert_id: str
) -> Alert | None:
    if not alert_id.isdigit() or len(alert_id) > 12:
        return None
    alert = session.get(Alert, int(alert_id))
    if alert is None or not warnings.visible(registry, alert, staff.grid_scope):
        return None
    return alert


def _row(alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert,
        "level_class": LEVEL_CLASS.get(alert.level, ""),
        "level": alert_level(alert),
        "kind": labels.label(labels.ALERT_KIND, alert.kind),
        "tickets": alert.ticket_numbers[:SHOWN_TICKETS],
        "more": max(len(alert.ticket_numbers) - SHOWN_TICKETS, 0),
    }


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
    state: Annotated[str | None, Query(max_length=8)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    errors = []
    if state and state not in labels.ALERT_STATE:
        errors.append("处置状态无效，请从列表中选择")
        state = None
    if kind and kind not in labels.ALERT_KIND:
        errors.append("预警类型无效，请从列表中选择")
        kind = None
    state = state or "open"
    rows = [_row(a) for a in list_alerts(session, registry, staff.grid_scope, state, kind)]
    context = {
        "staff": staff,
        "errors": errors,
        "rows": rows,
        "state": state,
        "kind": kind or "",
        "states": list(labels.ALERT_STATE.items()),
        "kinds": list(labels.ALERT_KIND.items()),
        "limit": LIMIT,
    }
    return render(request, "alerts.html", context, status_code=422 if errors else 200)


def _alert_context(
    session: Session, registry: Registry, staff: Staff, alert: Alert
) -> dict[str, Any]:
    numbers = list(alert.ticket_numbers)
    found = {t.number: t for t in session.scalars(select(Ticket).where(Ticket.number.in_(numbers)))}
    tickets = [found[n] for n in numbers if n in found and staff.sees_grid(found[n].grid_code)]
    return {
        "staff": staff,
        "row": _row(alert),
        "alert": alert,
        "tickets": tickets,
        "hidden": len(numbers) - len(tickets),
        "place": registry.full_name(alert.grid_code or alert.unit_code or "")
        if (alert.grid_code or alert.unit_code or "") in {**registry.grids, **registry.units}
        else "",
        "error": None,
        "note": "",
        "max_note": warnings.MAX_NOTE,
    }


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    alert_id: str,
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    alert = visible_alert(session, registry, staff, alert_id)
    if alert is None:
        return error_page(request, NOT_FOUND, 404)
    return render(request, "alert.html", _alert_context(session, registry, staff, alert))


@router.post("/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    alert_id: str,
    request: Request,
    fields: FormDep,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    alert = visible_alert(session, registry, staff, alert_id)
    if alert is None:
        return error_page(request, NOT_FOUND, 404)
    note = fields.get("note", "")
    try:
        warnings.acknowledge(session, alert.id, staff.actor, note)
    except warnings.AcknowledgeError as exc:
        session.rollback()
        alert = visible_alert(session, registry, staff, alert_id)
        if alert is None:
            return error_page(request, NOT_FOUND, 404)
        context = _alert_context(session, registry, staff, alert)
        context["error"], context["note"] = str(exc), note[: warnings.MAX_NOTE * 2]
        return render(request, "alert.html", context, status_code=422)
    warnings.mark_read(session, staff.user_id, alert.id)
    return RedirectResponse(f"/alerts/{alert.id}", status_code=303)


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    context = {
        "staff": staff,
        "notices": warnings.notices_of(session, staff.user_id),
        "unread": warnings.unread_count(session, staff.user_id),
    }
    return render(request, "notices.html", context)


@router.post("/notices/read")
def notices_read(fields: FormDep, session: SessionDep, staff: StaffDep) -> Response:
    warnings.mark_read(session, staff.user_id)
    return RedirectResponse("/notices", status_code=303)
