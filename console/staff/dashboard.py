"""统计分析: a period's 三率 and volumes in the signed-in user's scope (a grid worker their
grids, a street's staff their street, the hotline centre and admins everything), filtered by
period, category, place and channel; every figure links to its tickets in the queue, every
table exports to CSV and Excel, the charts are pygal SVG images and the map shades the grids
of a district by volume or by overdue tickets.

The figures come from the daily counts (``casestore.services.stats`` over ``TicketDay``,
refreshed every minute by ``petition analytics watch``), so a page reads a few thousand
pre-aggregated rows at most, not the tickets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from casestore.services import stats
from console.staff import charts
from console.staff.auth import Staff, StaffDep
from console.staff.export import Column, table_response
from console.staff.mapsvg import Shade, shaded_map
from console.staff.queue import parse_date
from console.staff.rendering import error_page, render
from core import audit, labels
from core.clock import LOCAL_TZ, utcnow
from core.deps import SessionDep, TaxonomyDep
from core.taxonomy import Taxonomy
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)

MAX_DAYS = 731
STEP = {"day": "按日", "week": "按周", "month": "按月"}
SHADE = {"volume": "受理量", "overdue": "超期未办结"}
# The tables of the page (and of its exports): what their rows are.
TABLES = {
    "category": labels.EVENT_FIELD["category"],
    "subcategory": labels.EVENT_FIELD["subcategory"],
    "street": labels.TIER["street"],
    "community": labels.TIER["community"],
    "grid": labels.EVENT_FIELD["grid_code"],
    "channel": labels.EVENT_FIELD["channel"],
}
NO_GRID = "待定（无网格）"
# Overdue open tickets of a grid → its colour on the map (labels.SLA's three levels).
OVERDUE_LEVELS = ((6, "o-red"), (3, "o-yellow"), (1, "o-blue"))


class DashboardError(ValueError):
    """A filter the page cannot use (shown in Chinese, status 422)."""


@dataclass(frozen=True)
class DashboardParams:
    since: str | None = None
    until: str | None = None
    category: str | None = None
    subcategory: str | None = None
    place: str | None = None  # a district, street, community or grid code
    channel: str | None = None
    step: str | None = None
    shade: str | None = None
    district: str | None = None  # the map's district


def dashboard_params(
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    subcategory: Annotated[str | None, Query(max_length=64)] = None,
    place: Annotated[str | None, Query(max_length=32)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    step: Annotated[str | None, Query(max_length=8)] = None,
    shade: Annotated[str | None, Query(max_length=8)] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
) -> DashboardParams:
    return DashboardParams(since, until, category, subcategory, place, channel, step, shade,
                           district)  # fmt: skip


ParamsDep = Annotated[DashboardParams, Depends(dashboard_params)]


@dataclass(frozen=True)
class View:
    """The checked filters: what to count, and the links' query parameters."""

    scope: stats.Scope
    first: date
    last: date
    step: str
    shade: str
    place: str
    errors: tuple[str, ...]

    def query(self, **more: str) -> dict[str, str]:
        """The page's own filters (for links to other tables, charts and exports)."""
        base = {"since": self.first.isoformat(), "until": self.last.isoformat()}
        for key in ("category", "subcategory", "channel"):
            if getattr(self.scope, key):
                base[key] = getattr(self.scope, key)
        if self.place:
            base["place"] = self.place
        return {**base, **more}

    def queue_link(self, **more: str) -> str:
        """The tickets behind a figure: the queue with this period and these filters."""
        params = {"view": "all", "since": self.first.isoformat(), "until": self.last.isoformat()}
        if self.scope.category:
            params["category"] = self.scope.category
        if self.scope.channel:
            params["channel"] = self.scope.channel
        if self.place:
            params["grid"] = self.place
        return "/?" + urlencode({**params, **more})


