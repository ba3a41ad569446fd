"""统计报告: a street's (or the whole city's) weekly or monthly report — the indicators against the
previous period, the hot topics, the volumes by community, the period's alerts and, for a month,
the 考评 red and yellow cards — and its workbook (XLSX).

Read from the daily counts (``casestore.services.stats``) and the alert table, never the
ticket table (except the assessment's open overdue tickets, a small set).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from casestore.models import Alert
from casestore.services import assessment, stats
from core import labels
from core.clock import LOCAL_TZ, utcnow
from core.taxonomy import Taxonomy
from grids.registry import Registry

WEEK = re.compile(r"(\d{4})-W(\d{2})")
TOP_TOPICS = 10
CITY = "全市"
PERCENT_FORMAT = "0.0%"


def parse_period(value: str) -> tuple[date, date, str]:
    """ "2026-11" → (2026-11-01, 2026-11-30, "2026年11月"); "2026-W47" → the ISO week's Monday
    to Sunday and "2026年第47周". ValueError with a Chinese message otherwise."""
    text = value.strip()
    week = WEEK.fullmatch(text)
    if week:
        try:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            raise ValueError(f"{week[1]}年没有第{int(week[2])}周") from None
        return monday, monday + timedelta(days=6), period_label(monday, monday + timedelta(days=6))
    try:
        since, until = assessment.parse_month(text)
    except ValueError:
        raise ValueError(
            f"统计期间格式应为 年-月（如 2026-11）或 年-W周（如 2026-W47）（收到：{value[:20]}）"
        ) from None
    return since, until, assessment.month_text(since)


def is_month(since: date, until: date) -> bool:
    return since.day == 1 and until == assessment.next_month(since) - timedelta(days=1)


def period_label(since: date, until: date) -> str:
    """ "2026年11月", "2026年第47周" or "2026-11-03 至 2026-11-16"."""
    if is_month(since, until):
        return assessment.month_text(since)
    if since.isoweekday() == 1 and until == since + timedelta(days=6):
        year, week, _ = since.isocalendar()
        return f"{year}年第{week}周"
    return f"{since.isoformat()} 至 {until.isoformat()}"


def previous_period(since: date, until: date) -> tuple[date, date]:
    """The previous calendar month for a month, else the same number of days just before."""
    if is_month(since, until):
        first = assessment.previous_month(since)
        return first, since - timedelta(days=1)
    return since - (until - since) - timedelta(days=1), since - timedelta(days=1)


def street_name(registry: Registry, street: str | None) -> str:
    return registry.units[street].name if street else CITY


def file_name(period: str, street_name: str) -> str:
    """ "报告-2026-11-玉林街道.xlsx": the console's download and the command line's file."""
    return f"报告-{period}-{street_name}.xlsx"


def report_title(registry: Registry, street: str | None, period_label: str) -> str:
    """ "玉林街道 2026年11月 市民诉求分析报告"."""
    return f"{street_name(registry, street)} {period_label} 市民诉求分析报告"


def change(current: float | None, previous: float | None, *, rate: bool) -> str:
    """ "+12.5%" for counts (relative), "+3.2个百分点" for rates; "—" when not comparable."""
    if current is None or previous is None:
        return "—"
    if rate:
        return f"{(current - previous) * 100:+.1f}个百分点"
    if not previous:
        return "新增" if current else "持平"
    return f"{(current - previous) / previous:+.1%}"


@dataclass(frozen=True)
class Indicator:
    name: str
    value: float | None
    previous: float | None
    kind: str  # count | rate | hours

    def show(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.kind == "rate":
            return f"{value:.1%}"
        if self.kind == "hours":
            return f"{value:.1f} 小时"
        return f"{int(value)} 件"

    @property
    def text(self) -> str:
        return self.show(self.value)

    @property
    def previous_text(self) -> str:
        return self.show(self.previous)

    @property
    def change_text(self) -> str:
        return change(self.value, self.previous, rate=self.kind == "rate")


@dataclass(frozen=True)
class Topic:  # 热点诉求
    code: str  # subcategory code ("" not sub-classified)
    name: str
    category: str  # the category's name
    filed: int
    previous: int

    @property
    def change_text(self) -> str:
        return change(self.filed, self.previous, rate=False)


@dataclass(frozen=True)
class Area:  # 分社区
    code: str
    name: str
    figures: stats.Figures
    previous_filed: int

    @property
    def change_text(self) -> str:
        return change(self.figures.filed, self.previous_filed, rate=False)


@dataclass(frozen=True)
class AlertLine:  # 预警
    day: date
    kind: str
    level: str
    title: str
    place: str
    count: int
    state: str  # labels.ALERT_STATE: 已处置 / 未处置
    note: str


@dataclass(frozen=True)
class Report:
    title: str
    period_label: str
    street: str | None
    street_name: str
    since: date
    until: date
    previous_since: date
    previous_until: date
    figures: stats.Figures
    previous: stats.Figures
    indicators: tuple[Indicator, ...]
    topics: tuple[Topic, ...]
    areas: tuple[Area, ...]
    alerts: tuple[AlertLine, ...]
    assessed: tuple[tuple[str, assessment.Assessed], ...]  # (对象类别, red/yellow) for a month
    monthly: bool
    generated_at: datetime


def indicators(now: stats.Figures, before: stats.Figures) -> tuple[Indicator, ...]:
    def pair(name: str, kind: str, read: Callable[[stats.Figures], float | None]) -> Indicator:
        return Indicator(name, read(now), read(before), kind)

    return (
        pair("受理量", "count", lambda f: f.filed),
        pair("有效工单", "count", lambda f: f.valid),
        pair("响应率", "rate", lambda f: f.response_rate),
        pair("按时办结率", "rate", lambda f: f.on_time_rate),
        pair("解决率", "rate", lambda f: f.solve_rate),
        pair("满意率", "rate", lambda f: f.satisfaction_rate),
        pair("重新办理率", "rate", lambda f: f.reopen_rate),
        pair("重复诉求率", "rate", lambda f: f.repeat_rate),
        pair("受理到派单（中位数）", "hours", lambda f: f.hours_to_dispatch),
        pair("受理到办结（中位数）", "hours", lambda f: f.hours_to_close),
    )


def _subcategory_names(taxonomy: Taxonomy) -> dict[str, tuple[str, str]]:
    return {sub.code: (sub.name, category.name)
            for category in taxonomy.categories for sub in category.subcategories}  # fmt: skip


def _topics(
    session: Session, taxonomy: Taxonomy, scope: stats.Scope, before: stats.Scope
) -> tuple[Topic, ...]:
    names = _subcategory_names(taxonomy)
    previous = filed_by(session, before, "subcategory")
    top = sorted(filed_by(session, scope, "subcategory").items(), key=lambda p: (-p[1], p[0]))
    return tuple(
        Topic(code, *names.get(code, (labels.UNCLASSIFIED, "")), filed, previous.get(code, 0))
        for code, filed in top[:TOP_TOPICS]
        if filed
    )


def filed_by(session: Session, scope: stats.Scope, by: str) -> dict[str, int]:
    """受理量 per value of a daily-count key column (``grid_code``, ``subcategory`` …)."""
    return {key: found.filed for key, found in assessment.counts_by(session, scope, by)}


def _areas(
    registry: Registry,
    by_grid: list[tuple[str, stats.Figures]],
    before_filed: dict[str, int],
) -> tuple[Area, ...]:
    """Volumes by community (村/社区), most first; grids the registry does not know are left out."""

    def owner(grid_code: str) -> str | None:
        grid = registry.grids.get(grid_code)
        return grid.community if grid is not None else None

    now: dict[str, stats.Figures] = {}
    for code, found in by_grid:
        unit = owner(code)
        if unit is not None:
            now[unit] = now.get(unit, stats.Figures.zero()) + found
    previous: dict[str, int] = {}
    for code, filed in before_filed.items():
        unit = owner(code)
        if unit is not None:
            previous[unit] = previous.get(unit, 0) + filed
    rows = [Area(code, registry.units[code].name if code in registry.units else code, found,
                 previous.get(code, 0)) for code, found in now.items()]  # fmt: skip
    return tuple(sorted(rows, key=lambda a: (-a.figures.filed, a.name)))


def _alerts(
    session: Session, registry: Registry, street: str | None, since: date, until: date
) -> tuple[AlertLine, ...]:
    where = [Alert.day >= since, Alert.day <= until]
    if street:
        grids = [g.code for g in registry.grids_within(street)]
        units = [u.code for u in registry.units.values()
                 if street in (step["code"] for step in registry.chain(u.code))]  # fmt: skip
        where.append(or_(Alert.grid_code.in_(grids), Alert.unit_code.in_(units)))
    found = session.scalars(select(Alert).where(*where).order_by(Alert.day.desc(), Alert.id))
    order = {code: i for i, code in enumerate(labels.RISK_GRADE)}
    lines = [
        AlertLine(
            day=alert.day,
            kind=labels.label(labels.ALERT_KIND, alert.kind),
            level=labels.label(
                labels.RISK_GRADE if alert.kind == "risk" else labels.ALERT_LEVEL, alert.level
            ),
            title=alert.title,
            place=_place(registry, alert.grid_code or alert.unit_code),
            count=alert.count,
            state=labels.ALERT_STATE["done" if alert.acknowledged_at else "open"],
            note=alert.note or "",
        )
        for alert in sorted(found, key=lambda a: order.get(a.level, len(order)))
    ]
    return tuple(lines)


def _place(registry: Registry, code: str | None) -> str:
    if not code:
        return ""
    if code in registry.grids:
        return registry.grids[code].name
    return registry.units[code].name if code in registry.units else code


def build(
    session: Session,
    registry: Registry,
    taxonomy: Taxonomy,
    *,
    street: str | None,
    since: date,
    until: date,
    title: str,
) -> Report:
    """The report of ``street`` (a street's code; None: the whole city) for [since, until]."""
    if street is not None and (street not in registry.units
                               or registry.units[street].tier != "street"):  # fmt: skip
        raise ValueError(f"未知的街道：{street[:32]}")
    grids = tuple(g.code for g in registry.grids_within(street)) if street else None
    before_since, before_until = previous_period(since, until)
    scope = stats.Scope(since=since, until=until, grids=grids)
    before = stats.Scope(since=before_since, until=before_until, grids=grids)
    # The totals (with the hour histograms behind the medians) once per period; the breakdowns
    # without the histograms (lighter), the previous period's only as volumes.
    by_grid = assessment.counts_by(session, scope, "grid_code")
    now_figures, before_figures = stats.figures(session, scope), stats.figures(session, before)
    monthly = is_month(since, until)
    assessed: list[tuple[str, assessment.Assessed]] = []
    if monthly:
        found = assessment.assess_all(session, registry, f"{since:%Y-%m}", grids, by_grid=by_grid)
        for by, kind in assessment.BY_LABELS.items():
            assessed += [(kind, item) for item in found[by] if item.level in ("red", "yellow")]
    return Report(
        title=title,
        period_label=period_label(since, until),
        street=street,
        street_name=street_name(registry, street),
        since=since,
        until=until,
        previous_since=before_since,
        previous_until=before_until,
        figures=now_figures,
        previous=before_figures,
        indicators=indicators(now_figures, before_figures),
        topics=_topics(session, taxonomy, scope, before),
        areas=_areas(registry, by_grid, filed_by(session, before, "grid_code")),
        alerts=_alerts(session, registry, street, since, until),
        assessed=tuple(sorted(assessed, key=lambda pair: pair[1].level != "red")),
        monthly=monthly,
        generated_at=utcnow(),
    )


# ---------------------------------------------------------------- the workbook


def _sheet(book: Workbook, name: str, columns: tuple[tuple[str, int], ...]) -> Worksheet:
    sheet = book.create_sheet(name)
    sheet.append([header for header, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _percent_columns(sheet: Worksheet, columns: tuple[int, ...]) -> None:
    for row in sheet.iter_rows(min_row=2):
        for index in columns:
            row[index - 1].number_format = PERCENT_FORMAT


def _safe(value: str) -> str:
    """Text as a cell, never a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


# Each sheet's columns: (header, width in characters; a Chinese character takes about two).
OVERVIEW = (("指标", 24), ("本期", 16), ("上期", 16), ("变化", 18))
TOPICS = (("排名", 6), ("二级分类", 20), ("一级分类", 16), ("受理量", 10), ("上期", 10),
          ("变化", 12))  # fmt: skip
AREAS = (("社区（村）", 20), ("受理量", 10), ("上期", 10), ("变化", 12), ("有效工单", 10),
         ("办结", 10), ("按时办结率", 12), ("满意率", 10))  # fmt: skip
ALERTS = (("日期", 12), ("类型", 16), ("等级", 22), ("预警内容", 40), ("地点", 20),
          ("涉及工单", 10), ("处置", 8), ("处置说明", 30))  # fmt: skip
CARDS = (("对象类别", 12), ("对象", 28), ("等级", 8), ("原因", 44), ("受理", 8),
         ("按时办结率", 12), ("满意率", 10), ("得分", 8))  # fmt: skip


def to_xlsx(report: Report) -> bytes:
    """The report as a workbook: 概览, 热点诉求, 分社区, 预警, 考评 (Chinese headers)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    overview = _sheet(book, "概览", OVERVIEW)
    for item in report.indicators:
        number = item.kind in ("count", "rate")
        values = (item.value, item.previous) if number else (item.text, item.previous_text)
        overview.append([item.name, *values, item.change_text])
        if item.kind == "rate":
            for cell in overview[overview.max_row][1:3]:
                cell.number_format = PERCENT_FORMAT
    overview.append([])
    previous = f"{report.previous_since.isoformat()} 至 {report.previous_until.isoformat()}"
    overview.append(["报告", report.title])
    overview.append(["统计期间", f"{report.since.isoformat()} 至 {report.until.isoformat()}"])
    overview.append(["上期", previous])
    overview.append(["范围", report.street_name])
    local = report.generated_at.astimezone(LOCAL_TZ)
    overview.append(["生成时间", local.strftime("%Y-%m-%d %H:%M")])

    topics = _sheet(book, "热点诉求", TOPICS)
    for rank, topic in enumerate(report.topics, start=1):
        change_text = topic.change_text
        topics.append([rank, topic.name, topic.category, topic.filed, topic.previous, change_text])

    areas = _sheet(book, "分社区", AREAS)
    for area in report.areas:
        f = area.figures
        areas.append([area.name, f.filed, area.previous_filed, area.change_text, f.valid,
                      f.closed, f.on_time_rate, f.satisfaction_rate])  # fmt: skip
    _percent_columns(areas, (7, 8))

    alerts = _sheet(book, "预警", ALERTS)
    for line in report.alerts:
        alerts.append([line.day.isoformat(), line.kind, line.level, _safe(line.title),
                       line.place, line.count, line.state, _safe(line.note)])  # fmt: skip

    cards = _sheet(book, "考评", CARDS)
    for kind, card in report.assessed:
        reasons = "；".join(card.reasons)
        cards.append([kind, _safe(card.name), card.level_label, reasons, card.handled,
                      card.on_time_rate, card.satisfaction_rate, card.score])  # fmt: skip
    _percent_columns(cards, (6, 7))
    if not report.monthly:
        cards.append(["考评按月进行，周报不含考评"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
