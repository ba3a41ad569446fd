"""Exports of the queue (console/staff/export.py): columns, widths, time zone, phone rule."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import update

from accounts.models import Role
from casestore.models import Ticket
from console.staff.export import COLUMNS, percent
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.console.staff_fixtures import GRID, act, add_user, file, login
from webapp.app import create_app

HEADERS = [
    "工单号", "状态", "一级分类", "二级分类", "置信度", "网格", "地点", "诉求内容", "渠道",
    "联系电话", "街道（乡镇）", "社区（村）", "承办", "受理时间", "办理期限", "办结时间", "预警",
    "办理结果", "满意度", "来电人", "督办", "累计催办次数",
]  # fmt: skip
CLOSED_AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 2026-12-01 00:30 in Asia/Shanghai


def set_fields(settings: Settings, number: str, **values: object) -> None:
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(update(Ticket).where(Ticket.number == number).values(**values))
    engine.dispose()


def closed_ticket(client: TestClient, settings: Settings) -> str:
    number = file(client, 1, nlu_confidence=0.214)
    dispatched = act(client, number, action="dispatch", version="1", dispatch_to="grid")
    assert dispatched.status_code == 303
    assert act(client, number, action="close", version="2", text="=路灯已修复").status_code == 303
    set_fields(settings, number, closed_at=CLOSED_AT)
    return number


def sheet_of(client: TestClient) -> Worksheet:
    response = client.get("/export.xlsx?view=all")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def by_header(sheet: Worksheet, row: int) -> dict[str, Any]:
    """A row's cells by column title."""
    return {str(h.value): c for h, c in zip(sheet[1], sheet[row], strict=True)}


def values_of(sheet: Worksheet) -> dict[str, dict[str, Any]]:
    """Every ticket's values by column title, by ticket number."""
    rows = (by_header(sheet, r) for r in range(2, sheet.max_row + 1))
    return {row["工单号"].value: {t: c.value for t, c in row.items()} for row in rows}


def test_the_workbook_has_chinese_headers_widths_a_frozen_header_and_every_field(
    staff_client: TestClient, settings: Settings
) -> None:
    number = closed_ticket(staff_client, settings)
    sheet = sheet_of(staff_client)
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2"
    widths = {letter: d.width for letter, d in sheet.column_dimensions.items()}
    assert len(widths) == len(HEADERS) and widths["H"] == 40 and widths["A"] == 16
    row = by_header(sheet, 2)
    values = values_of(sheet)[number]
    assert row["置信度"].value == 0.214 and row["置信度"].number_format == "0%"  # shows 21%
    assert values["联系电话"] == "13812345678"
    assert values["街道（乡镇）"] == "玉林街道" and values["社区（村）"] == "黉门街社区"
    assert values["办理结果"] == "'=路灯已修复"  # still no formula from typed text
    assert values["办结时间"] == "2026-12-01 00:30"  # TIME_ZONE, as the console shows times
    assert str(values["受理时间"]).startswith("20") and len(str(values["受理时间"])) == 16


def test_the_csv_prints_confidence_as_a_percentage_and_the_same_columns(
    staff_client: TestClient, settings: Settings
) -> None:
    closed_ticket(staff_client, settings)
    text = staff_client.get("/export.csv?view=all").text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == HEADERS
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["置信度"] == "21%"
    assert row["办结时间"] == "2026-12-01 00:30" and row["办理结果"] == "'=路灯已修复"
    assert row["街道（乡镇）"] == "玉林街道" and row["社区（村）"] == "黉门街社区"


def test_times_follow_the_time_zone_setting(settings: Settings) -> None:
    utc = settings.model_copy(update={"time_zone": "UTC"})
    add_user(utc, "lili", Role.STAFF)
    with TestClient(create_app(utc)) as client:
        assert login(client, "lili") == 303
        closed_ticket(client, utc)
        assert by_header(sheet_of(client), 2)["办结时间"].value == "2026-11-30 16:30"


def test_anonymous_callers_show_as_such_and_area_tickets_name_their_units(
    client: TestClient, settings: Settings
) -> None:
    """The ticket page's rule: whoever sees the ticket sees the phone, unless anonymous."""
    anonymous = file(client, 1, anonymous=True, contact_phone=None)
    at_community = file(
        client, 2, grid_code=None, area_code="510107001001", contact_phone="028-85551234"
    )
    at_street = file(client, 3, grid_code=None, area_code="510107001")
    unknown = file(client, 4, grid_code=None)
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "wang") == 303
    assert list(values_of(sheet_of(client))) == [anonymous]  # a grid worker: own grids only
    client.cookies.clear()
    assert login(client, "lili") == 303
    found = values_of(sheet_of(client))
    place = {n: [v["联系电话"], v["街道（乡镇）"], v["社区（村）"]] for n, v in found.items()}
    assert place[anonymous] == ["匿名", "玉林街道", "黉门街社区"]
    assert place[at_community] == ["028-85551234", "玉林街道", "黉门街社区"]
    assert place[at_street] == ["13812345678", "玉林街道", None]  # openpyxl reads "" as None
    assert place[unknown] == ["13812345678", None, None]
    assert found[unknown]["置信度"] == 0.93


def test_percentages_and_columns() -> None:
    assert [percent(v) for v in (0.214, 0.935, 1.0, 0.0, None)] == ["21%", "94%", "100%", "0%", ""]
    assert [c.title for c in COLUMNS] == HEADERS
    assert all(c.width >= 8 for c in COLUMNS)
