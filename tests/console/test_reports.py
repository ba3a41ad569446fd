"""统计报告 pages (console/staff/reports.py): who sees which street, the printable page, the
workbook download (Chinese file name, audited) and the checks."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role
from core.audit import AuditEvent
from core.settings import Settings
from tests.console.staff_fixtures import GRID, add_user, login
from tests.console.test_assessment import seed

STREET, OTHER_STREET = "510107001", "510107002"


def test_the_printable_report_and_its_workbook(staff_client: TestClient, session: Session) -> None:
    seed(session)  # October 2026 in 玉林街道: 张丽 fine, 乔丽 red
    page = staff_client.get("/reports", params={"period": "2026-10", "street": STREET})
    assert page.status_code == 200
    text = page.text
    assert '<article class="card" id="report">' in text
    assert "<h1>玉林街道 2026年10月 市民诉求分析报告</h1>" in text
    assert re.search(r'<option value="" >全市</option>', text)  # a city-wide operator may choose
    assert f'<option value="{STREET}" selected>玉林街道</option>' in text
    assert '受理量</td><td data-label="本期"><b>24 件</b>' in text
    assert "乔丽（黉门街社区第二网格）" in text and "红牌" in text
    assert '<link rel="stylesheet" href="/reports/print.css">' in text
    css = staff_client.get("/reports/print.css")
    assert css.headers["content-type"].startswith("text/css")
    assert re.search(r"@media print \{\s*header\.topbar, nav", css.text)

    link = re.search(r'<a href="([^"]+)" id="download-xlsx">下载 Excel 报告</a>', text)
    assert link
    download = staff_client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote('报告-2026-10-玉林街道.xlsx')}" in disposition
    assert 'filename="report-2026-10-510107001.xlsx"' in disposition
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["概览", "热点诉求", "分社区", "预警", "考评"]
    assert book["概览"]["B2"].value == 24
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "report_download"))
    assert [(a.actor, a.data) for a in audited] == [
        ("staff:lili", {"period": "2026-10", "unit_code": STREET})
    ]
    session.rollback()

    city = staff_client.get("/reports", params={"period": "2026-W42"}).text
    assert "全市 2026年第42周 市民诉求分析报告" in city and "周报不含考评" in city


def test_bad_input_and_who_may_see_what(client: TestClient, settings: Settings) -> None:
    add_user(settings, "zhou", Role.STAFF, unit_code=STREET)
    assert login(client, "zhou") == 303
    own = client.get("/reports", params={"period": "2026-10"})
    assert own.status_code == 200 and "玉林街道 2026年10月" in own.text
    assert "全市</option>" not in own.text
    assert client.get("/reports", params={"street": OTHER_STREET}).status_code == 403
    assert client.get("/reports/download", params={"street": OTHER_STREET}).status_code == 403
    bad = client.get("/reports", params={"period": "2026-13"})
    assert bad.status_code == 422 and "统计期间格式应为" in bad.text
    assert client.get("/reports/download", params={"period": "2026-W60"}).status_code == 422
    unknown = client.get("/reports", params={"street": "999"})
    assert unknown.status_code == 422 and "未知的街道" in unknown.text

    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    client.cookies.clear()
    assert login(client, "wang") == 303
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/download").status_code == 403
