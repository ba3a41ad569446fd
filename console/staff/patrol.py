"""巡查走访统计: a month's patrol figures of the grid's own people (网格员、民情专递员).

One row per active grid worker and volunteer whose grids are in the viewer's scope (any of
their grids; everyone for the hotline centre and admins), with the figures of
``fieldwork.patrol_figures`` for the local calendar month: 巡查上报, 代民反映, 走访次数,
走访户数, 接单, 办结; a totals row; sorted by grid (the registry's order) then name. CSV export
(``/patrol/export.csv``), audited as ``stats_export``. Volunteers never reach this page (auth).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role, User
from casestore.services import assessment, fieldwork
from console.staff.auth import Staff, StaffDep
from console.staff.export import Column, table_response
from console.staff.rendering import render
from core import audit, labels
from core.clock import LOCAL_TZ, local_midnight, utcnow
from core.deps import SessionDep
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)

ROLES = (Role.GRID_WORKER, Role.VOLUNTEER)
UNKNOWN_GRID = "未知网格"
NO_GRID = "未指定"
TOTAL = "合计"
MONTH_MAX = 20  # longer is refused before the page (422): a typo shows the page's message
FIGURES = tuple(f.name for f in fields(fieldwork.PatrolFigures))

CSV_COLUMNS = [
    Column("姓名", "name", 12),
    Column("角色", "role", 12),
    Column("网格", "grids", 28),
    Column("巡查上报", "reports", 10),
    Column("代民反映", "on_behalf", 10),
    Column("走访次数", "visits", 10),
    Column("走访户数", "households", 10),
    Column("接单", "accepted", 8),
    Column("办结", "resolved", 8),
]

# What each column counts (shown under the table): fieldwork.patrol_figures' definitions.
DEFINITIONS = (
    ("巡查上报", "当月由本人上报（Telegram 或外勤工作台）登记为工单的件数，按登记时间统计"),
    ("代民反映", "巡查上报中替居民反映（注明了代谁反映）的件数"),
    ("走访次数", "当月登记的走访日志条数，按登记时间统计"),
    ("走访户数", "当月走访日志中填写的走访户数之和"),
    ("接单", "当月对派到本人网格的任务点“接单”的次数，按操作时间统计（仅网格员）"),
    ("办结", "当月办结的任务数（填写结果并上传现场照片），按操作时间统计（仅网格员）"),
)


@dataclass(frozen=True)
class PatrolRow:
    """One person's line of the table."""

    username: str
    name: str
    role: str  # accounts Role value
    grids: tuple[str, ...]  # the grids' names
    figures: fieldwork.PatrolFigures

    @property
    def role_label(self) -> str:
        return labels.label(labels.ROLE, self.role)

    @property
    def grids_text(self) -> str:
        return "、".join(self.grids) or NO_GRID


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The local calendar month starting on ``first``: [its first midnight, the next's)."""
    return local_midnight(first), local_midnight(assessment.next_month(first))


def people(session: Session, grid_scope: tuple[str, ...] | None) -> list[User]:
    """The active grid workers and volunteers with any grid in the scope (all when None)."""
    users = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_([r.value for r in ROLES]))
    ).all()
    if grid_scope is None:
        return list(users)
    scope = set(grid_scope)
    return [u for u in users if scope.intersection(u.grid_codes or ())]


def _sort_key(
    registry: Registry, user: User, grid_scope: tuple[str, ...] | None
) -> tuple[int, str, str]:
    """By the first of the person's grids (in the scope) in the registry's order, then name;
    people without a known grid last."""
    order = {code: index for index, code in enumerate(registry.grids)}
    codes = [c for c in user.grid_codes or () if grid_scope is None or c in grid_scope]
    place = min((order.get(c, len(order)) for c in codes), default=len(order) + 1)
    return place, user.display_name, user.username


