"""The bot process in-process against the fake Bot API: webhook secret, dedupe, outages, limits.

Rasa and the case store point at a closed loopback port here, which is exactly the outage
the bot must survive; the whole-stack behaviour is in tests/integration/test_telegram.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import texts
from bot.app import SECRET_HEADER, BotProcess, webhook_app
from core.settings import Settings
from tests.fake_telegram import FakeTelegram
from tests.hostile import HOSTILE_BODIES, HOSTILE_TEXT, HOSTILE_VALUES
from tests.integration.services import free_port

SECRET = "webhook-secret-0123456789"
PATH = "/telegram/hook"
JSON = "application/json"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


def webhook_settings(fake: FakeTelegram, tmp_path: Path, **overrides: Any) -> Settings:
    """A bot on the fake Bot API, receiving updates by webhook at ``PATH`` with ``SECRET``."""
    return Settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        telegram_base_file_url=fake.base_file_url,
        telegram_webhook_url=f"https://bot.example.org{PATH}",
        telegram_webhook_secret=SECRET,
        casestore_api_token="test-token-0123456789",
        bot_state_path=tmp_path / "bot.sqlite3",
        **overrides,
    )


@pytest.fixture
async def process(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotProcess]:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: Rasa and case store are down
    settings = webhook_settings(
        fake, tmp_path, rasa_url=closed, casestore_url=closed, bot_rate_limit_messages=3
    )
    running = BotProcess(settings)
    await running.application.initialize()
    yield running
    await running.tasks.cancel()
    await running.application.shutdown()
    running.store.close()


def text_update(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "居民"},
            "text": text,
        },
    }


async def post(process: BotProcess, body: dict[str, Any], secret: str | None) -> httpx.Response:
    app = webhook_app(process, path=PATH, secret=SECRET)
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.post(PATH, json=body, headers=headers)


async def texts_to(fake: FakeTelegram, user: int, needle: str, count: int = 1) -> list[str]:
    """Wait (off the event loop) until ``count`` messages to the user contain ``needle``."""
    await asyncio.to_thread(
        fake.wait_for, lambda: sum(needle in t for t in fake.texts_to(user)) >= count, 10.0
    )
    return fake.texts_to(user)


async def test_webhook_refuses_a_wrong_secret(process: BotProcess) -> None:
    for secret in (None, "wrong-secret-0123456789"):
        response = await post(process, text_update(1, 501, "路灯坏了"), secret)
        assert response.status_code == 403
    assert process.store.users_with_pending_jobs() == []


async def test_outage_keeps_messages_and_tells_once(
    process: BotProcess, fake: FakeTelegram
) -> None:
    user = 502
    for update_id, text in ((11, "路灯坏了"), (12, "在玉林小区3栋")):
        response = await post(process, text_update(update_id, user, text), SECRET)
        assert response.status_code == 200
    # Telegram delivering an update again changes nothing.
    assert (await post(process, text_update(11, user, "路灯坏了"), SECRET)).status_code == 200
    await texts_to(fake, user, texts.BUSY)
    await process._retry_pending()
    assert fake.texts_to(user).count(texts.BUSY) == 1
    first = process.store.next_job(user)
    assert first is not None and first.data["message"] == "路灯坏了"
    assert first.data["display_text"] == "路灯坏了"
    keys = [r["key"] for r in process.store._db.execute("SELECT key FROM job ORDER BY id")]
    assert keys == ["u11:0", "u12:0"]


async def test_commands_answered_locally_during_an_outage(
    process: BotProcess, fake: FakeTelegram
) -> None:
    user = 503
    update = text_update(21, user, "/help")
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]
    assert (await post(process, update, SECRET)).status_code == 200
    sent = await texts_to(fake, user, "/mydata")
    assert sent == [texts.HELP]


async def test_rate_limit_tells_once_and_drops_the_excess(
    process: BotProcess, fake: FakeTelegram
) -> None:
    user = 504
    for update_id in range(31, 37):  # limit is 3 per minute
        await post(process, text_update(update_id, user, f"第{update_id}条"), SECRET)
    sent = await texts_to(fake, user, "太频繁")
    assert sent.count(texts.RATE_LIMITED) == 1
    pending = process.store._db.execute("SELECT COUNT(*) FROM job WHERE user_id = ?", (user,))
    assert pending.fetchone()[0] == 3


async def test_webhook_server_registers_with_its_secret_and_serves(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    process = BotProcess(webhook_settings(fake, tmp_path, telegram_webhook_port=port))
    running = asyncio.create_task(process.run())
    calls = len(fake.calls_of("setWebhook"))
    await asyncio.to_thread(fake.wait_for, lambda: len(fake.calls_of("setWebhook")) > calls, 10.0)
    registered = fake.calls_of("setWebhook")[-1].params
    assert registered["url"] == f"https://bot.example.org{PATH}"
    assert registered["secret_token"] == SECRET
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(100):  # uvicorn binds right after setWebhook
            try:
                health = await client.get("/healthz")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
        assert health.status_code == 200
        refused = await client.post(PATH, json=text_update(41, 505, "你好"))
        assert refused.status_code == 403
    process.stopping.set()
    await asyncio.wait_for(running, 15)


def hostile_updates() -> list[bytes]:
    """Webhook bodies: malformed, wrongly typed, and text updates carrying hostile text."""
    cases = list(HOSTILE_BODIES)
    for number, text in enumerate(HOSTILE_TEXT):
        cases.append(json.dumps(text_update(10_000 + number, 601, text[:4096])).encode())
    for number, value in enumerate(HOSTILE_VALUES):
        update = text_update(20_000 + number, 602, "路灯坏了")
        for field in ("message", "update_id"):
            cases.append(json.dumps({**update, field: value}).encode())
        for field in ("chat", "from", "text", "date"):
            broken = {**update, "message": {**update["message"], field: value}}
            cases.append(json.dumps(broken).encode())
    return cases


async def test_hostile_webhook_bodies_get_a_4xx_or_are_taken(process: BotProcess) -> None:
    app = webhook_app(process, path=PATH, secret=SECRET)
    transport = httpx.ASGITransport(app=app)
    cases = hostile_updates()
    assert len(cases) >= 100
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        for body in cases:
            response = await client.post(
                PATH, content=body, headers={SECRET_HEADER: SECRET, "Content-Type": JSON}
            )
            answers.append((response.status_code, body[:60]))
    assert all(status in (200, 400) for status, _ in answers), [
        a for a in answers if a[0] not in (200, 400)
    ][:10]
