"""Hostile input through Rasa's REST channel (nlu/channel.py): a 400 or an answer, never 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sanic import Sanic

from tests.hostile import HOSTILE_BODIES, HOSTILE_TEXT, HOSTILE_VALUES
from tests.nlu.test_channel import URL, Received, _client


def bodies() -> list[bytes]:
    cases = list(HOSTILE_BODIES)
    for text in HOSTILE_TEXT:
        cases.append(json.dumps({"sender": "web-abc", "message": text}).encode())
        cases.append(json.dumps({"sender": text, "message": "路灯坏了"}).encode())
    for value in HOSTILE_VALUES:
        for field in ("sender", "message", "metadata", "input_channel"):
            body: dict[str, Any] = {"sender": "web-abc", "message": "路灯坏了", field: value}
            cases.append(json.dumps(body).encode())
    return cases


async def test_hostile_bodies_get_a_400_or_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Sanic, "test_mode", True)  # as the channel tests do
    received = Received()
    cases = bodies()
    assert len(cases) >= 100
    failures = []
    async for client in _client(received, limit=4096):
        for body in cases:
            for content_type in ("application/json", "text/plain"):
                response = await client.post(
                    URL, content=body, headers={"Content-Type": content_type}
                )
                if response.status_code >= 500 or response.status_code not in (200, 400, 413):
                    failures.append((body[:80], content_type, response.status_code))
                elif response.status_code == 200:
                    assert isinstance(response.json(), list)
    assert not failures, failures[:20]
    assert all(len(m.text or "") <= 4096 for m in received.messages)  # long ones never reach NLU
