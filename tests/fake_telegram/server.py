"""A local fake of the Telegram Bot API, faithful enough for python-telegram-bot.

It runs uvicorn in a thread on loopback, keeps users' updates in a queue with getUpdates'
offset semantics (long polling included), records every call the bot makes, and keeps the
bot's messages so tests can read them and tap their inline buttons. Only what the bot uses
is implemented; any other method answers 404 like Telegram does for unknown methods.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.integration.services import free_port

TOKEN = "123456789:TEST-token_for-the-fake-bot-api"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "市民诉求",
    "username": "petition_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_TEXT = 4096
HTML_TAG = re.compile(r"</?(?:b|strong|i|em|u|ins|s|strike|del|code|pre|tg-spoiler)>")
BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|#\d+);)")
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "link_preview_options"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram:
    token: str = TOKEN
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    webhook_url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, message id)
        self.sent: list[dict[str, Any]] = []  # bot messages in the order they were sent
        self.polls = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- server life -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def ready_url(self) -> str:
        """Answers 200 once a bot is long-polling (for ``Service.start``)."""
        return f"http://127.0.0.1:{self.port}/_fake/polling"

    def start(self) -> FakeTelegram:
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
                Route("/_fake/polling", self._polling, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("fake Telegram server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def forget_polls(self) -> None:
        """Reset the readiness signal (before restarting the bot)."""
        with self._lock:
            self.polls = 0

    # -- Bot API -------------------------------------------------------------------------------

    async def _polling(self, request: Request) -> Response:
        return Response(status_code=200 if self.polls else 503)

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        path = request.path_params["path"]
        for file_path, data in self._files.values():
            if file_path == path:
                return Response(data, media_type="application/octet-stream")
        return Response(status_code=404)

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        with self._lock:
            self.calls.append(Call(method, params))
            self._lock.notify_all()
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params)
        except LookupError as exc:
            return _error(400, f"Bad Request: {exc}")
        return JSONResponse({"ok": True, "result": result})

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = ""
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = str(params.get("url", ""))
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), 10.0)
        deadline = time.monotonic() + wait
        with self._lock:
            self.polls += 1
        while True:
            with self._lock:
                if offset:  # confirms (forgets) every update below the offset
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return self._updates[:limit]
            await asyncio.sleep(0.02)

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "居民"},
            "from": BOT_USER,
            "text": _parsed(params),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        record = {**message, "parse_mode": params.get("parse_mode"), "raw": params["text"]}
        with self._lock:
            self._messages[(chat_id, message_id)] = record
            self.sent.append(record)
            self._lock.notify_all()
        return message

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        with self._lock:
            record = self._message(params)
            record["text"] = _parsed(params)
            record["raw"] = params["text"]
            record["parse_mode"] = params.get("parse_mode")
            record["reply_markup"] = params.get("reply_markup")
            self._lock.notify_all()
            return _public(record)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        with self._lock:
            record = self._message(params)
            record["reply_markup"] = params.get("reply_markup")
            self._lock.notify_all()
            return _public(record)

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        if file_id not in self._files:
            raise LookupError("invalid file_id")
        path, data = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise LookupError("message to edit not found")
        return self._messages[key]

    # -- what residents do -----------------------------------------------------------------------

    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
            self._lock.notify_all()
        return update_id

    def _user_message(self, user_id: int, **content: Any) -> int:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "居民"},
            "from": _user(user_id),
            **content,
        }
        return self._push("message", message)

    def send_text(self, user_id: int, text: str) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._user_message(user_id, **content)

    def send_location(self, user_id: int, latitude: float, longitude: float) -> int:
        return self._user_message(user_id, location={"latitude": latitude, "longitude": longitude})

    def send_contact(self, user_id: int, phone_number: str) -> int:
        contact = {"phone_number": phone_number, "first_name": "居民", "user_id": user_id}
        return self._user_message(user_id, contact=contact)

    def _file_entry(self, data: bytes, path: str) -> dict[str, Any]:
        file_id = f"file{len(self._files) + 1}"
        self._files[file_id] = (path, data)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data)}

    def send_photo(self, user_id: int, data: bytes, caption: str | None = None) -> int:
        small = self._file_entry(data[: max(1, len(data) // 4)], f"photos/s{len(self._files)}.jpg")
        big = self._file_entry(data, f"photos/b{len(self._files)}.jpg")
        content: dict[str, Any] = {
            "photo": [{**small, "width": 90, "height": 67}, {**big, "width": 1280, "height": 960}]
        }
        if caption:
            content["caption"] = caption
        return self._user_message(user_id, **content)

    def send_document(
        self,
        user_id: int,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
    ) -> int:
        entry = self._file_entry(data, f"documents/{len(self._files)}-{file_name}")
        content: dict[str, Any] = {
            "document": {**entry, "file_name": file_name, "mime_type": mime_type}
        }
        if caption:
            content["caption"] = caption
        return self._user_message(user_id, **content)

    def send_voice(self, user_id: int) -> int:
        voice = {
            **self._file_entry(b"OggS", "voice/1.oga"),
            "duration": 3,
            "mime_type": "audio/ogg",
        }
        return self._user_message(user_id, voice=voice)

    def send_sticker(self, user_id: int) -> int:
        sticker = {
            **self._file_entry(b"RIFF", "stickers/1.webp"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._user_message(user_id, sticker=sticker)

    def tap(self, user_id: int, title: str) -> int:
        """Tap the button titled ``title`` on the newest bot message in the chat that has it."""
        with self._lock:
            for record in reversed(self.sent):
                if record["chat"]["id"] != user_id:
                    continue
                for row in (record.get("reply_markup") or {}).get("inline_keyboard", []):
                    for button in row:
                        if button["text"] == title:
                            query = {
                                "id": f"q{record['message_id']}-{time.monotonic_ns()}",
                                "from": _user(user_id),
                                "chat_instance": f"ci{user_id}",
                                "message": _public(record),
                                "data": button["callback_data"],
                            }
                            return self._push("callback_query", query)
        raise LookupError(f"no button {title!r} in chat {user_id}")

    # -- what tests read -------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.sent if m["chat"]["id"] == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.messages_to(chat_id)]

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Block until ``condition()`` holds after some call from the bot (or fail)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("the bot did not do what was expected in time")
                self._lock.wait(min(remaining, 0.5))

    def wait_for_text(
        self, chat_id: int, needle: str, *, after: int = 0, timeout: float = 60.0
    ) -> dict[str, Any]:
        """The first bot message to the chat (from index ``after``) containing ``needle``."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            mine = [m for m in self.sent if m["chat"]["id"] == chat_id][after:]
            found[:] = [m for m in mine if needle in m["text"]]
            return bool(found)

        self.wait_for(seen, timeout)
        return dict(found[0])


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "居民", "language_code": "zh-hans"}


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("parse_mode", "raw") and v is not None}


def _parsed(params: dict[str, Any]) -> str:
    """The text as Telegram stores it: HTML parsed (and refused when malformed), length checked."""
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        stripped = HTML_TAG.sub("", text)
        if "<" in stripped or ">" in stripped or BARE_AMPERSAND.search(stripped):
            raise LookupError("can't parse entities: unsupported start tag or bare &")
        text = html.unescape(stripped)
    if not text.strip():
        raise LookupError("message text is empty")
    if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
        raise LookupError("message is too long")
    return text


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": code, "description": description}, status_code=code
    )


async def _params(request: Request) -> dict[str, Any]:
    """PTB posts form data with JSON-encoded complex values; accept JSON bodies too."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        params.update(await request.json())
    elif request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                params[key] = json.loads(value) if key in JSON_FIELDS and value else value
    return params
