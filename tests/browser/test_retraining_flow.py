"""An admin turns three staff corrections into a better model from the console."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from core.settings import Settings
from tests.browser.conftest import ADMIN, shot
from tests.browser.test_console_flow import say
from tests.integration.services import Stack
from tests.integration.test_retraining import intent_of

pytestmark = pytest.mark.browser

# (resident's words, category the bot guessed, category staff corrected it to)
CORRECTIONS = [
    ("共享单车把盲道全占了，盲人根本没法走", "civil_affairs", "transportation"),
    ("小区充电桩坏了半个月没人修", "public_safety", "urban_construction"),
    ("网约车司机绕路多收了我四十块钱", "transportation", "commerce_tourism"),
]
TRAINING_MINUTES = 8
# The swap runs in the background and the version page refreshes until it is done; Rasa may
# take as long as the server's own limit (MODEL_SWAP_TIMEOUT_SECONDS) on a busy machine.
SWITCH_MS = int(Settings.model_fields["model_swap_timeout_seconds"].default * 1000) + 30_000


def correct_tickets(stack: Stack) -> None:
    api = stack.api_headers()
    for i, (text, guessed, corrected) in enumerate(CORRECTIONS):
        draft = {"submission_key": f"browser-retrain-{i:04d}", "category": guessed,
                 "description": text, "anonymous": True, "channel": "webchat",
                 "conversation_id": f"web-retrain-{i}",
                 "transcript": [{"role": "resident", "text": text}]}  # fmt: skip
        number = httpx.post(f"{stack.app_url}/api/v1/tickets", json=draft, headers=api).json()[
            "number"
        ]
        httpx.post(f"{stack.app_url}/api/v1/tickets/{number}/actions", headers=api,
                   json={"action": "correct", "actor": "staff:wang", "category": corrected},
                   ).raise_for_status()  # fmt: skip


def sign_in(page: Page, app_url: str, path: str) -> None:
    page.goto(f"{app_url}/login?next={path}")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.get_by_role("button", name="登录").click()


def test_inbox_train_compare_activate_and_roll_back(browser: Browser, stack: Stack) -> None:
    phrase = CORRECTIONS[0][0]
    before = intent_of(stack, phrase)
    assert before != "report_transportation"
    correct_tickets(stack)
    admin = browser.new_context(locale="zh-CN").new_page()
    sign_in(admin, stack.app_url, "/admin/training")
    for text, _, _ in CORRECTIONS:
        row = admin.locator("#inbox tbody tr", has_text=text)
        expect(row).to_contain_text("坐席更正")
        row.locator('input[name="ids"]').check()
    shot(admin, "10-training-inbox")
    admin.get_by_role("button", name="采纳所选（按所选标注）").click()
    expect(admin.locator(".notice")).to_have_text("已处理 3 条样本")

    admin.goto(f"{stack.app_url}/admin/models")
    admin.get_by_role("button", name="开始训练").click()
    expect(admin.locator("#job-log")).to_contain_text("3 条已采纳样本加入训练数据")
    result = admin.locator("#job-result")
    expect(result).to_be_visible(timeout=TRAINING_MINUTES * 60_000)
    expect(admin.locator("#job-status")).to_have_text("已完成")
    shot(admin, "11-training-job")
    admin.get_by_role("link", name="查看对比结果").click()
    expect(admin.locator("table.compare")).to_contain_text("宏平均F1")
    expect(admin.locator("svg.confusion")).to_be_visible()
    shot(admin, "12-comparison")
    form = admin.locator("#activate-form")
    form.locator("input[name=reason]").fill("演示：小配置训练的模型")  # accepted even if worse
    form.get_by_role("button", name="启用此版本").click()
    expect(admin.locator("#switch-running, p:has-text('此版本正在使用中')").first).to_be_visible()
    expect(admin.locator("p", has_text="此版本正在使用中")).to_be_visible(timeout=SWITCH_MS)
    assert intent_of(stack, phrase) == "report_transportation"

    resident = browser.new_context(locale="zh-CN").new_page()
    resident.goto(f"{stack.app_url}/chat")
    say(resident, phrase, "什么位置")
    say(resident, "玉林北路18号", "联系电话")
    say(resident, "匿名", "【分类】交通运输")
    shot(resident, "13-web-chat-after-retraining")

    admin.goto(f"{stack.app_url}/admin/models")
    admin.get_by_role("link", name=re.compile("初始模型")).click()
    admin.get_by_role("button", name="回滚到此版本").click()
    expect(admin.locator("p", has_text="此版本正在使用中")).to_be_visible(timeout=SWITCH_MS)
    assert intent_of(stack, phrase) == before
    expect(admin.locator(".events")).to_contain_text("回滚模型")
    expect(admin.locator(".events")).not_to_contain_text("model_")
    shot(admin, "14-rolled-back")
