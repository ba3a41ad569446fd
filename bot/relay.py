"""The per-resident work queue: relays stored input to Rasa and the case store, in order.

A job is taken from the store, processed, and marked done together with its replies in one
transaction; if Rasa or the case store is down the job stays first in line, the resident
is told once, and the retry loop tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from bot import media, render, status, texts
from bot.casestore import CaseStoreChannel, CaseStoreRefused
from bot.rasa import RasaClient, ServiceUnavailable
from bot.sender import Sender
from bot.store import Button, Job, NewMessage, Store
from bot.tasks import BackgroundTasks
from core.ticket_number import is_ticket_number

log = logging.getLogger(__name__)

UNEXPECTED = "抱歉，处理您的消息时出了点问题，请换个说法再试一次。"


def conversation_id(user_id: int) -> str:
    """The Rasa sender id and case-store conversation id of a Telegram user."""
    return f"tg-{user_id}"


class Relay:
    def __init__(
        self,
        *,
        bot: Bot,
        store: Store,
        rasa: RasaClient,
        casestore: CaseStoreChannel,
        sender: Sender,
        tasks: BackgroundTasks,
    ) -> None:
        self._bot = bot
        self._store = store
        self._rasa = rasa
        self._casestore = casestore
        self._sender = sender
        self._tasks = tasks
        self._running: set[int] = set()

    def kick(self, user_id: int) -> None:
        """Process this user's queue in the background unless that is already happening."""
        if user_id in self._running:
            return  # the running drain picks new jobs up before it stops
        self._running.add(user_id)
        self._tasks.spawn(self._drain(user_id), name=f"relay-{user_id}")

    def retry_all(self) -> None:
        for user_id in self._store.users_with_pending_jobs():
            self.kick(user_id)

    async def _drain(self, user_id: int) -> None:
        try:
            while (job := self._store.next_job(user_id)) is not None:
                try:
                    messages = await self._process(job)
                except ServiceUnavailable as exc:
                    log.warning("job %s waits: %s", job.key, exc)
                    told = self._store.tell_busy_once(
                        user_id=user_id, chat_id=job.chat_id, key=job.key, text=texts.BUSY
                    )
                    if told:
                        await self._sender.flush(job.chat_id)
                    return
                except Exception:
                    log.exception("job %s failed", job.key)
                    messages = [NewMessage(UNEXPECTED)]
                self._store.finish_job(job, messages)
                self._store.clear_busy(user_id)
                await self._sender.flush(job.chat_id)
        finally:
            self._running.discard(user_id)

    async def _process(self, job: Job) -> list[NewMessage]:
        if job.kind == "rasa":
            return await self._to_rasa(job)
        if job.kind == "photo":
            return await self._photo(job)
        if job.kind == "status":
            return await self._status(job)
        if job.kind == "mydata":
            return await self._my_data(job)
        raise ValueError(f"unknown job kind {job.kind}")

    async def _to_rasa(self, job: Job) -> list[NewMessage]:
        async with self._typing(job.chat_id):
            replies = await self._rasa.send(
                sender=conversation_id(job.user_id),
                message=str(job.data["message"]),
                display_text=job.data.get("display_text"),
            )
        messages = render.rasa_messages(replies)
        if not messages and job.data.get("fallback_text"):
            messages = [NewMessage(str(job.data["fallback_text"]))]
        if not messages:
            # Every message of a resident gets an answer; none means Rasa could not finish the
            # turn (its action server was down): the job waits and is sent again, and the
            # resident is told once that the bot is busy — never silence.
            raise ServiceUnavailable("Rasa answered nothing")
        return messages

    async def _photo(self, job: Job) -> list[NewMessage]:
        async with self._typing(job.chat_id):
            try:
                file = await self._bot.get_file(str(job.data["file_id"]))
                data = bytes(await file.download_as_bytearray())
            except BadRequest as exc:  # e.g. "file is too big" (Bot API limit: 20 MB)
                log.info("cannot fetch file for %s: %s", job.key, exc)
                return [NewMessage(texts.PHOTO_UNREADABLE)]
            except TelegramError as exc:
                raise ServiceUnavailable(f"Telegram file download: {exc!r}") from exc
            if len(data) > media.MAX_IMAGE_BYTES:
                return [NewMessage(texts.PHOTO_TOO_LARGE)]
            content_type = media.image_type(data)
            if content_type is None:
                return [NewMessage(texts.PHOTO_WRONG_TYPE)]
            name = str(job.data.get("file_name") or "")
            filename = (
                name or f"telegram-{job.key.replace(':', '-')}.{media.EXTENSIONS[content_type]}"
            )
            try:
                await self._casestore.upload_attachment(
                    conversation_id=conversation_id(job.user_id),
                    data=data,
                    filename=filename,
                    content_type=content_type,
                )
            except CaseStoreRefused as exc:
                return [NewMessage(exc.detail or texts.PHOTO_WRONG_TYPE)]
        messages = [NewMessage(texts.PHOTO_RECEIVED)]
        point = media.exif_gps(data)
        if point is not None:
            offer = Button(
                title=texts.PHOTO_LOCATION_BUTTON,
                payload=media.location_payload(*point),
                display_text=texts.PHOTO_LOCATION_DISPLAY,
            )
            messages.append(NewMessage(texts.PHOTO_LOCATION_OFFER, buttons=[offer]))
        return messages

    async def _status(self, job: Job) -> list[NewMessage]:
        mine = conversation_id(job.user_id)
        number = job.data.get("number")
        if not number:
            return [NewMessage(status.ticket_list(await self._casestore.tickets_of(mine)))]
        if not is_ticket_number(str(number)):
            return [NewMessage(texts.STATUS_BAD_NUMBER)]
        ticket = await self._casestore.ticket(str(number))
        if ticket is None or ticket.get("conversation_id") != mine:
            # Someone else's ticket is "not found": the number alone reveals nothing.
            return [NewMessage(texts.STATUS_NOT_FOUND.format(number=number))]
        return [NewMessage(status.ticket_detail(ticket))]

    async def _my_data(self, job: Job) -> list[NewMessage]:
        mine = conversation_id(job.user_id)
        tickets = []
        for item in await self._casestore.tickets_of(mine, limit=50):
            detail = await self._casestore.ticket(str(item["number"]))
            tickets.append(detail or item)
        return [NewMessage(status.my_data(mine, tickets))]

    @contextlib.asynccontextmanager
    async def _typing(self, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" while waiting (Telegram shows it for 5 s, so it is repeated)."""

        async def typing() -> None:
            try:
                await self._bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
            except TelegramError as exc:
                log.debug("typing indicator not sent: %s", exc)

        async def repeat() -> None:
            while True:
                await asyncio.sleep(4.5)
                await typing()

        await typing()
        task = asyncio.create_task(repeat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
