"""Security headers on every response and a limit on request bodies (pure ASGI middleware).

Pure ASGI rather than ``BaseHTTPMiddleware``: the body limit must stop an upload while it
streams, before the app has buffered it, and the headers must not buffer responses either.
"""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings

# The pages load their own scripts and stylesheets from /static, fetch from their own origin,
# show photos from their own origin and draw maps as inline SVG: nothing inline, no CDN.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's API docs pages (/docs, /redoc) load Swagger UI and ReDoc from a CDN with an
# inline bootstrap script; they show no resident text.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
TOO_LARGE = "请求体过大：不能超过 {mib} MB"
LONE_SURROGATE = "请求中含有无法识别的字符（不成对的 Unicode 代理字符 \\uD800–\\uDFFF）"
# A \uXXXX escape preceded by an even number of backslashes (an odd run is an escaped "\").
ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u([0-9a-fA-F]{4})")
BAD_LENGTH = "Content-Length 请求头无效"


class SecurityHeaders:
    """Adds the CSP, framing, sniffing and referrer headers to every HTTP response."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path") in self.docs_paths
        policy = DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                # A response may carry a policy of its own (the dashboard's SVG charts).
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = policy
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` so that the app's body parsing re-raises it (FastAPI does)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    return TOO_LARGE.format(mib=f"{limit / (1024 * 1024):g}")


class LoneSurrogateError(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=422, detail=LONE_SURROGATE)


def has_lone_surrogate(body: bytes) -> bool:
    """Whether JSON text escapes half of a UTF-16 pair (``"\\ud800"``) without the other.

    Python's JSON parser accepts it; such a string cannot be encoded as UTF-8, so it fails
    when stored or sent back. pydantic checks only constrained ``str`` fields, not plain
    ``str`` or ``dict[str, Any]`` ones, hence a check on the raw body.
    """
    waiting = -1  # end of a high surrogate escape whose low half must follow at once
    for match in ESCAPE.finditer(body):
        unit = int(match.group(1), 16)
        if waiting >= 0:
            if match.end() - 6 == waiting and 0xDC00 <= unit <= 0xDFFF:
                waiting = -1
                continue
            return True
        if 0xD800 <= unit <= 0xDBFF:
            waiting = match.end()
        elif 0xDC00 <= unit <= 0xDFFF:
            return True
    return waiting >= 0


def _is_json(scope: Scope) -> bool:
    """FastAPI reads a body as JSON without a content type or with a (…+)json one."""
    kind = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    return not kind or kind == "application/json" or kind.endswith("+json")


class BodyLimit:
    """413 for a body over ``max_bytes``: by Content-Length before reading anything, and by
    counting the chunks of a streamed body (no Content-Length) as the app reads them.

    A JSON body is also checked for lone surrogates once the app has read all of it (422).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.isdigit():
                await _reply(send, 400, BAD_LENGTH)
                return
            if int(length) > self.max_bytes:
                await _reply(send, 413, too_large_detail(self.max_bytes))
                return
        received = 0
        started = False
        json_chunks: list[bytes] | None = [] if _is_json(scope) else None

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
                if json_chunks is not None:
                    json_chunks.append(chunk)
                    if not message.get("more_body") and has_lone_surrogate(b"".join(json_chunks)):
                        raise LoneSurrogateError()
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except (BodyTooLargeError, LoneSurrogateError) as exc:
            # Read outside the app's exception handling (e.g. by another middleware).
            if started:
                raise
            await _reply(send, exc.status_code, exc.detail)


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, settings: Settings) -> None:
    """Headers outermost, so that the body limit's own 413 carries them too."""
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    docs = frozenset(
        p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p
    )
    app.add_middleware(SecurityHeaders, docs_paths=docs)