def grid_names(registry: Registry, codes: list[str] | None) -> tuple[str, ...]:
    """The names of the grids (未知网格 for a code the registry does not know)."""
    known = registry.grids
    return tuple(known[c].name if c in known else UNKNOWN_GRID for c in codes or ())


def patrol_rows(
    session: Session, registry: Registry, grid_scope: tuple[str, ...] | None, first: date
) -> list[PatrolRow]:
    """The month's rows of the people in the scope, sorted by grid then name."""
    users = sorted(people(session, grid_scope), key=lambda u: _sort_key(registry, u, grid_scope))
    start, end = month_bounds(first)
    figures = fieldwork.patrol_figures(session, [u.username for u in users], start, end)
    return [
        PatrolRow(
            username=u.username,
            name=u.display_name,
            role=u.role,
            grids=grid_names(registry, u.grid_codes),
            figures=figures[u.username],
        )
        for u in users
    ]


def totals(rows: list[PatrolRow]) -> fieldwork.PatrolFigures:
    return fieldwork.PatrolFigures(
        **{name: sum(getattr(r.figures, name) for r in rows) for name in FIGURES}
    )


def csv_row(name: str, role: str, grids: str, figures: fieldwork.PatrolFigures) -> dict[str, Any]:
    return {"name": name, "role": role, "grids": grids,
            **{key: getattr(figures, key) for key in FIGURES}}  # fmt: skip


def _month(month: str | None) -> tuple[date, list[str]]:
    """The month asked for (this month by default) and the errors, in Chinese."""
    this_month = utcnow().astimezone(LOCAL_TZ).date().replace(day=1)
    if not month:
        return this_month, []
    try:
        return assessment.parse_month(month)[0], []
    except ValueError as exc:
        return this_month, [str(exc)]


def _page(
    request: Request,
    session: Session,
    registry: Registry,
    staff: Staff,
    first: date,
    errors: list[str],
) -> HTMLResponse:
    key = f"{first:%Y-%m}"
    this_month = utcnow().astimezone(LOCAL_TZ).date().replace(day=1)
    previous, following = assessment.previous_month(first), assessment.next_month(first)
    rows = patrol_rows(session, registry, staff.grid_scope, first)
    context: dict[str, Any] = {
        "staff": staff,
        "errors": errors,
        "month": key,
        "month_text": assessment.month_text(first),
        "previous_link": "/patrol?" + urlencode({"month": f"{previous:%Y-%m}"}),
        "previous_text": assessment.month_text(previous),
        "next_link": "/patrol?" + urlencode({"month": f"{following:%Y-%m}"})
        if following <= this_month
        else "",
        "next_text": assessment.month_text(following),
        "csv_link": "/patrol/export.csv?" + urlencode({"month": key}),
        "rows": rows,
        "totals": totals(rows),
        "definitions": DEFINITIONS,
    }
    return render(request, "patrol.html", context, status_code=422 if errors else 200)


@router.get("/patrol", response_class=HTMLResponse)
def patrol_page(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
    month: Annotated[str | None, Query(max_length=MONTH_MAX)] = None,
) -> HTMLResponse:
    first, errors = _month(month)
    return _page(request, session, registry, staff, first, errors)


@router.get("/patrol/export.csv", response_model=None)
def patrol_export(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
    month: Annotated[str | None, Query(max_length=MONTH_MAX)] = None,
) -> HTMLResponse | Response:
    first, errors = _month(month)
    if errors:
        return _page(request, session, registry, staff, first, errors)
    key = f"{first:%Y-%m}"
    rows = patrol_rows(session, registry, staff.grid_scope, first)
    audit.record(session, actor=staff.actor, action="stats_export", object_type="patrol",
                 object_id=key, data={"period": key, "people": len(rows)})  # fmt: skip
    lines = [csv_row(r.name, r.role_label, r.grids_text, r.figures) for r in rows]
    lines.append(csv_row(TOTAL, "", "", totals(rows)))
    return table_response("csv", CSV_COLUMNS, lines, f"patrol-{key}", "巡查走访")
