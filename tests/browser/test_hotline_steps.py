"""The hotline's first day: a reopened ticket first, a transfer and its return, a grid worker
on a phone asking for more time and resolving with a photo; the resident hears each step."""

from __future__ import annotations

import io
import subprocess
import uuid

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.app_fixtures import draft_body
from tests.browser.conftest import ADMIN, shot
from tests.browser.test_console_flow import file_through_web_chat, submit
from tests.browser.test_phone_width import PHONE, fits
from tests.integration.services import ROOT, Stack

pytestmark = pytest.mark.browser

DESK = ("lili-desk", "hotline-desk-pass-01")
WORKER = ("zhao-field", "grid-worker-pass-02")


def create_user(stack: Stack, user: tuple[str, str], role: str, *extra: str) -> None:
    create = subprocess.run(
        [str(ROOT / ".venv/bin/petition"), "users", "create", "--username", user[0],
         "--name", user[0], "--role", role, *extra, "--password-stdin"],
        input=user[1] + "\n", env=stack.env, cwd=ROOT, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert create.returncode == 0, create.stderr


def api(stack: Stack, method: str, path: str, **kwargs: object) -> dict:
    url = f"{stack.app_url}/api/v1{path}"
    response = httpx.request(method, url, headers=stack.api_headers(), **kwargs)  # type: ignore[arg-type]
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def login(page: Page, app_url: str, user: tuple[str, str]) -> None:
    page.goto(app_url + "/login")
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue")).to_be_visible()


def reopened_ticket(stack: Stack) -> str:
    """A ticket its resident sent back (问题没解决) after it was resolved."""
    key = f"web-reopen-{uuid.uuid4().hex[:8]}"
    number = str(api(stack, "POST", "/tickets", json=draft_body(submission_key=key))["number"])
    for step in ({"action": "dispatch", "dispatch_to": "department"},
                 {"action": "resolve", "text": "已处理"},
                 {"action": "rate", "rating": "unresolved", "actor": "resident"}):  # fmt: skip
        api(stack, "POST", f"/tickets/{number}/actions", json={"actor": "staff:li", **step})
    return number


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "JPEG")
    return out.getvalue()


def told(resident: Page, words: str) -> None:
    expect(resident.locator("#log")).to_contain_text(words, timeout=30_000)


def test_transfer_return_extension_and_a_photo_reach_the_resident_step_by_step(
    browser: Browser, stack: Stack
) -> None:
    resident = browser.new_context(locale="zh-CN").new_page()
    number = file_through_web_chat(resident, stack.app_url)
    grid = api(stack, "GET", f"/tickets/{number}")["grid_code"]
    reopened = reopened_ticket(stack)
    create_user(stack, DESK, "staff")
    create_user(stack, WORKER, "grid_worker", "--grid", grid)

    desk = browser.new_context(locale="zh-CN").new_page()
    login(desk, stack.app_url, DESK)
    first = desk.locator("#queue tbody tr").first
    expect(first).to_contain_text(reopened)
    expect(first.locator(".tag", has_text="已重新办理")).to_be_visible()
    shot(desk, "hotline-01-reopened-first")

    desk.goto(f"{stack.app_url}/tickets/{number}")
    dispatch = desk.locator('form[data-action="dispatch"]')
    dispatch.locator("select[name=dispatch_to]").select_option("department")
    submit(desk, "dispatch", "审核通过并派单")
    handler = desk.locator("#handled-by").inner_text()
    transfer = desk.locator('form[data-action="transfer"]')
    target = "综合行政执法局" if handler != "综合行政执法局" else "城市管理局"
    transfer.locator("select[name=department]").select_option(target)
    transfer.locator("input[name=text]").fill("路灯由其他部门负责")
    submit(desk, "transfer", "转办")
    expect(desk.locator("#handled-by")).to_have_text(target)
    told(resident, f"已转至 {target} 办理")
    # The department calls back: not theirs either. The hotline records the return.
    desk.locator('form[data-action="return"] input[name=text]').fill("该路段路灯属供电公司产权")
    submit(desk, "return", "退回重新派单")
    expect(desk.locator(".status")).to_have_text("已退回，待重新派单")
    expect(desk.locator(".events")).to_contain_text("原因：该路段路灯属供电公司产权")
    told(resident, "已退回热线重新派单")
    desk.goto(f"{stack.app_url}/")
    expect(desk.locator("#queue tbody tr", has_text=number).locator(".tag")).to_contain_text(
        "已退回"
    )
    desk.goto(f"{stack.app_url}/tickets/{number}")
    desk.locator('form[data-action="dispatch"] select[name=dispatch_to]').select_option("grid")
    submit(desk, "dispatch", "审核通过并派单")
    shot(desk, "hotline-02-transferred-returned-dispatched")

    worker = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True).new_page()
    login(worker, stack.app_url, WORKER)
    task = worker.locator("#queue tbody tr", has_text=number)
    expect(task).to_be_visible()
    fits(worker)
    task.locator("a").first.click()
    extension = worker.locator('form[data-action="request_extension"]')
    extension.locator("input[name=days]").fill("3")
    extension.locator("input[name=text]").fill("需更换灯杆，配件三天后到货")
    submit(worker, "request_extension", "申请延期")
    expect(worker.locator("#extension-request")).to_contain_text("申请延期 3 个工作日")
    fits(worker)
    shot(worker, "hotline-03-phone-extension-requested")

    admin = browser.new_context(locale="zh-CN").new_page()
    login(admin, stack.app_url, ADMIN)
    admin.goto(f"{stack.app_url}/?view=tasks")
    expect(admin.locator("#queue tbody tr", has_text=number)).to_contain_text("延期待批")
    admin.goto(f"{stack.app_url}/tickets/{number}")
    submit(admin, "approve_extension", "批准延期")
    told(resident, "答复期限延至")

    worker.reload()
    resolve = worker.locator('form[data-action="resolve"]')
    resolve.locator("textarea").fill("已更换灯杆，路灯恢复照明")
    resolve.locator("input[name=photo]").set_input_files(
        {"name": "result.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    )
    submit(worker, "resolve", "办理完成")
    expect(worker.locator('img[alt="办理照片 1"]')).to_be_visible()
    fits(worker)
    shot(worker, "hotline-04-phone-resolved-with-photo")
    told(resident, "办理结果：已更换灯杆，路灯恢复照明")
    shot(resident, "hotline-05-resident-heard-each-step")
