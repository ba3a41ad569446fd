"""统计报告 pages: a street's weekly or monthly report as a printable page, and its workbook.

Who sees which report: admins and the hotline centre's staff (no unit) choose a street or the
whole city; staff of a street (or of a district) the streets whose grids they all see — their
own street is the default and no other can be asked for; grid workers have no reports (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from accounts.models import Role
from casestore.services import assessment, reports
from console.staff.auth import ForbiddenError, Staff, StaffDep
from console.staff.rendering import error_page, render
from core import audit
from core.clock import LOCAL_TZ, utcnow
from core.deps import SessionDep, TaxonomyDep
from grids.api import RegistryDep
from grids.registry import Registry, Unit

router = APIRouter(tags=["console"], include_in_schema=False)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The page's print layout (a stylesheet of its own: the console's policy allows no inline style).
PRINT_CSS = """\
@page { size: A4; margin: 15mm; }
.report-meta { color: #555; }
#report table { width: 100%; }
@media print {
  header.topbar, nav, form, .no-print { display: none !important; }
  body { background: #fff; color: #000; font-size: 11pt; }
  main, .card { margin: 0; padding: 0; border: none; box-shadow: none; max-width: none; }
  #report table { border-collapse: collapse; }
  #report th, #report td { border: 1px solid #999; padding: 2px 4px; }
  #report tr { page-break-inside: avoid; }
  #report h2 { page-break-after: avoid; }
  #report a { color: #000; text-decoration: none; }
}
"""


def allowed_streets(registry: Registry, staff: Staff) -> list[Unit] | None:
    """The streets the staff member may report on; None: any street and the whole city."""
    if staff.role == Role.GRID_WORKER:
        raise ForbiddenError
    scope = staff.grid_scope
    if scope is None:
        return None
    seen = set(scope)
    streets = [u for u in registry.units.values() if u.tier == "street"]
    return [
        s for s in streets
        if (grids := registry.grids_within(s.code)) and all(g.code in seen for g in grids)
    ]  # fmt: skip


@dataclass(frozen=True)
class Choice:
    period: str
    since: date
    until: date
    label: str
    street: str | None
    streets: list[Unit]  # what the street selector offers
    city: bool  # whether the whole city may be chosen


def default_period() -> str:
    """The last full month."""
    today = utcnow().astimezone(LOCAL_TZ).date()
    return f"{assessment.previous_month(today.replace(day=1)):%Y-%m}"


def choose(
    registry: Registry, staff: Staff, period: str | None, street: str | None, errors: list[str]
) -> Choice:
    """The period and street asked for, checked (problems appended to ``errors``)."""
    allowed = allowed_streets(registry, staff)
    if allowed == []:
        raise ForbiddenError  # a community's staff: no whole street to report on
    chosen = period or default_period()
    try:
        since, until, label = reports.parse_period(chosen)
    except ValueError as exc:
        errors.append(str(exc))
        chosen = default_period()
        since, until, label = reports.parse_period(chosen)
    options = allowed if allowed is not None else [
        u for u in registry.units.values() if u.tier == "street"
    ]  # fmt: skip
    code = street or None
    if code is not None and code not in {u.code for u in options}:
        known = code in registry.units and registry.units[code].tier == "street"
        if known:
            raise ForbiddenError
        errors.append("未知的街道，请从列表中选择")
        code = None
    if code is None and allowed is not None:
        code = allowed[0].code
    return Choice(chosen, since, until, label, code, options, allowed is None)


@router.get("/reports/print.css", include_in_schema=False)
def print_css() -> Response:
    return Response(PRINT_CSS, media_type="text/css; charset=utf-8")


@router.get("/reports", response_class=HTMLResponse)
def report_page(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    period: Annotated[str | None, Query(max_length=10)] = None,
    street: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    errors: list[str] = []
    choice = choose(registry, staff, period, street, errors)
    title = reports.report_title(registry, choice.street, choice.label)
    report = reports.build(session, registry, taxonomy, street=choice.street,
                           since=choice.since, until=choice.until, title=title)  # fmt: skip
    query = {"period": choice.period, **({"street": choice.street} if choice.street else {})}
    context: dict[str, Any] = {
        "staff": staff,
        "errors": errors,
        "report": report,
        "choice": choice,
        "download_link": "/reports/download?" + urlencode(query),
        "generated": report.generated_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
        "percent": assessment.percent,
    }
    return render(request, "report.html", context, status_code=422 if errors else 200)


def attachment(filename: str, fallback: str) -> str:
    """Content-Disposition with the Chinese name (RFC 5987) and an ASCII one for old clients."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/reports/download", response_model=None)
def download(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    period: Annotated[str | None, Query(max_length=10)] = None,
    street: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    errors: list[str] = []
    choice = choose(registry, staff, period, street, errors)
    if errors:
        return error_page(request, "；".join(errors), 422)
    title = reports.report_title(registry, choice.street, choice.label)
    report = reports.build(session, registry, taxonomy, street=choice.street,
                           since=choice.since, until=choice.until, title=title)  # fmt: skip
    body = reports.to_xlsx(report)
    audit.record(session, actor=staff.actor, action="report_download", object_type="report",
                 object_id=choice.period,
                 data={"period": choice.period, "unit_code": choice.street or ""})  # fmt: skip
    name = reports.file_name(choice.period, report.street_name)
    fallback = f"report-{choice.period}-{choice.street or 'city'}.xlsx"
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": attachment(name, fallback)})  # fmt: skip
