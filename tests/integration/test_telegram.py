"""The Telegram channel end to end: real bot process, Rasa, actions and case store; fake Bot API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot import texts
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.images import jpeg
from tests.integration.services import Service, Stack, telegram_bot

pytestmark = pytest.mark.integration

NUMBER = re.compile(r"工单号：(\d{13})")
# A point in 黉门街社区第一网格 (see tests/integration/test_intake.py).
POINT = (30.6375, 104.0525)
GRID = "510107001001001"


class Telegram:
    """The fake Bot API and the bot process talking to it."""

    def __init__(self, fake: FakeTelegram, bot: Service) -> None:
        self.fake = fake
        self.bot = bot

    def say(self, user: int, text: str, expect: str) -> dict[str, Any]:
        """Send text and wait for a bot message containing ``expect``."""
        before = len(self.fake.messages_to(user))
        self.fake.send_text(user, text)
        return self.fake.wait_for_text(user, expect, after=before)

    def tap(self, user: int, title: str, expect: str) -> dict[str, Any]:
        before = len(self.fake.messages_to(user))
        self.fake.tap(user, title)
        return self.fake.wait_for_text(user, expect, after=before)

    def restart_bot(self) -> None:
        self.bot.stop()
        self.fake.forget_polls()
        self.bot.start(timeout=60)


@pytest.fixture(scope="module")
def telegram(stack: Stack) -> Iterator[Telegram]:
    fake = FakeTelegram().start()
    bot = telegram_bot(
        stack,
        base_url=fake.base_url,
        file_url=fake.base_file_url,
        ready_url=fake.ready_url,
        token=fake.token,
    )
    try:
        bot.start(timeout=60)
        yield Telegram(fake, bot)
    finally:
        bot.stop()
        fake.stop()


def ticket(stack: Stack, number: str) -> dict[str, Any]:
    response = httpx.get(f"{stack.app_url}/api/v1/tickets/{number}", headers=stack.api_headers())
    response.raise_for_status()
    return dict(response.json())


def staff(stack: Stack, number: str, **action: str) -> None:
    response = httpx.post(
        f"{stack.app_url}/api/v1/tickets/{number}/actions",
        json={"actor": "staff:test", **action},
        headers=stack.api_headers(),
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_report_with_photo_location_and_contact(telegram: Telegram, stack: Stack) -> None:
    fake, user = telegram.fake, 710001
    welcome = telegram.say(user, "/start", "市民诉求")
    assert "/help" in welcome["text"]
    telegram.say(user, "我家楼下的路灯坏了好几天了，晚上很黑", "什么位置")
    assert any(c.params.get("action") == "typing" for c in fake.calls_of("sendChatAction"))

    before = len(fake.messages_to(user))
    photo = jpeg(gps=POINT)
    fake.send_document(user, photo, file_name="现场.jpg", mime_type="image/jpeg")
    fake.wait_for_text(user, texts.PHOTO_RECEIVED, after=before)
    offer = fake.wait_for_text(user, texts.PHOTO_LOCATION_OFFER, after=before)
    (callback,) = [
        b["callback_data"] for row in offer["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert len(callback.encode()) <= 64

    telegram.tap(user, texts.PHOTO_LOCATION_BUTTON, "联系电话")
    used = next(m for m in fake.messages_to(user) if m["message_id"] == offer["message_id"])
    assert used["text"].endswith(f"✅ {texts.PHOTO_LOCATION_BUTTON}")
    assert not used.get("reply_markup")

    before = len(fake.messages_to(user))
    fake.send_contact(user, "+86 139 1234 5678")
    summary = fake.wait_for_text(user, "【分类】城乡建设", after=before)
    assert "13912345678" in summary["text"]
    done = telegram.tap(user, "确认提交", "工单号")
    number = NUMBER.search(done["text"])
    assert number, done["text"]

    filed = ticket(stack, number.group(1))
    assert filed["category"] == "urban_construction"
    assert filed["grid_code"] == GRID
    assert filed["conversation_id"] == f"tg-{user}" and filed["channel"] == "telegram"
    assert filed["contact_phone"] == "13912345678"
    assert [a["content_type"] for a in filed["attachments"]] == ["image/jpeg"]
    assert filed["attachments"][0]["size"] == len(photo)
    public = httpx.get(f"{stack.app_url}/open311/v2/requests/{number.group(1)}.json").json()
    assert public[0].get("media_url") is None  # public Open311 reads carry no photos

    listing = telegram.say(user, "/status", number.group(1))
    assert "城乡建设" in listing["text"]
    mine = telegram.say(user, "/mydata", "12345")
    assert "电话：13912345678" in mine["text"] and "照片：1 张" in mine["text"]
    assert f"tg-{user}" in mine["text"]
    other = telegram.say(710999, f"/status {number.group(1)}", "没有找到")
    assert "13912345678" not in other["text"]


def test_staff_reply_and_satisfaction_arrive_once(telegram: Telegram, stack: Stack) -> None:
    fake, user = telegram.fake, 710002
    telegram.say(user, "门口的井盖不见了，晚上很危险", "什么位置")
    before = len(fake.messages_to(user))
    fake.send_location(user, *POINT)
    fake.wait_for_text(user, "联系电话", after=before)
    telegram.tap(user, "匿名反映", "【联系方式】匿名")
    number = NUMBER.search(telegram.tap(user, "确认提交", "工单号")["text"])
    assert number
    assert ticket(stack, number.group(1))["grid_code"] == GRID

    staff(stack, number.group(1), action="dispatch")
    staff(stack, number.group(1), action="reply", text="已安排维修人员今天下午到场")
    staff(stack, number.group(1), action="close", text="井盖已经补装")
    question = fake.wait_for_text(user, "请您对本次办理进行评价")
    assert question["reply_markup"]["inline_keyboard"]

    # A restart in between: nothing is sent again, and an update sent meanwhile is not lost.
    before = len(fake.messages_to(user))
    telegram.bot.stop()
    fake.send_text(user, "/help")
    fake.forget_polls()
    telegram.bot.start(timeout=60)
    fake.wait_for_text(user, "/mydata", after=before)

    pending = httpx.get(
        f"{stack.app_url}/api/v1/notifications",
        params={"channel": "telegram", "conversation_id": f"tg-{user}"},
        headers=stack.api_headers(),
    ).json()
    assert pending["items"] == []
    texts_to = fake.texts_to(user)
    for needle in ("已派单", "已安排维修人员今天下午到场", "请您对本次办理进行评价"):
        assert sum(needle in t for t in texts_to) == 1, needle

    # Tapping a notification's button sends its payload to Rasa like any button.
    title = question["reply_markup"]["inline_keyboard"][-1][0]["text"]
    fake.tap(user, title)

    def last_user_event() -> dict[str, Any]:
        tracker = httpx.get(
            f"{stack.rasa_url}/conversations/tg-{user}/tracker",
            params={"token": stack.env["RASA_TOKEN"]},
        ).json()
        return [e for e in tracker["events"] if e.get("event") == "user"][-1]

    fake.wait_for(lambda: last_user_event()["text"].startswith("/rate_service"))
    event = last_user_event()
    assert number.group(1) in event["text"]
    assert event["metadata"]["channel"] == "telegram"
    assert event["metadata"]["display_text"] == title


def test_unsupported_media_get_a_polite_answer(telegram: Telegram) -> None:
    fake, user = telegram.fake, 710003
    fake.send_voice(user)
    fake.wait_for_text(user, "语音")
    fake.send_sticker(user)
    fake.wait_for_text(user, "表情")
    before = len(fake.messages_to(user))
    fake.send_document(
        user, b"%PDF-1.7 not an image", file_name="a.pdf", mime_type="application/pdf"
    )
    fake.wait_for_text(user, "暂时只能接收", after=before)
    before = len(fake.messages_to(user))
    fake.send_document(user, b"GIF89a fake", file_name="a.jpg", mime_type="image/jpeg")
    fake.wait_for_text(user, texts.PHOTO_WRONG_TYPE, after=before)
    telegram.say(user, "你好", "市民诉求")


def test_rasa_down_resident_told_once_then_answered(telegram: Telegram, stack: Stack) -> None:
    fake, user = telegram.fake, 710004
    stack.rasa.stop()
    try:
        fake.send_text(user, "你好")
        fake.wait_for_text(user, texts.BUSY)
        fake.send_text(user, "我家楼下的路灯坏了好几天了")
    finally:
        stack.rasa.start()
    fake.wait_for_text(user, "什么位置")
    messages = fake.texts_to(user)
    assert sum(texts.BUSY in t for t in messages) == 1
    greeting = next(i for i, t in enumerate(messages) if "市民诉求" in t)
    question = next(i for i, t in enumerate(messages) if "什么位置" in t)
    assert messages.index(texts.BUSY) < greeting < question
