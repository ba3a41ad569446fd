"""研判·预警·考评 as a new user meets it: an invented history (`petition demo-data`), a street's
operator reads this month's rates for their street, follows the red grid on the map to its
overdue tickets, acknowledges the burst of blocked drains and downloads the monthly report;
a grid worker sees only their grid."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect

from tests.browser.conftest import shot
from tests.browser.test_hotline_steps import create_user, login
from tests.integration.services import ROOT, Stack, start_stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: the demo history fills the queues the other browser tests read."""
    running = start_stack(tmp_path_factory.mktemp("analytics-stack"))
    try:
        yield running
    finally:
        running.stop()


STREET_DESK = ("fang-desk", "street-desk-pass-03")
GRID_WORKER = ("fang-grid", "grid-worker-pass-04")


def demo_history(stack: Stack) -> dict[str, str]:
    """Run `petition demo-data` against the stack's database; what it says it planted."""
    run = subprocess.run(
        [str(ROOT / ".venv/bin/petition"), "demo-data", "--tickets", "2000", "--days", "90",
         "--seed", "5", "--force"],
        env=stack.env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "演示数据，均为虚构" in run.stdout
    street = re.search(r"街道编码 (\d+)", run.stdout)
    burst = re.search(r"下水道堵塞集中反映：\S+ \S+ (\S+) (\S+)，", run.stdout)
    assert street and burst, run.stdout
    return {"street": street.group(1), "community": burst.group(1), "grid_name": burst.group(2)}


def test_a_street_operator_walks_from_the_rates_to_the_alert_and_the_report(
    stack: Stack, browser: Browser
) -> None:
    planted = demo_history(stack)
    create_user(stack, STREET_DESK, "staff", "--unit", planted["street"])
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    login(page, stack.app_url, STREET_DESK)

    # This month's 三率 for their street.
    page.get_by_role("link", name="统计分析").click()
    expect(page.locator("#scope")).to_contain_text("街道")
    rates = page.locator("#rates")
    for name in ("响应率", "解决率", "满意率"):
        expect(rates).to_contain_text(name)
    expect(rates.locator("b").first).to_contain_text("%")
    shot(page, "analytics-dashboard")

    # A red grid on the map (open tickets overdue now) → its overdue tickets.
    red = page.locator("#grid-map a:has(polygon.o-red)").first
    expect(red).to_be_attached()
    overdue = int(red.get_attribute("data-value") or 0)
    assert overdue >= 6
    red.click()
    expect(page.locator("#queue")).to_be_visible()
    expect(page).to_have_url(re.compile(r"overdue=true"))
    assert page.locator("#queue tbody tr").count() >= min(overdue, 6)
    expect(page.locator("#queue")).to_contain_text("已超期")

    # The burst of blocked drains in one community: acknowledged with a note.
    page.get_by_role("link", name="预警").click()
    row = page.locator("#alerts tr", has_text="多为「下水道」").first
    expect(row).to_contain_text(planted["community"])
    row.get_by_role("link").first.click()
    # Its tickets, earliest first: most of them (not necessarily the first) are the drains.
    tickets = page.locator("#alert-tickets tbody tr")
    expect(tickets.first).to_be_visible()
    drains = page.locator("#alert-tickets tbody tr", has_text="下水道").count()
    assert drains * 2 >= tickets.count() >= 4
    page.fill("#acknowledge textarea[name=note]", "已通知排水公司今日疏通，社区跟进回访")
    page.get_by_role("button", name="确认处置").click()
    expect(page.locator("#acknowledged")).to_contain_text("已通知排水公司今日疏通")
    shot(page, "analytics-alert-acknowledged")

    # The monthly report of their street as Excel.
    page.get_by_role("link", name="统计报告").click()
    expect(page.locator("#report")).to_be_visible()
    with page.expect_download() as download:
        page.click("#download-xlsx")
    path = download.value.path()
    book = load_workbook(io.BytesIO(path.read_bytes()))
    assert book.sheetnames[:2] == ["概览", "热点诉求"]
    overview = "\n".join(str(c) for row in book["概览"].iter_rows(values_only=True) for c in row)
    assert "响应率" in overview and "满意率" in overview
    context.close()


def test_a_grid_worker_sees_only_their_grid(stack: Stack, browser: Browser) -> None:
    grid = "110106001001001"  # a grid of the Beijing registry the demo history covers
    create_user(stack, GRID_WORKER, "grid_worker", "--grid", grid)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    login(page, stack.app_url, GRID_WORKER)
    page.goto(stack.app_url + "/dashboard?shade=volume")
    expect(page.locator("#scope")).to_have_text("您负责的网格")
    polygons = page.locator("#grid-map a")
    expect(polygons).to_have_count(1)
    assert polygons.first.get_attribute("data-grid") == grid
    rows = page.locator("#by-grid tbody tr")
    expect(rows).to_have_count(1)
    page.goto(stack.app_url + "/reports")
    expect(page.locator("body")).to_contain_text("没有此项权限")
    context.close()