def read_view(
    params: DashboardParams, staff: Staff, taxonomy: Taxonomy, registry: Registry
) -> View:
    """The filters checked against the taxonomy, the registry and the user's scope; a bad
    one is reported and left out."""
    errors: list[str] = []
    today = utcnow().astimezone(LOCAL_TZ).date()
    first = parse_date(params.since, "开始日期", errors) or today.replace(day=1)
    last = parse_date(params.until, "结束日期", errors) or today
    if last < first:
        errors.append("结束日期不能早于开始日期")
        first, last = today.replace(day=1), today
    if (last - first).days >= MAX_DAYS:
        errors.append(f"统计期间最长 {MAX_DAYS} 天")
        first = last - timedelta(days=MAX_DAYS - 1)
    category = params.category or None
    if category and category not in {c.code for c in taxonomy.categories}:
        errors.append("未知的分类")
        category = None
    subcategory = params.subcategory or None
    if subcategory and subcategory not in _subcategory_names(taxonomy):
        errors.append("未知的二级分类")
        subcategory = None
    channel = params.channel or None
    if channel and channel not in labels.CHANNEL:
        errors.append("未知的渠道")
        channel = None
    grids = staff.grid_scope
    place = params.place or ""
    if place:
        chosen: tuple[str, ...]
        if place in registry.grids:
            chosen = (place,)
        elif place in registry.units:
            chosen = tuple(g.code for g in registry.grids_within(place))
        else:
            chosen = ()
        visible = tuple(c for c in chosen if grids is None or c in grids)
        if not visible:
            errors.append("未知的地点，或不在您的负责范围内")
            place = ""
        else:
            grids = visible
    step = params.step if params.step in STEP else ("day" if (last - first).days <= 62 else "month")
    shade = params.shade if params.shade in SHADE else "overdue"
    scope = stats.Scope(since=first, until=last, grids=grids, category=category,
                        subcategory=subcategory, channel=channel)  # fmt: skip
    return View(scope, first, last, step, shade, place, tuple(errors))


def _subcategory_names(taxonomy: Taxonomy) -> dict[str, str]:
    return {s.code: s.name for c in taxonomy.categories for s in c.subcategories}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _rates(found: stats.Figures) -> list[tuple[str, str, str, str]]:
    return [
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
        ("重复诉求率", percent(found.repeat_rate), f"{found.repeated} / {found.valid}",
         "有效工单中，同一市民30天内就同一分类再次反映的比例"),
    ]  # fmt: skip


@dataclass(frozen=True)
class TableRow:
    name: str
    link: str  # the queue's tickets of this row ("" when the queue cannot show them)
    figures: stats.Figures

    def cells(self) -> dict[str, Any]:
        f = self.figures
        return {
            "name": self.name, "filed": f.filed, "valid": f.valid,
            "response_rate": f.response_rate, "on_time_rate": f.on_time_rate,
            "solve_rate": f.solve_rate, "satisfaction_rate": f.satisfaction_rate,
            "reopened": f.reopened, "repeated": f.repeated,
        }  # fmt: skip


def table_columns(table: str) -> list[Column]:
    return [
        Column(TABLES[table], "name", 30),
        Column("受理量", "filed", 10),
        Column("有效工单", "valid", 10),
        Column("响应率", "response_rate", 10, percent=True),
        Column("按时办结率", "on_time_rate", 12, percent=True),
        Column("解决率", "solve_rate", 10, percent=True),
        Column("满意率", "satisfaction_rate", 10, percent=True),
        Column("重新办理", "reopened", 10),
        Column("重复诉求", "repeated", 10),
    ]


def table_rows(
    table: str,
    session: Any,
    view: View,
    taxonomy: Taxonomy,
    registry: Registry,
    by_grid: list[tuple[str, stats.Figures]] | None = None,
) -> list[TableRow]:
    """One table of the page: its rows, most tickets first (``by_grid``: the period's
    figures per grid when already read, for the place tables)."""
    if table in ("street", "community", "grid"):
        if by_grid is None:
            by_grid = stats.breakdown(session, view.scope, "grid_code")
        return _place_rows(table, by_grid, view, registry)
    by = {"category": "category", "subcategory": "subcategory", "channel": "channel"}[table]
    names: Callable[[str], str]
    if table == "category":
        names = taxonomy.name_of
    elif table == "subcategory":
        known = _subcategory_names(taxonomy)
        names = lambda code: known.get(code, labels.UNCLASSIFIED)  # noqa: E731
    else:
        names = lambda code: labels.label(labels.CHANNEL, code)  # noqa: E731
    rows = []
    for code, found in stats.breakdown(session, view.scope, by, hours=False):
        if table == "category":
            link = view.queue_link(category=code)
        elif table == "channel":
            link = view.queue_link(channel=code)
        else:  # the queue has no subcategory filter: its category's tickets
            parent = next((c.code for c in taxonomy.categories
                           if any(s.code == code for s in c.subcategories)), "")  # fmt: skip
            link = view.queue_link(category=parent) if parent else ""
        rows.append(TableRow(names(code), link, found))
    return rows


