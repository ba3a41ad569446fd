"""A new hotline operator works the web chat's ticket from the queue to closure."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN, shot
from tests.integration.services import Stack

pytestmark = pytest.mark.browser


def say(page: Page, text: str, expect_reply: str) -> None:
    page.fill("#text", text)
    page.click("#composer button[type=submit]")
    expect(page.locator("#log")).to_contain_text(expect_reply, timeout=30_000)


def file_through_web_chat(page: Page, app_url: str) -> str:
    page.goto(f"{app_url}/chat")
    say(page, "我家楼下的路灯坏了好几天了，晚上很黑", "什么位置")
    say(page, "玉林小区3栋", "联系电话")
    say(page, "13812345678", "确认提交")
    page.get_by_role("button", name="确认提交").last.click()
    expect(page.locator("#log")).to_contain_text("工单号：", timeout=30_000)
    match = re.search(r"工单号：(\d{13})", page.locator("#log").inner_text())
    assert match
    return match.group(1)


def submit(page: Page, action: str, button: str) -> None:
    form = page.locator(f'form[data-action="{action}"]')
    form.get_by_role("button", name=button).click()
    expect(page.locator(".notice")).to_be_visible()


def test_ticket_from_web_chat_is_corrected_dispatched_replied_and_closed(
    browser: Browser, stack: Stack
) -> None:
    resident = browser.new_context(locale="zh-CN").new_page()
    number = file_through_web_chat(resident, stack.app_url)
    shot(resident, "01-resident-filed")

    staff = browser.new_context(locale="zh-CN").new_page()
    staff.goto(stack.app_url + "/")
    expect(staff).to_have_url(re.compile(r"/login"))
    staff.fill("input[name=username]", ADMIN[0])
    staff.fill("input[name=password]", ADMIN[1])
    staff.get_by_role("button", name="登录").click()
    first_row = staff.locator("#queue tbody tr").first
    expect(first_row).to_contain_text(number)
    expect(first_row.locator(".conf")).to_have_text(re.compile(r"\d+%"))
    shot(staff, "02-queue")

    staff.keyboard.press("j")
    staff.keyboard.press("Enter")
    expect(staff.locator("h1")).to_contain_text(number)
    expect(staff.locator("svg.grid-map")).to_be_visible()
    correct = staff.locator('form[data-action="correct"]')
    correct.locator("select[name=category]").select_option("public_safety")
    correct.locator("select[name=subcategory]").select_option("")
    submit(staff, "correct", "保存更正")
    expect(staff.locator("#category")).to_contain_text("公共安全")
    submit(staff, "dispatch", "审核通过并派单")
    reply = staff.locator('form[data-action="reply"]')
    reply.locator("select.template-picker").select_option(label="现场核实")
    expect(reply.locator("textarea")).to_have_value(re.compile("现场核实"))
    reply.locator("textarea").fill("已安排维修人员今晚到场检修路灯")
    submit(staff, "reply", "答复市民")
    staff.locator('form[data-action="close"] textarea').fill("路灯已修复")
    submit(staff, "close", "办结")
    expect(staff.locator(".status")).to_have_text("已办结")
    shot(staff, "03-ticket-closed")

    expect(resident.locator("#log")).to_contain_text(
        "已安排维修人员今晚到场检修路灯", timeout=30_000
    )
    expect(resident.locator("#log")).to_contain_text("已办结", timeout=30_000)
    shot(resident, "04-resident-sees-reply")

    examples = httpx.get(
        f"{stack.app_url}/api/v1/training-examples?source=correction", headers=stack.api_headers()
    ).json()["items"]
    assert [(e["ticket_number"], e["intent"]) for e in examples] == [
        (number, "report_public_safety")
    ]
    assert examples[0]["text"] == "我家楼下的路灯坏了好几天了，晚上很黑"


def test_script_in_a_description_shows_as_text(browser: Browser, stack: Stack) -> None:
    body = {
        "submission_key": "browser-xss-0001",
        "category": "urban_construction",
        "description": "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>",
        "anonymous": True,
        "channel": "rest",
    }
    number = httpx.post(
        f"{stack.app_url}/api/v1/tickets", json=body, headers=stack.api_headers()
    ).json()["number"]
    page = browser.new_context().new_page()
    page.goto(f"{stack.app_url}/login?next=/tickets/{number}")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#description")).to_contain_text("<script>window.pwned=1</script>")
    assert page.evaluate("window.pwned") is None
