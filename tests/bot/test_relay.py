"""The relay's answer to a Rasa turn that produced nothing (bot/relay.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.rasa import ServiceUnavailable
from bot.relay import Relay
from bot.store import Job


class SilentRasa:
    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies

    async def send(self, **_: Any) -> list[dict[str, Any]]:
        return self.replies


def relay_with(rasa: SilentRasa) -> Relay:
    relay = Relay(
        bot=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        rasa=rasa,  # type: ignore[arg-type]
        casestore=None,  # type: ignore[arg-type]
        sender=None,  # type: ignore[arg-type]
        tasks=None,  # type: ignore[arg-type]
    )

    @contextlib.asynccontextmanager
    async def no_typing(chat_id: int) -> AsyncIterator[None]:
        yield

    relay._typing = no_typing  # type: ignore[method-assign]
    return relay


def job(**data: Any) -> Job:
    return Job(
        id=1, key="k1", user_id=7, chat_id=7, kind="rasa", data={"message": "路灯坏了", **data}
    )


def test_nothing_from_rasa_makes_the_job_wait_never_silence() -> None:
    with pytest.raises(ServiceUnavailable):
        asyncio.run(relay_with(SilentRasa([]))._to_rasa(job()))


def test_a_turn_with_its_own_fallback_text_is_answered_with_it() -> None:
    messages = asyncio.run(relay_with(SilentRasa([]))._to_rasa(job(fallback_text="好的，重新开始")))
    assert [m.text for m in messages] == ["好的，重新开始"]


def test_replies_are_passed_on() -> None:
    messages = asyncio.run(relay_with(SilentRasa([{"text": "请问在什么位置？"}]))._to_rasa(job()))
    assert [m.text for m in messages] == ["请问在什么位置？"]
