"""A grid worker in the field works their tasks on a phone (390 px wide)."""

from __future__ import annotations

import subprocess
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.app_fixtures import draft_body
from tests.browser.conftest import ADMIN, shot
from tests.integration.services import ROOT, Stack

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
GRID = "510107001001001"
WORKER = ("wang-phone", "grid-worker-pass-01")


def fits(page: Page) -> None:
    """Nothing is wider than the screen: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width} px wide"


def login(page: Page, app_url: str, user: tuple[str, str]) -> None:
    page.goto(app_url + "/login")
    fits(page)
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    page.get_by_role("button", name="登录").click()


def dispatched_ticket(stack: Stack) -> str:
    key = f"web-phone-{uuid.uuid4().hex[:8]}"
    body = draft_body(submission_key=key, conversation_id=key, grid_code=GRID)
    filed = httpx.post(f"{stack.app_url}/api/v1/tickets", json=body, headers=stack.api_headers())
    assert filed.status_code == 201, filed.text
    number = str(filed.json()["number"])
    dispatched = httpx.post(
        f"{stack.app_url}/api/v1/tickets/{number}/actions",
        json={"actor": "staff:li", "action": "dispatch", "dispatch_to": "grid"},
        headers=stack.api_headers(),
    )
    assert dispatched.status_code == 200, dispatched.text
    return number


def test_a_grid_worker_works_a_task_on_a_phone(browser: Browser, stack: Stack) -> None:
    create = subprocess.run(
        [str(ROOT / ".venv/bin/petition"), "users", "create", "--username", WORKER[0],
         "--name", "王网格员", "--role", "grid_worker", "--grid", GRID, "--password-stdin"],
        input=WORKER[1] + "\n", env=stack.env, cwd=ROOT, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert create.returncode == 0, create.stderr
    number = dispatched_ticket(stack)

    worker = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True).new_page()
    login(worker, stack.app_url, WORKER)
    # The default view of a grid worker is their own open tasks, as cards.
    card = worker.locator("#queue tbody tr", has_text=number)
    expect(card).to_be_visible()
    expect(card).to_contain_text("已派单")
    fits(worker)
    shot(worker, "phone-01-tasks")
    card.locator("a").first.click()
    expect(worker.locator("h1")).to_contain_text(number)
    expect(worker.get_by_role("button", name="审核通过并派单")).to_have_count(0)
    fits(worker)
    worker.locator('form[data-action="start"]').get_by_role("button", name="开始办理").click()
    expect(worker.locator(".notice")).to_be_visible()
    worker.locator('form[data-action="resolve"] textarea').fill("已到现场疏通下水道")
    worker.locator('form[data-action="resolve"]').get_by_role("button", name="办理完成").click()
    expect(worker.locator(".notice")).to_be_visible()
    fits(worker)
    shot(worker, "phone-02-resolved")

    desk = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True).new_page()
    login(desk, stack.app_url, ADMIN)
    for path in ("/", "/?view=tasks", "/intake", f"/tickets/{number}", "/dashboard"):
        desk.goto(stack.app_url + path)
        fits(desk)
    shot(desk, "phone-03-intake")