def _place_rows(
    table: str, by_grid: list[tuple[str, stats.Figures]], view: View, registry: Registry
) -> list[TableRow]:
    totals: dict[str, stats.Figures] = {}
    for code, found in by_grid:
        grid = registry.grids.get(code)
        key = "" if grid is None else getattr(grid, table) if table != "grid" else grid.code
        totals[key] = totals.get(key, stats.Figures.zero()) + found
    rows = [
        TableRow(
            registry.full_name(key) if key else NO_GRID,
            view.queue_link(grid=key) if key else "",
            found,
        )  # fmt: skip
        for key, found in totals.items()
    ]
    return sorted(rows, key=lambda row: (-row.figures.filed, row.name))


def _districts(view: View, registry: Registry) -> list[str]:
    codes = view.scope.grids if view.scope.grids is not None else tuple(registry.grids)
    return sorted({registry.grids[c].district for c in codes if c in registry.grids})


def map_shades(
    session: Any,
    view: View,
    registry: Registry,
    wanted: str | None,
    by_grid: list[tuple[str, stats.Figures]],
) -> tuple[str, list[Shade]]:
    """The map: the district asked for (else the one with most to show) and its grids in
    scope, shaded by this period's volume (``by_grid``) or by the open tickets overdue now."""
    districts = _districts(view, registry)
    codes = [
        g.code for g in registry.grids.values()
        if view.scope.grids is None or g.code in view.scope.grids
    ]  # fmt: skip
    if view.shade == "overdue":
        values = stats.overdue_open(session, utcnow(), tuple(codes))
    else:
        values = {code: found.filed for code, found in by_grid}
    if wanted in districts:
        district = str(wanted)
    else:
        totals = {d: 0 for d in districts}
        for code in codes:
            totals[registry.grids[code].district] += values.get(code, 0)
        district = max(districts, key=lambda d: (totals[d], -districts.index(d)), default="")
    shown = [code for code in codes if registry.grids[code].district == district]
    peak = max((values.get(code, 0) for code in shown), default=0)
    shades = []
    for code in shown:
        value = values.get(code, 0)
        if view.shade == "overdue":
            level = next((css for least, css in OVERDUE_LEVELS if value >= least), "s0")
            link = "/?" + urlencode({"view": "open", "grid": code, "overdue": "true"})
        else:
            level = f"s{min(4, 1 + 4 * value // (peak + 1))}" if value else "s0"
            link = view.queue_link(grid=code)
        shades.append(Shade(code, value, level, link))
    return district, shades


def _label_of_period(day: date, step: str) -> str:
    if step == "month":
        return f"{day.year}年{day.month}月"
    if step == "week":
        return f"{day.month}月{day.day}日起"
    return f"{day.month}-{day.day:02d}"


