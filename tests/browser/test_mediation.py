"""The dispute line in the console (调解记录): a neighbours' quarrel over a leak is graded 黄色,
dispatched, diverted to the community, mediated there with the parties on record, settled
(调解成功) with a photo of the signed agreement, closed as 案结事了 — and the month's figures
count it as settled within the community (不出村) with a 100 % success rate."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.app_fixtures import draft_body
from tests.browser.conftest import shot
from tests.browser.test_console_flow import submit
from tests.browser.test_hotline_steps import api, create_user, login
from tests.integration.services import Stack, start_stack

pytestmark = pytest.mark.browser

DESK = ("chen-desk", "mediation-desk-pass-05")
GRID = "510107001001001"  # 黉门街社区第一网格
COMMUNITY = "510107001001"  # 黉门街社区


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: the figures must count this test's dispute only."""
    running = start_stack(tmp_path_factory.mktemp("mediation-stack"))
    try:
        yield running
    finally:
        running.stop()


def agreement_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 160), "white").save(out, "JPEG")
    return out.getvalue()


def take(page: Page, step: str, button: str) -> None:
    """Submit one form of the mediation record and wait for its confirmation."""
    page.locator(f'form[data-step="{step}"]').get_by_role("button", name=button).click()
    expect(page).to_have_url(re.compile(rf"/mediation\?done={step}$"))
    expect(page.locator(".notice")).to_be_visible()


def test_a_quarrel_over_a_leak_is_mediated_at_the_community_and_counted(
    stack: Stack, browser: Browser
) -> None:
    key = f"web-dispute-{uuid.uuid4().hex[:8]}"
    body = draft_body(submission_key=key, category="disputes", subcategory="neighbor_disputes",
                      description="5栋有两户因为漏水吵起来了", location_text="小天竺小区5栋",
                      grid_code=GRID, conversation_id=f"web-{key[-8:]}")  # fmt: skip
    number = str(api(stack, "POST", "/tickets", json=body)["number"])
    create_user(stack, DESK, "staff")

    page = browser.new_context(locale="zh-CN").new_page()
    login(page, stack.app_url, DESK)
    page.goto(f"{stack.app_url}/tickets/{number}")
    expect(page.locator("#dispute")).to_contain_text("登记受理")
    expect(page.locator("#dispute")).to_contain_text("黄色")
    submit(page, "dispatch", "审核通过并派单")
    expect(page.locator("#handled-by")).to_contain_text("网格员")
    shot(page, "mediation-01-ticket-yellow-dispatched")

    page.get_by_role("link", name="调解记录").click()
    expect(page.locator("#dispute-steps li[aria-current=step]")).to_have_text("1. 登记受理")
    expect(page.locator("#risk-grade")).to_contain_text("黄色（一般纠纷）")

    # 分流 to the community: one escalation, the community handles it now.
    divert = page.locator('form[data-step="divert"]')
    divert.locator("select[name=tier]").select_option("community")
    divert.locator("input[name=reason]").fill("两户各执一词，需社区人民调解委员会调解")
    take(page, "divert", "分流交办")
    expect(page.locator("#handled-by")).to_have_text("黉门街社区")
    expect(page.locator("#dispute-steps li[aria-current=step]")).to_have_text("4. 分流交办")

    parties = page.locator('form[data-step="parties"]')
    parties.locator("input[name=name_0]").fill("王芳")
    parties.locator("input[name=phone_0]").fill("13800000001")
    parties.locator("select[name=role_0]").select_option("applicant")
    parties.locator("input[name=name_1]").fill("李强")
    parties.locator("select[name=role_1]").select_option("respondent")
    parties.locator("input[name=mediator]").fill("刘敏")
    take(page, "parties", "保存当事人")
    expect(page.locator("#mediator")).to_have_text("刘敏")

    session = page.locator('form[data-step="session"]')
    session.locator("input[name=place]").fill("黉门街社区调解室")
    session.locator("select[name=tier]").select_option("community")
    session.locator("textarea[name=summary]").fill(
        "查明为6栋卫生间防水层老化；6栋业主负责维修并赔偿5栋300元，双方签字"
    )
    take(page, "session", "添加调解记录")
    expect(page.locator("#sessions")).to_contain_text("黉门街社区调解室")

    outcome = page.locator('form[data-step="outcome"]')
    outcome.locator("select[name=outcome]").select_option("success")
    outcome.locator("textarea[name=text]").fill("双方达成调解协议，6栋本周内完成维修")
    take(page, "outcome", "保存调解结果")
    expect(page.locator("#outcome")).to_contain_text("调解成功")
    expect(page.locator("#outcome")).to_contain_text("不出村（社区）")

    page.locator('form[data-step="agreement"] input[name=agreement]').set_input_files(
        files=[{"name": "调解协议.jpg", "mimeType": "image/jpeg", "buffer": agreement_photo()}]
    )
    take(page, "agreement", "上传调解协议")
    expect(page.locator("#agreement a")).to_have_text("调解协议.jpg")
    shot(page, "mediation-02-record-settled")

    take(page, "conclude", "案结事了")
    expect(page.locator(".status")).to_have_text("已办结")
    expect(page.locator("#dispute-steps li[aria-current=step]")).to_have_text("6. 案结事了")
    told = api(stack, "GET", "/notifications?channel=webchat")["items"]
    mine = [n["text"] for n in told if n["ticket_number"] == number]
    assert any("调解成功：双方达成调解协议" in text for text in mine), mine

    page.get_by_role("link", name="矛盾纠纷").click()
    row = page.locator(f'#dispute-figures tr[data-unit="{COMMUNITY}"]')
    expect(row.locator('td[data-scope="village"]')).to_have_text("1")
    expect(row.locator("td.rate")).to_have_text("100.0%")
    expect(page.locator("#definitions")).to_contain_text("调解成功率")
    shot(page, "mediation-03-figures")
