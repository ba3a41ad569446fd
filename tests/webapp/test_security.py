"""Security headers on every response; request bodies above MAX_BODY_BYTES get 413."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from core.settings import ROOT, Settings
from webapp.app import create_app
from webapp.security import CONTENT_SECURITY_POLICY, BodyLimit, has_lone_surrogate

MIB = 1024 * 1024
PHOTO_LIMIT = 10 * MIB  # casestore/services/attachments.py


def test_every_response_carries_the_security_headers(
    client: TestClient, auth: dict[str, str]
) -> None:
    responses = [
        client.get("/chat"),
        client.get("/login"),
        client.get("/static/console.css"),
        client.get("/healthz"),
        client.get("/api/v1/tickets", headers=auth),
        client.get("/api/v1/tickets"),  # 401
        client.get("/no-such-page"),  # 404
        client.post("/api/v1/tickets", content=b"{", headers=auth),  # 422
    ]
    for response in responses:
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, response.url
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["Content-Security-Policy"]
    assert docs.headers["X-Frame-Options"] == "DENY"


def test_the_policy_allows_what_the_pages_use() -> None:
    """No inline script or style and no other origin in the templates: 'self' is enough."""
    templates = ROOT / "console" / "templates"
    for path in templates.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), path
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path
    for directive in ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_the_limit_is_above_the_photo_limit(settings: Settings) -> None:
    assert settings.max_body_bytes > PHOTO_LIMIT


def test_a_large_body_with_content_length_is_refused_unread(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = b"\0" * (50 * MIB)
    response = client.post(
        "/api/v1/attachments",
        content=body,
        headers={**auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert "请求体过大" in response.json()["detail"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_streamed_body_is_counted(settings: Settings, auth: dict[str, str]) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1000})

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    with TestClient(create_app(small)) as client:
        response = client.post(
            "/api/v1/grids/resolve",
            content=chunks(),  # no Content-Length: chunked
            headers={**auth, "Content-Type": "application/json"},
        )
        assert response.status_code == 413, response.text
        assert "请求体过大" in response.json()["detail"]
        fits = client.post("/api/v1/grids/resolve", json={"text": "玉林北路"}, headers=auth)
        assert fits.status_code == 200


def test_a_50_mb_stream_is_stopped_after_the_limit() -> None:
    """Straight at the middleware: the app reads as it likes, the limit stops it early."""
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += MIB
        return {"type": "http.request", "body": b"\0" * MIB, "more_body": read < 50 * MIB}

    async def greedy_app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    asyncio.run(BodyLimit(greedy_app, max_bytes=12 * MIB)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert "请求体过大".encode() in sent[1]["body"]
    assert read <= 13 * MIB


def test_a_bad_content_length_is_a_400(client: TestClient) -> None:
    scope_headers = [(b"content-length", b"12abc")]
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": scope_headers}
    asyncio.run(BodyLimit(client.app, max_bytes=MIB)(scope, receive, send))
    assert sent[0]["status"] == 400


def test_lone_surrogate_escapes_are_found() -> None:
    lone = [rb'"\ud800"', rb'"\udfff"', rb'"\ud83d x"', rb'"\ud83d\ud83d"', rb'"\\\ud800"']
    fine = [rb'"\ud83d\ude00"', rb'"\\ud800"', rb'"\u4e2d\u6587"', b'"\xe4\xb8\xad"', rb'"\\\\u"']
    assert all(has_lone_surrogate(body) for body in lone)
    assert not any(has_lone_surrogate(body) for body in fine)
