"""考评 page: a month's grid workers, communities or departments graded 红黄蓝 and ranked, in
the signed-in user's scope, each count linked to its tickets in the queue; CSV export."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from casestore.services import assessment
from console.staff.auth import StaffDep
from console.staff.export import Column, table_response
from console.staff.rendering import render
from core import audit, labels
from core.clock import LOCAL_TZ, utcnow
from core.deps import SessionDep
from grids.api import RegistryDep

router = APIRouter(tags=["console"], include_in_schema=False)

CSV_COLUMNS = [
    Column("排名", "rank", 6),
    Column("对象", "name", 28),
    Column("受理", "handled", 8),
    Column("办结", "closed", 8),
    Column("按时办结率", "on_time_rate", 10, percent=True),
    Column("超期", "overdue", 8),
    Column("重新办理率", "reopen_rate", 10, percent=True),
    Column("不满意率", "unsatisfied_rate", 10, percent=True),
    Column("满意率", "satisfaction_rate", 10, percent=True),
    Column("得分", "score", 8),
    Column("等级", "level", 8),
    Column("原因", "reasons", 40),
]


def queue_links(item: assessment.Assessed, by: str, since: str, until: str) -> dict[str, str]:
    """The queue filtered to the object's tickets of the month (grids and communities; the
    queue has no department filter, so departments have no links)."""
    if by == "department" or not item.grids:
        return {}
    place = item.grids[0] if by == "worker" else item.key
    base = {"since": since, "until": until, "grid": place}
    return {
        "handled": "/?" + urlencode({"view": "all", **base}),
        "closed": "/?" + urlencode({"view": "closed", **base}),
        "overdue": "/?" + urlencode({"view": "open", **base, "overdue": "true"}),
    }


def row(item: assessment.Assessed) -> dict[str, Any]:
    return {
        "rank": item.rank or "",
        "name": item.name,
        "handled": item.handled,
        "closed": item.closed,
        "on_time_rate": item.on_time_rate,
        "overdue": item.overdue,
        "reopen_rate": item.reopen_rate,
        "unsatisfied_rate": item.unsatisfied_rate,
        "satisfaction_rate": item.satisfaction_rate,
        "score": "" if item.score is None else item.score,
        "level": item.level_label,
        "reasons": "；".join(item.reasons),
    }


@router.get("/assessment", response_model=None)
def assessment_page(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
    by: Annotated[str, Query(max_length=16)] = "worker",
    fmt: Annotated[str | None, Query(alias="format", max_length=8)] = None,
) -> HTMLResponse | Response:
    errors: list[str] = []
    this_month = utcnow().astimezone(LOCAL_TZ).date().replace(day=1)
    first = this_month
    if month:
        try:
            first = assessment.parse_month(month)[0]
        except ValueError as exc:
            errors.append(str(exc))
    if by not in assessment.BY:
        errors.append("考评对象只能是网格员、社区（村）或职能部门")
        by = "worker"
    if fmt not in (None, "", "csv"):
        errors.append("导出格式只能是 CSV")
    key = f"{first:%Y-%m}"
    items = assessment.assess(session, registry, key, by, staff.grid_scope)
    last = assessment.next_month(first)
    since, until = first.isoformat(), (last - timedelta(days=1)).isoformat()
    if fmt == "csv" and not errors:
        audit.record(session, actor=staff.actor, action="stats_export", object_type="assessment",
                     object_id=key, data={"period": key})  # fmt: skip
        return table_response("csv", CSV_COLUMNS, (row(i) for i in items),
                              f"assessment-{key}-{by}", "考评")  # fmt: skip
    previous = assessment.previous_month(first)
    context: dict[str, Any] = {
        "staff": staff,
        "errors": errors,
        "month": key,
        "month_text": assessment.month_text(first),
        "by": by,
        "tabs": [
            (code, name, "/assessment?" + urlencode({"month": key, "by": code}))
            for code, name in assessment.BY_LABELS.items()
        ],  # fmt: skip
        "previous_link": "/assessment?" + urlencode({"month": f"{previous:%Y-%m}", "by": by}),
        "previous_text": assessment.month_text(previous),
        "next_link": "/assessment?" + urlencode({"month": f"{last:%Y-%m}", "by": by})
        if last <= this_month
        else "",
        "next_text": assessment.month_text(last),
        "csv_link": "/assessment?" + urlencode({"month": key, "by": by, "format": "csv"}),
        "rows": [(item, queue_links(item, by, since, until)) for item in items],
        "percent": assessment.percent,
        "level_labels": labels.ASSESSMENT_LEVEL,
        "thresholds": assessment.load_thresholds(),
    }
    return render(request, "assessment.html", context, status_code=422 if errors else 200)
