"""Draining the case store's notification outbox into the residents' Telegram chats.

Each notification is recorded in the local store (with its message queued for sending)
before it is acknowledged, so neither a crash nor a repeated poll sends it twice.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot import render
from bot.casestore import CaseStoreChannel, CaseStoreRefused
from bot.rasa import ServiceUnavailable
from bot.sender import Sender
from bot.store import NewMessage, Store

log = logging.getLogger(__name__)

CONVERSATION = re.compile(r"tg-(\d+)")


def chat_of(conversation_id: str) -> int | None:
    """Private chats have the user's id; ``tg-<user id>`` is the conversation id."""
    match = CONVERSATION.fullmatch(conversation_id or "")
    return int(match.group(1)) if match else None


class NotificationPump:
    def __init__(self, *, casestore: CaseStoreChannel, store: Store, sender: Sender) -> None:
        self._casestore = casestore
        self._store = store
        self._sender = sender

    async def run_once(self) -> int:
        """One pass over the pending notifications; returns how many were new."""
        try:
            pending = await self._casestore.pending_notifications(limit=100)
        except (ServiceUnavailable, CaseStoreRefused) as exc:
            log.warning("notifications not fetched: %s", exc)
            return 0
        new = 0
        chats: list[int] = []
        for item in pending:
            chat_id = chat_of(str(item.get("conversation_id", "")))
            if chat_id is None:
                log.warning("notification %s is not for a Telegram chat", item.get("id"))
                continue
            if self._store.record_notification(
                notification_id=int(item["id"]), chat_id=chat_id, message=self._message(item)
            ):
                new += 1
            if chat_id not in chats:
                chats.append(chat_id)
            try:
                await self._casestore.acknowledge(int(item["id"]))
            except (ServiceUnavailable, CaseStoreRefused) as exc:
                log.warning("notification %s not acknowledged yet: %s", item["id"], exc)
                continue
            self._store.mark_acknowledged(int(item["id"]))
        for chat_id in chats:
            await self._sender.flush(chat_id)
        return new

    @staticmethod
    def _message(item: dict[str, Any]) -> NewMessage:
        text = str(item.get("text") or "").strip()
        number = str(item.get("ticket_number") or "")
        if number and number not in text:
            text = f"【工单 {number}】\n{text}"
        return NewMessage(text=text or number, buttons=render.buttons_of(item.get("buttons")))
