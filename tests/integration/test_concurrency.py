"""Messages of one conversation at the same moment: handled one after the other, none lost,
and a petition filed once.

Under the scale-out profile (STACK_PROFILE=scale) the two requests can reach different Rasa
workers; the lock store on Redis makes one wait until the other is answered and saved. Which
goes first is the order in which workers take them up (a request handed to a busy worker
can be overtaken); without the lock both would read the same tracker and one message's
events would be lost when the other's are saved.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.services import Stack

pytestmark = pytest.mark.integration


async def say(client: httpx.AsyncClient, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    response.raise_for_status()
    return list(response.json())


async def at_once(stack: Stack, sender: str, *texts: str) -> list[list[dict[str, Any]]]:
    """Each text on its own connection, 30 ms apart: all in flight together (a turn takes
    longer), so the later ones wait for the lock the first one holds."""

    async def later(i: int, text: str) -> list[dict[str, Any]]:
        await asyncio.sleep(0.03 * i)
        async with httpx.AsyncClient(base_url=stack.rasa_url, timeout=60) as client:
            return await say(client, sender, text)

    return list(await asyncio.gather(*(later(i, t) for i, t in enumerate(texts))))


def turns(stack: Stack, sender: str) -> list[tuple[str, list[str]]]:
    """The tracker as turns: each user message with the bot messages that answered it."""
    tracker = httpx.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.env["RASA_TOKEN"]},
        timeout=30,
    ).json()
    result: list[tuple[str, list[str]]] = []
    for event in tracker["events"]:
        if event["event"] == "user":
            result.append((event["text"], []))
        elif event["event"] == "bot" and result and event.get("text"):
            result[-1][1].append(event["text"])
    return result


def test_two_messages_at_once_are_handled_one_after_the_other(stack: Stack) -> None:
    problem, place = "我家楼下的路灯坏了好几天了，晚上很黑", "玉林小区3栋"
    for _ in range(3):
        sender = f"together-{uuid.uuid4().hex[:10]}"
        answered = asyncio.run(at_once(stack, sender, problem, place))
        replies = dict(zip((problem, place), answered, strict=True))
        kept = turns(stack, sender)
        assert sorted(text for text, _ in kept) == sorted([problem, place])  # none lost
        for text, answers in kept:  # each answered once, with what it was told
            assert answers == [str(r.get("text")) for r in replies[text] if r.get("text")]
        if [text for text, _ in kept] == [problem, place]:
            assert "什么位置" in "".join(kept[0][1]) and "联系电话" in "".join(kept[1][1])


def test_a_confirmation_sent_twice_at_once_files_one_ticket(stack: Stack) -> None:
    sender = f"twice-{uuid.uuid4().hex[:10]}"

    async def conversation() -> list[list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=stack.rasa_url, timeout=60) as client:
            for text in ("小区门口的下水道堵了，污水都漫到路上了", "玉林小区3栋", "13812345678"):
                await say(client, sender, text)
        return await at_once(stack, sender, "/affirm", "/affirm")

    replies = asyncio.run(conversation())
    assert any("工单号" in str(r.get("text")) for reply in replies for r in reply)
    tickets = httpx.get(
        f"{stack.app_url}/api/v1/tickets",
        params={"conversation_id": sender},
        headers=stack.api_headers(),
        timeout=30,
    ).json()
    assert tickets["total"] == 1, tickets
