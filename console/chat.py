"""Web chat (网页留言): the page, and a relay from the page to Rasa's REST channel."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from console.paths import templates

router = APIRouter(tags=["webchat"])
log = logging.getLogger(__name__)

SENDER_RE = r"^[A-Za-z0-9_-]{8,64}$"
UNAVAILABLE = "智能助手暂时无法连接，您的消息已保存在本页面，恢复后会自动发送。"


class ChatMessage(BaseModel):
    sender_id: str = Field(pattern=SENDER_RE)
    text: str = Field(min_length=1, max_length=2000)
    display_text: str | None = Field(default=None, max_length=200)


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
def chat_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request=request, name="chat.html", context={})


@router.post("/chat/api/messages")
async def relay_message(body: ChatMessage, request: Request) -> JSONResponse:
    """Forward one resident message to Rasa and return the bot's replies."""
    client: httpx.AsyncClient = request.app.state.rasa_client
    payload = {
        "sender": f"web-{body.sender_id}",
        "message": body.text,
        "metadata": {"channel": "webchat", "display_text": body.display_text},
    }
    try:
        response = await client.post("/webhooks/rest/webhook", json=payload)
        response.raise_for_status()
        replies: list[dict[str, Any]] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("Rasa unreachable for web chat: %s", exc)
        return JSONResponse(status_code=503, content={"detail": UNAVAILABLE})
    return JSONResponse(content={"messages": [_clean(r) for r in replies]})


@router.get("/chat/api/history")
async def history(request: Request, sender_id: str) -> JSONResponse:
    """Replay the conversation after a page reload (user and bot turns from the tracker)."""
    if not re.fullmatch(SENDER_RE, sender_id):
        return JSONResponse(status_code=422, content={"detail": "会话编号格式不正确"})
    settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.rasa_client
    try:
        response = await client.get(
            f"/conversations/web-{sender_id}/tracker",
            params={"token": settings.rasa_token, "include_events": "APPLIED"},
        )
        response.raise_for_status()
        events = response.json().get("events", [])
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("Rasa unreachable for chat history: %s", exc)
        return JSONResponse(status_code=503, content={"detail": UNAVAILABLE})
    turns: list[dict[str, Any]] = []
    for event in events:
        if event.get("event") == "user" and event.get("text"):
            turns.append({"role": "resident", "text": _display_text(event)})
        elif event.get("event") == "bot" and event.get("text"):
            buttons = (event.get("data") or {}).get("buttons") or []
            turns.append({"role": "bot", "text": event["text"], "buttons": buttons})
    return JSONResponse(content={"turns": turns})


def _display_text(event: dict[str, Any]) -> str:
    text = str(event.get("text", ""))
    if text.startswith("/"):
        # A button payload: show what the resident clicked, not the intent syntax.
        return str((event.get("metadata") or {}).get("display_text") or "（已选择）")
    return text


def _clean(reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": reply.get("text", ""),
        "buttons": [
            {"title": b.get("title", ""), "payload": b.get("payload", "")}
            for b in reply.get("buttons") or []
        ],
    }
