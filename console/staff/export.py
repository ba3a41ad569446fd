"""The queue's exports (导出 Excel / CSV): the columns, safe cells and the two file formats.

The queue's route (`console.staff.queue.export`) chooses the tickets and shows each as the
queue does (`row_view`); this module adds what only an export shows and writes the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from casestore.models import Ticket
from core import labels
from grids.registry import Registry

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ANONYMOUS = "匿名"  # what the ticket page shows for an anonymous caller's phone
TIME_FORMAT = "%Y-%m-%d %H:%M"  # as the console shows times (rendering.localtime)
PERCENT_FORMAT = "0%"


@dataclass(frozen=True)
class Column:
    title: str
    key: str  # of the row: `row_view`'s fields and `export_fields`'
    width: int  # in characters (Excel's unit; a Chinese character takes about two)
    percent: bool = False


# The first nine keep their places: people's spreadsheets refer to them.
COLUMNS = [
    Column("工单号", "number", 16),
    Column("状态", "status_label", 14),
    Column("一级分类", "category_name", 14),
    Column("二级分类", "subcategory_name", 14),
    Column("置信度", "confidence", 8, percent=True),
    Column("网格", "grid_name", 22),
    Column("地点", "location_text", 24),
    Column("诉求内容", "description", 40),
    Column("渠道", "channel_label", 10),
    Column("联系电话", "phone", 16),
    Column(labels.TIER["street"], "street", 14),
    Column(labels.TIER["community"], "community", 16),
    Column("承办", "assigned_to", 16),
    Column("受理时间", "created", 17),
    Column("办理期限", "due", 17),
    Column("办结时间", "closed", 17),
    Column("预警", "sla_label", 10),
    Column("办理结果", "resolution", 40),
    Column("满意度", "rating", 10),
    Column(labels.EVENT_FIELD["caller_name"], "caller_name", 12),
    Column(labels.FLAG["supervised"], "supervised", 8),
    Column(labels.EVENT_FIELD["urges"], "urges", 10),
]


def local_text(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime(TIME_FORMAT) if moment else ""


def phone_text(ticket: Ticket) -> str:
    """The ticket page's rule: whoever may see the ticket sees the phone, unless anonymous."""
    return ANONYMOUS if ticket.anonymous else (ticket.contact_phone or "")


def unit_names(ticket: Ticket, registry: Registry) -> dict[str, str]:
    """The names of the street and community the ticket's grid (or area) lies in, by tier."""
    if ticket.grid_code in registry.grids or ticket.area_code in registry.units:
        code = ticket.grid_code if ticket.grid_code in registry.grids else ticket.area_code
        return {step["tier"]: step["name"] for step in registry.chain(str(code))}
    return {}


def export_fields(ticket: Ticket, registry: Registry, zone: tzinfo) -> dict[str, Any]:
    """What an export shows beyond `row_view`, and its times in the TIME_ZONE setting."""
    units = unit_names(ticket, registry)
    return {
        "phone": phone_text(ticket),
        "street": units.get("street", ""),
        "community": units.get("community", ""),
        "created": local_text(ticket.created_at, zone),
        "due": local_text(ticket.due_at, zone),
        "closed": local_text(ticket.closed_at, zone),
        "resolution": ticket.resolution or "",
        "caller_name": "" if ticket.anonymous else (ticket.caller_name or ""),
        "supervised": "是" if ticket.supervised else "",
        "urges": ticket.urge_count or "",
    }


def percent(value: float | None) -> str:
    """0.214 → "21%" (the CSV's text; the workbook keeps the number with a percent format)."""
    return "" if value is None else f"{value:.0%}"


def export_response(fmt: str, rows: Iterable[dict[str, Any]], stamp: str) -> Response:
    """The rows as ``tickets-<stamp>.csv`` (UTF-8 with BOM so Excel reads the Chinese) or
    ``.xlsx`` (widths set, header frozen)."""
    return table_response(fmt, COLUMNS, rows, f"tickets-{stamp}", "工单")


def table_response(
    fmt: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]], stem: str, sheet_name: str
) -> Response:
    """Any table as ``<stem>.csv`` or ``<stem>.xlsx`` (``stem`` is ASCII: the file name)."""
    header = [column.title for column in columns]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow(
                [percent(row[c.key]) if c.percent else cell(row[c.key]) for c in columns]
            )
        body: str | bytes = "\ufeff" + buffer.getvalue()
        media_type = "text/csv; charset=utf-8"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(sheet_name)
        _layout(sheet, columns)
        sheet.append(header)
        for row in rows:
            sheet.append([_xlsx_cell(sheet, c, row[c.key]) for c in columns])
        out = io.BytesIO()
        book.save(out)
        body, media_type = out.getvalue(), XLSX_TYPE
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


def _layout(sheet: WriteOnlyWorksheet, columns: Sequence[Column]) -> None:
    """Column widths and the frozen header row (a write-only sheet takes them before rows)."""
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"


def _xlsx_cell(sheet: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    if not column.percent or value is None:
        return cell(value)
    number = WriteOnlyCell(sheet, value=round(float(value), 3))
    number.number_format = PERCENT_FORMAT
    return number


# C0 controls except tab and line breaks, DEL, and the two XML non-characters: a stored NUL
# (Open311 takes any text) would make openpyxl refuse the whole workbook.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
LONE_SURROGATES = re.compile("[\ud800-\udfff]")
FORMULA_STARTS = {"=", "+", "-", "@", "\t", "\r"}


def cell(value: Any) -> Any:
    """Spreadsheet-safe: no control characters, no formula injection from resident text."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, str):
        value = LONE_SURROGATES.sub("\ufffd", CONTROL_CHARACTERS.sub("", value))
        return "'" + value if value[:1] in FORMULA_STARTS else value
    return "" if value is None else value
