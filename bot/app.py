"""Wiring and the process: the Application, polling or webhook, and the background loops.

Updates are fetched by our own loop rather than PTB's ``Updater``: the polling offset moves
past an update only after its handlers stored it (PTB acknowledges updates as soon as they
are in its in-memory queue, so a crash could lose them). The webhook is a small Starlette
app that checks Telegram's secret header and answers 200 only after the update is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers
from bot.casestore import CaseStoreChannel
from bot.field import FieldRelay
from bot.handlers import Runtime
from bot.notifications import NotificationPump
from bot.rasa import RasaClient
from bot.ratelimit import RateLimiter
from bot.sender import Sender
from bot.store import Store
from bot.tasks import BackgroundTasks
from core.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PURGE_EVERY_SECONDS = 3600.0


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """The PTB application with every handler (updates are fed in by polling or webhook)."""
    application = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .updater(None)
        .build()
    )
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, handlers.skip_seen), group=-2)
    application.add_handler(TypeHandler(Update, handlers.rate_limit), group=-1)
    commands = {
        "start": handlers.start,
        "help": handlers.help_command,
        "status": handlers.status,
        "mydata": handlers.my_data,
        "cancel": handlers.cancel,
        "new": handlers.new_conversation,
        "link": handlers.link,
        "unlink": handlers.unlink,
        "tasks": handlers.tasks,
        "visit": handlers.visit,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private))
    application.add_handlers(
        [
            MessageHandler(private & filters.COMMAND, handlers.unknown_command),
            MessageHandler(private & filters.TEXT, handlers.text),
            MessageHandler(private & filters.LOCATION, handlers.location),
            MessageHandler(private & filters.CONTACT, handlers.contact),
            MessageHandler(private & (filters.VOICE | filters.AUDIO), handlers.voice),
            MessageHandler(private & filters.Sticker.ALL, handlers.sticker),
            MessageHandler(
                private & (filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION), handlers.video
            ),
            MessageHandler(private & (filters.PHOTO | filters.Document.IMAGE), handlers.photo),
            MessageHandler(private, handlers.other),
            CallbackQueryHandler(handlers.button),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


class BotProcess:
    """The running bot: application, store, clients and background loops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.application = build_application(settings)
        self.store = Store(settings.bot_state_path)
        self.tasks = BackgroundTasks()
        self.rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout_seconds)
        self.casestore = CaseStoreChannel(
            settings.casestore_url,
            token=settings.casestore_api_token,
            timeout=settings.casestore_timeout_seconds,
        )
        bot = self.application.bot
        self.sender = Sender(bot=bot, store=self.store, tasks=self.tasks)
        self.relay = FieldRelay(  # residents to Rasa; linked grid workers to the field desk
            bot=bot,
            store=self.store,
            rasa=self.rasa,
            casestore=self.casestore,
            sender=self.sender,
            tasks=self.tasks,
        )
        self.pump = NotificationPump(casestore=self.casestore, store=self.store, sender=self.sender)
        self.application.bot_data["runtime"] = Runtime(
            store=self.store,
            relay=self.relay,
            sender=self.sender,
            limiter=RateLimiter(
                limit=settings.bot_rate_limit_messages, period=settings.bot_rate_limit_seconds
            ),
        )
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        try:
            await _retry(
                self.application.initialize, self.stopping, self.settings.bot_retry_seconds
            )
            if not self.stopping.is_set():
                await self._run_initialized()
        finally:
            await self.tasks.cancel()
            await self.application.shutdown()  # a no-op if it never initialized
            await self.rasa.aclose()
            await self.casestore.aclose()
            self.store.close()

    async def _run_initialized(self) -> None:
        me = self.application.bot.username
        log.info(
            "Telegram bot @%s started (%s)",
            me,
            "webhook" if self.settings.telegram_webhook_mode else "polling",
        )
        self.tasks.spawn(
            self._every(self.settings.bot_notification_poll_seconds, self.pump.run_once),
            name="notifications",
        )
        self.tasks.spawn(
            self._every(self.settings.bot_retry_seconds, self._retry_pending), name="retry"
        )
        self.tasks.spawn(self._every(PURGE_EVERY_SECONDS, self._purge), name="purge")
        if self.settings.telegram_webhook_mode:
            await self._serve_webhook()
        else:
            await self._poll()

    async def _retry_pending(self) -> None:
        self.relay.retry_all()
        await self.sender.flush_all()

    async def _purge(self) -> None:
        self.store.purge()

    async def _every(self, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        while not self.stopping.is_set():
            try:
                await work()
            except Exception:
                log.exception("background work failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    async def process(self, update: Update, *, next_offset: int | None = None) -> None:
        """Run the handlers (which store the update's work), then mark the update handled."""
        await self.application.process_update(update)
        self.store.finish_update(update.update_id, next_offset=next_offset)

    async def _poll(self) -> None:
        bot = self.application.bot
        await _retry(bot.delete_webhook, self.stopping, self.settings.bot_retry_seconds)
        offset = self.store.polling_offset()
        timeout = self.settings.bot_polling_timeout_seconds
        stop = asyncio.create_task(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                fetch = asyncio.create_task(
                    bot.get_updates(
                        offset=offset,
                        timeout=timeout,
                        read_timeout=timeout + 10,
                        allowed_updates=Update.ALL_TYPES,
                    )
                )
                await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()  # not acknowledged: Telegram delivers these again
                    with contextlib.suppress(asyncio.CancelledError, TelegramError):
                        await fetch
                    break
                try:
                    updates = fetch.result()
                except TelegramError as exc:
                    log.warning("getUpdates failed: %s", exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            asyncio.shield(stop), timeout=self.settings.bot_retry_seconds
                        )
                    continue
                for update in updates:
                    offset = update.update_id + 1
                    await self.process(update, next_offset=offset)
        finally:
            stop.cancel()

    async def _serve_webhook(self) -> None:
        settings = self.settings
        path = urlsplit(settings.telegram_webhook_url).path or "/"
        app = webhook_app(self, path=path, secret=settings.telegram_webhook_secret)
        config = uvicorn.Config(
            app,
            host=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            log_level="warning",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        await _retry(
            lambda: self.application.bot.set_webhook(
                url=settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            ),
            self.stopping,
            settings.bot_retry_seconds,
        )
        watcher = asyncio.create_task(self._stop_server_when_asked(server))
        try:
            await server.serve()
        finally:
            watcher.cancel()
            self.stopping.set()

    async def _stop_server_when_asked(self, server: uvicorn.Server) -> None:
        await self.stopping.wait()
        server.should_exit = True


def webhook_app(process: BotProcess, *, path: str, secret: str) -> Starlette:
    """Receives Telegram's POSTs; refuses any without the right secret header."""

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise TypeError(f"an update is a JSON object, not {type(data).__name__}")
            update = Update.de_json(data, process.application.bot)
            update_id = update.update_id
            if isinstance(update_id, bool) or not isinstance(update_id, int):
                raise TypeError("update_id is not an integer")
            if not 0 <= update_id < 2**63:
                raise ValueError("update_id out of range")
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as exc:
            log.warning("malformed webhook body: %s", exc)
            return PlainTextResponse("bad request", status_code=400)
        await process.process(update)
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health)])


async def _retry(
    action: Callable[[], Awaitable[object]], stopping: asyncio.Event, seconds: float
) -> None:
    """Keep trying a Telegram call at start-up (the network may come later)."""
    while not stopping.is_set():
        try:
            await action()
            return
        except InvalidToken:
            raise
        except TelegramError as exc:
            log.warning("Telegram not reachable yet: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=seconds)


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    process = BotProcess(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, process.stopping.set)
    await process.run()