def _options(taxonomy: Taxonomy, registry: Registry, staff: Staff) -> dict[str, Any]:
    scope = staff.grid_scope
    places = []
    for unit in sorted(registry.units.values(), key=lambda u: u.code):
        inside = [g.code for g in registry.grids_within(unit.code)]
        if scope is None or (inside and all(code in scope for code in inside)):
            places.append(
                (unit.code, f"{registry.full_name(unit.code)}（{labels.TIER[unit.tier]}）")
            )
    places += [(g.code, registry.full_name(g.code)) for g in registry.grids.values()
               if scope is None or g.code in scope]  # fmt: skip
    return {
        "categories": [(c.code, c.name) for c in taxonomy.categories],
        "subcategories": [
            (s.code, f"{c.name} · {s.name}") for c in taxonomy.categories for s in c.subcategories
        ],  # fmt: skip
        "places": places,
        "channels": list(labels.CHANNEL.items()),
        "steps": list(STEP.items()),
        "shades": list(SHADE.items()),
    }


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    params: ParamsDep,
) -> HTMLResponse:
    view = read_view(params, staff, taxonomy, registry)
    by_grid = stats.breakdown(session, view.scope, "grid_code")
    found = sum((f for _, f in by_grid), stats.Figures.zero())  # = stats.figures, one read less
    district, shades = map_shades(session, view, registry, params.district, by_grid)
    refreshed = stats.refreshed_to(session)
    context: dict[str, Any] = {
        "staff": staff,
        "errors": view.errors,
        "view": view,
        "params": view.query(step=view.step, shade=view.shade),
        "figures": found,
        "rates": _rates(found),
        "all_link": view.queue_link(),
        "overdue_link": view.queue_link(view="open", overdue="true"),
        "hours": [
            ("受理到派单（中位数，约）", found.hours_to_dispatch),
            ("受理到办结（中位数，约）", found.hours_to_close),
        ],
        "tables": [
            (
                table,
                title,
                table_rows(table, session, view, taxonomy, registry, by_grid),
                urlencode(view.query(table=table)),
            )
            for table, title in TABLES.items()
        ],  # fmt: skip
        "series_chart": "/dashboard/chart.svg?"
        + urlencode(view.query(chart="series", step=view.step)),
        "category_chart": "/dashboard/chart.svg?" + urlencode(view.query(chart="category")),
        "map": shaded_map(registry, shades, SHADE[view.shade]),
        "map_total": sum(s.value for s in shades),
        "district": district,
        "districts": [(code, registry.full_name(code)) for code in _districts(view, registry)],
        "overdue_levels": [(css, f"{least} 件以上") for least, css in reversed(OVERDUE_LEVELS)],
        "refreshed": refreshed,
        "scope_note": _scope_note(staff, registry),
        **_options(taxonomy, registry, staff),
    }
    return render(request, "dashboard.html", context, status_code=422 if view.errors else 200)


def _scope_note(staff: Staff, registry: Registry) -> str:
    if staff.grid_scope is None:
        return "全部"
    if staff.unit_code:
        return registry.full_name(staff.unit_code)
    return "您负责的网格"


@router.get("/dashboard/chart.svg")
def chart(
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    params: ParamsDep,
    chart: Annotated[str, Query(max_length=16)] = "series",
) -> Response:
    """One of the page's charts as an SVG image (pygal): the volume over time, or by category."""
    view = read_view(params, staff, taxonomy, registry)
    if chart == "category":
        by_category = stats.breakdown(session, view.scope, "category", hours=False)
        items = [(taxonomy.name_of(code), found.filed) for code, found in by_category]
        return charts.chart_response(charts.ranking_svg("按分类受理量", items))
    points = stats.series(session, view.scope, view.step)
    title = f"受理量（{STEP[view.step]}）"
    return charts.chart_response(
        charts.series_svg(title, [(_label_of_period(day, view.step), n) for day, n in points])
    )


@router.get("/dashboard/export.{fmt}")
def export_table(
    fmt: str,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    params: ParamsDep,
    table: Annotated[str, Query(max_length=16)] = "category",
) -> Response:
    """One table of the page as CSV or Excel, with the page's filters; audited."""
    view = read_view(params, staff, taxonomy, registry)
    if fmt not in ("csv", "xlsx") or table not in TABLES:
        return error_page(request, "只能导出本页的统计表（CSV 或 Excel）", 404)
    rows = [row.cells() for row in table_rows(table, session, view, taxonomy, registry)]
    audit.record(session, actor=staff.actor, action="stats_export", object_type="stats",
                 object_id=table, data={"period": f"{view.first}–{view.last}"})  # fmt: skip
    stem = f"stats-{table}-{view.first:%Y%m%d}-{view.last:%Y%m%d}"
    return table_response(fmt, table_columns(table), rows, stem, TABLES[table])
