"""统计报告 (casestore/services/reports.py): periods, the report's parts and its workbook."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from casestore.models import Alert
from casestore.services import assessment, reports
from core.settings import ROOT
from core.taxonomy import Taxonomy
from grids.registry import Registry, load_registry
from tests.casestore.test_assessment import GRID, OTHER_GRID, day_row

STREET, OTHER_STREET_GRID = "510107001", "510107002001001"


@pytest.fixture
def registry() -> Registry:
    return load_registry(ROOT / "data" / "grids")


def test_periods_are_months_or_iso_weeks() -> None:
    assert reports.parse_period("2026-11") == (date(2026, 11, 1), date(2026, 11, 30), "2026年11月")
    assert reports.parse_period("2026-W47") == (
        date(2026, 11, 16), date(2026, 11, 22), "2026年第47周"
    )  # fmt: skip
    for bad in ("2026-W54", "2026-13", "2026W47", "本月", "2026-11-01"):
        with pytest.raises(ValueError) as caught:
            reports.parse_period(bad)
        assert "年" in str(caught.value)
    assert reports.previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (
        date(2026, 2, 1), date(2026, 2, 28)
    )  # fmt: skip
    assert reports.previous_period(date(2026, 11, 16), date(2026, 11, 22)) == (
        date(2026, 11, 9), date(2026, 11, 15)
    )  # fmt: skip
    assert reports.change(12, 10, rate=False) == "+20.0%"
    assert reports.change(0.9, 0.85, rate=True) == "+5.0个百分点"
    assert reports.change(3, 0, rate=False) == "新增" and reports.change(None, 1, rate=True) == "—"


def seed(session: Session, registry: Registry) -> None:
    worker = assessment.worker_handle(registry.grids[OTHER_GRID])
    nov, oct_ = date(2026, 11, 5), date(2026, 10, 5)
    day_row(session, nov, GRID, "", sub="property_management", filed=6, valid=5, closed=4,
            closed_on_time=4, rated=2, satisfied=2)  # fmt: skip
    day_row(
        session,
        nov,
        OTHER_GRID,
        worker,
        sub="municipal_facilities",
        filed=10,
        valid=10,
        closed=10,
        closed_on_time=5,
        closed_late=5,
    )  # fmt: skip  a red card: 50% on time
    day_row(session, nov, OTHER_STREET_GRID, "", 1, filed=50, valid=50)  # another street
    day_row(session, oct_, GRID, "", sub="municipal_facilities", filed=8, valid=8)
    session.add_all([
        Alert(key="a1", kind="burst", level="red", title="黉门街社区 城乡建设诉求激增",
              day=nov, grid_code=GRID, count=7, note="已派员核查",
              acknowledged_at=datetime(2026, 11, 6, 2, 0, tzinfo=UTC)),
        Alert(key="a2", kind="cluster", level="yellow", title="=多人反映路灯不亮",
              day=nov, unit_code="510107001001", count=3),
        Alert(key="a3", kind="burst", level="red", title="别的街道", day=nov,
              grid_code=OTHER_STREET_GRID, count=9),
        Alert(key="a4", kind="burst", level="red", title="上个月的", day=oct_, grid_code=GRID),
    ])  # fmt: skip
    session.flush()


def test_a_street_month_report_and_its_workbook(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> None:
    seed(session, registry)
    since, until, label = reports.parse_period("2026-11")
    title = reports.report_title(registry, STREET, label)
    assert title == "玉林街道 2026年11月 市民诉求分析报告"
    report = reports.build(session, registry, taxonomy, street=STREET, since=since, until=until,
                           title=title)  # fmt: skip
    assert report.monthly and report.street_name == "玉林街道"
    assert (report.figures.filed, report.previous.filed) == (16, 8)
    shown = {i.name: (i.text, i.previous_text, i.change_text) for i in report.indicators}
    assert shown["受理量"] == ("16 件", "8 件", "+100.0%")
    assert shown["按时办结率"][0] == "64.3%"  # 9 of 14
    assert shown["满意率"] == ("100.0%", "—", "—")
    assert [(t.code, t.name, t.filed, t.previous) for t in report.topics] == [
        ("municipal_facilities", "市政设施", 10, 8),
        ("property_management", "物业管理", 6, 0),
    ]
    assert [(a.name, a.figures.filed, a.previous_filed) for a in report.areas] == [
        ("黉门街社区", 16, 8)
    ]
    assert [(a.title, a.state, a.kind, a.level) for a in report.alerts] == [
        ("黉门街社区 城乡建设诉求激增", "已处置", "诉求激增", "红色预警"),
        ("=多人反映路灯不亮", "未处置", "多人反映同一问题", "黄色预警"),
    ]
    assert [(kind, item.name, item.level) for kind, item in report.assessed] == [
        ("网格员", "乔丽（黉门街社区第二网格）", "red"),
        ("社区（村）", "黉门街社区", "red"),
    ]

    book = load_workbook(io.BytesIO(reports.to_xlsx(report)))
    assert book.sheetnames == ["概览", "热点诉求", "分社区", "预警", "考评"]
    overview = book["概览"]
    assert [c.value for c in overview[1]] == ["指标", "本期", "上期", "变化"]
    rows = {row[0].value: row for row in overview.iter_rows(min_row=2) if row[0].value}
    assert rows["受理量"][1].value == 16 and rows["受理量"][3].value == "+100.0%"
    assert rows["按时办结率"][1].number_format == "0.0%"
    assert abs(rows["按时办结率"][1].value - 9 / 14) < 1e-9
    assert rows["报告"][1].value == title and rows["范围"][1].value == "玉林街道"
    assert overview.column_dimensions["A"].width == 24
    alerts = book["预警"]
    assert alerts["D3"].value == "'=多人反映路灯不亮"  # never a formula
    assert alerts["G2"].value == "已处置" and alerts["H2"].value == "已派员核查"
    cards = book["考评"]
    assert cards["C2"].value == "红牌" and "按时办结率 50.0% 低于 80%" in cards["D2"].value
    assert cards["F2"].number_format == "0.0%"
    assert book["分社区"]["A2"].value == "黉门街社区"


def test_the_city_and_a_week(session: Session, registry: Registry, taxonomy: Taxonomy) -> None:
    seed(session, registry)
    since, until, label = reports.parse_period("2026-W45")  # 2 to 8 November
    report = reports.build(session, registry, taxonomy, street=None, since=since, until=until,
                           title=reports.report_title(registry, None, label))  # fmt: skip
    assert report.title == "全市 2026年第45周 市民诉求分析报告"
    assert report.period_label == "2026年第45周" and not report.monthly
    assert report.figures.filed == 66 and report.assessed == ()
    assert (report.previous_since, report.previous_until) == (
        since - timedelta(days=7), since - timedelta(days=1)
    )  # fmt: skip
    assert len(report.alerts) == 3  # every street's, not October's
    book = load_workbook(io.BytesIO(reports.to_xlsx(report)))
    assert book["考评"]["A2"].value == "考评按月进行，周报不含考评"
    with pytest.raises(ValueError, match="未知的街道"):
        reports.build(session, registry, taxonomy, street=GRID, since=since, until=until,
                      title="x")  # fmt: skip
