"""The REST channel refuses malformed bodies with a 400 and long messages with a reply."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from rasa.core import run
from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response

from nlu.channel import (
    DEFAULT_MAX_MESSAGE_CHARS,
    TOO_LONG_REPLY,
    RestChannel,
    max_message_chars,
)

URL = "/webhooks/rest/webhook"


class Received:
    """What reached Rasa's message handler; each message is answered with 收到."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "收到")


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Received:
    # Sanic rewrites its own classes at each start-up; in test mode it can do so repeatedly.
    monkeypatch.setattr(Sanic, "test_mode", True)
    return Received()


async def _client(
    received: Received, *, domain: Any = None, limit: int = 20
) -> AsyncIterator[httpx.AsyncClient]:
    app = Sanic(f"rest_{uuid.uuid4().hex}")
    app.ctx.agent = SimpleNamespace(domain=domain)

    @app.post("/model/parse")
    async def parse(request: Any) -> Any:  # another route of Rasa's server
        return response.json({"text": request.json["text"]})

    channel = RestChannel(limit)
    app.blueprint(channel.blueprint(received), url_prefix=f"/webhooks/{channel.name()}")
    await app._startup()
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as client:
        yield client


@pytest.fixture
async def client(received: Received) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(received):
        yield client


async def test_a_well_formed_message_reaches_rasa(
    client: httpx.AsyncClient, received: Received
) -> None:
    body = {"sender": "web-abc", "message": "路灯坏了", "metadata": {"channel": "web"}}
    response = await client.post(URL, json=body)
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "web-abc", "text": "收到"}]
    assert [(m.sender_id, m.text) for m in received.messages] == [("web-abc", "路灯坏了")]
    assert (await client.get("/webhooks/rest/")).json() == {"status": "ok"}


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        ["路灯坏了"],
        "路灯坏了",
        3,
        {"message": "路灯坏了"},  # no sender: would land in the shared "default" conversation
        {"sender": "", "message": "路灯坏了"},
        {"sender": 7, "message": "路灯坏了"},
        {"sender": "x" * 129, "message": "路灯坏了"},
        {"sender": "web-abc"},
        {"sender": "web-abc", "message": None},
        {"sender": "web-abc", "message": ["路灯坏了"]},
        {"sender": "web-abc", "message": {"text": "路灯坏了"}},
        {"sender": "web-abc", "message": "路灯坏了", "metadata": "web"},
        {"sender": "web-abc", "message": "路灯坏了", "metadata": []},
        {"sender": "web-abc", "message": "路灯坏了", "input_channel": ["rest"]},
    ],
)
async def test_malformed_bodies_are_refused_with_a_json_400(
    client: httpx.AsyncClient, received: Received, body: Any
) -> None:
    response = await client.post(URL, content=json.dumps(body))
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest" and response.json()["detail"]
    assert received.messages == []


async def test_a_body_that_is_not_json_is_refused(
    client: httpx.AsyncClient, received: Received
) -> None:
    response = await client.post(URL, content=b"{not json")
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"
    assert received.messages == []


async def test_the_checks_apply_to_the_webhook_only(client: httpx.AsyncClient) -> None:
    parsed = await client.post("/model/parse", json={"text": "好" * 50})
    assert parsed.status_code == 200 and parsed.json() == {"text": "好" * 50}


async def test_a_sender_of_128_characters_is_taken(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"sender": "x" * 128, "message": "你好"})
    assert response.status_code == 200


async def test_a_too_long_message_is_answered_without_reaching_rasa(
    client: httpx.AsyncClient, received: Received
) -> None:
    assert (await client.post(URL, json={"sender": "s", "message": "好" * 20})).json()[0][
        "text"
    ] == "收到"
    response = await client.post(URL, json={"sender": "s", "message": "好" * 21})
    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": "s", "text": TOO_LONG_REPLY.format(length=21, limit=20)}
    ]
    assert len(received.messages) == 1


async def test_the_too_long_reply_comes_from_the_domain(received: Received) -> None:
    domain = SimpleNamespace(
        responses={"utter_message_too_long": [{"text": "太长了：{length}/{limit}"}]}
    )
    async for client in _client(received, domain=domain, limit=5):
        response = await client.post(URL, json={"sender": "s", "message": "好" * 6})
        assert response.json() == [{"recipient_id": "s", "text": "太长了：6/5"}]


def test_the_limit_comes_from_the_environment() -> None:
    assert max_message_chars({}) == DEFAULT_MAX_MESSAGE_CHARS == 4096
    assert max_message_chars({"MAX_MESSAGE_CHARS": "2000"}) == 2000
    for wrong in ("", "0", "-5", "many", "1e9"):
        assert max_message_chars({"MAX_MESSAGE_CHARS": wrong}) == DEFAULT_MAX_MESSAGE_CHARS


def test_the_channel_is_registered_under_rests_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from tests.nlu.conftest import ROOT

    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert "nlu.channel.RestChannel" in credentials and "rest" not in credentials
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "300")
    (channel,) = run.create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert isinstance(channel, RestChannel)
    assert channel.name() == "rest" and channel.max_chars == 300
