"""统计分析: a period's 三率 and volumes, in the signed-in user's scope, each linked to its
tickets in the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from casestore.services import stats
from console.staff.auth import StaffDep
from console.staff.queue import parse_date
from console.staff.rendering import render
from core.clock import LOCAL_TZ, local_midnight, utcnow
from core.deps import SessionDep, TaxonomyDep
from grids.api import RegistryDep

router = APIRouter(tags=["console"], include_in_schema=False)

MAX_DAYS = 366


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    errors: list[str] = []
    today = utcnow().astimezone(LOCAL_TZ).date()
    first = parse_date(since, "开始日期", errors) or today.replace(day=1)
    last = parse_date(until, "结束日期", errors) or today
    if last < first:
        errors.append("结束日期不能早于开始日期")
        first, last = today.replace(day=1), today
    if (last - first).days >= MAX_DAYS:
        errors.append(f"统计期间最长 {MAX_DAYS} 天")
        first = last - timedelta(days=MAX_DAYS - 1)
    found = stats.figures(
        session, local_midnight(first), local_midnight(last + timedelta(days=1)), staff.grid_scope
    )
    period = {"view": "all", "since": first.isoformat(), "until": last.isoformat()}

    def queue_link(**more: str) -> str:
        return "/?" + urlencode({**period, **more})

    rates = [
        ("响应率", percent(found.response_rate), f"{found.responded} / {found.valid}",
         "有效工单中，受理后一个工作日内派单的比例"),
        ("按时办结率", percent(found.on_time_rate), f"{found.closed_on_time} / {found.closed}",
         "已办结的有效工单中，在办理期限内办结的比例"),
        ("解决率", percent(found.solve_rate), f"{found.solved} / {found.valid}",
         "有效工单中，已办理或已办结且从未重新办理的比例"),
        ("满意率", percent(found.satisfaction_rate), f"{found.satisfied} / {found.rated}",
         "已评价（市民评价或回访）的工单中，满意和基本满意的比例"),
        ("重新办理率", percent(found.reopen_rate), f"{found.reopened} / {found.valid}",
         "有效工单中，曾被重新办理（含市民反馈问题没解决）的比例"),
    ]  # fmt: skip
    context: dict[str, Any] = {
        "staff": staff,
        "errors": errors,
        "since": first.isoformat(),
        "until": last.isoformat(),
        "figures": found,
        "rates": rates,
        "all_link": queue_link(),
        "hours": [
            ("受理到派单（中位数）", found.hours_to_dispatch),
            ("受理到办结（中位数）", found.hours_to_close),
        ],
        "categories": [
            (taxonomy.name_of(code), count, queue_link(category=code))
            for code, count in found.by_category
        ],
        "grids": [
            (
                registry.full_name(code) if code in registry.grids else "待定（无网格）",
                count,
                queue_link(grid=code) if code else "",
            )
            for code, count in found.by_grid
        ],  # fmt: skip
    }
    return render(request, "dashboard.html", context, status_code=422 if errors else 200)
