"""Sending the stored outgoing messages to Telegram, in order, each part exactly once."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import render
from bot.store import Store
from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)


class Sender:
    def __init__(self, *, bot: Bot, store: Store, tasks: BackgroundTasks) -> None:
        self._bot = bot
        self._store = store
        self._tasks = tasks
        self._locks: dict[int, asyncio.Lock] = {}

    def kick(self, chat_id: int) -> None:
        """Send what is waiting for this chat, in the background."""
        self._tasks.spawn(self.flush(chat_id), name=f"send-{chat_id}")

    async def flush_all(self) -> None:
        for chat_id in self._store.chats_with_unsent():
            await self.flush(chat_id)

    async def flush(self, chat_id: int) -> bool:
        """Send this chat's unsent messages; False if Telegram could not be reached."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            for message in self._store.unsent(chat_id):
                parts = render.split_text(message.text)
                for index in range(message.parts_sent, len(parts)):
                    last = index == len(parts) - 1
                    try:
                        await self._bot.send_message(
                            chat_id=chat_id,
                            text=render.escape(parts[index]),
                            parse_mode=render.PARSE_MODE,
                            reply_markup=render.keyboard(message.buttons) if last else None,
                        )
                    except (Forbidden, BadRequest) as exc:
                        # Blocked by the resident or refused for good: retrying cannot help.
                        log.warning("dropping message %s to chat %s: %s", message.id, chat_id, exc)
                        break
                    except TelegramError as exc:
                        log.warning("Telegram unreachable, will retry chat %s: %s", chat_id, exc)
                        return False
                    self._store.mark_part_sent(message.id, index + 1)
                self._store.mark_sent(message.id)
        return True
