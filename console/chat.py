"""Web chat (网页留言): the page, a relay from the page to Rasa's REST channel, and the
delivery of case-store notifications (status, replies, satisfaction) to the page.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from casestore.models import Channel, Notification, NotificationStatus
from casestore.services import notifications as notification_service
from console.paths import templates
from core.db import session_scope
from core.deps import SessionDep
from core.secret import rasa_auth_header

router = APIRouter(tags=["webchat"])
log = logging.getLogger(__name__)

SENDER_RE = r"^[A-Za-z0-9_-]{8,64}$"
UNAVAILABLE = "智能助手暂时无法连接，您的消息已保存在本页面，恢复后会自动发送。"
BAD_SENDER = "会话编号格式不正确"
NOTIFICATION_NOT_FOUND = "未找到该通知"


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
    if not replies:
        # Every message of a resident gets an answer; none means Rasa could not finish the
        # turn (its action server was down). The page keeps the message and sends it again.
        log.warning("Rasa answered nothing for web chat sender %s", body.sender_id)
        return JSONResponse(status_code=503, content={"detail": UNAVAILABLE})
    return JSONResponse(content={"messages": [_clean(r) for r in replies]})


@router.get("/chat/api/history")
async def history(request: Request, sender_id: str) -> JSONResponse:
    """Replay the conversation after a page reload (user and bot turns from the tracker)."""
    if not re.fullmatch(SENDER_RE, sender_id):
        return JSONResponse(status_code=422, content={"detail": BAD_SENDER})
    settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.rasa_client
    try:
        response = await client.get(
            f"/conversations/web-{sender_id}/tracker",
            params={"include_events": "APPLIED"},
            headers=rasa_auth_header(settings.rasa_token),
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


@router.get("/chat/api/notifications")
def notifications(session: SessionDep, sender: str) -> JSONResponse:
    """Pending notifications of this conversation, oldest first; the page shows and acks them."""
    if not re.fullmatch(SENDER_RE, sender):
        return JSONResponse(status_code=422, content={"detail": BAD_SENDER})
    rows = notification_service.pending(
        session=session, channel=Channel.WEBCHAT.value, conversation_id=f"web-{sender}"
    )
    return JSONResponse(content={"items": [_notification_out(n) for n in rows]})


@router.post("/chat/api/notifications/{notification_id}/delivered")
async def notification_delivered(
    request: Request, notification_id: int, sender: str
) -> JSONResponse:
    """The page has shown the notification: keep it in the conversation, mark it delivered.

    It is appended to the Rasa tracker as a bot turn first, so that the history after a
    reload shows it (with its buttons) where it appeared; only then is it marked delivered.
    If Rasa cannot take it, it stays pending and the page acknowledges it again later.
    Idempotent; another conversation's notification is a 404.
    """
    if not re.fullmatch(SENDER_RE, sender):
        return JSONResponse(status_code=422, content={"detail": BAD_SENDER})
    conversation_id = f"web-{sender}"
    factory: sessionmaker[Session] = request.app.state.sessionmaker

    def mine() -> dict[str, Any] | None:
        with session_scope(factory) as session:
            note = notification_service.get_notification(
                session=session, notification_id=notification_id
            )
            if note is None or note.channel != Channel.WEBCHAT.value:
                return None
            if note.conversation_id != conversation_id:
                return None
            return _notification_out(note)

    def mark() -> dict[str, Any] | None:
        with session_scope(factory) as session:
            note = notification_service.get_notification(
                session=session, notification_id=notification_id
            )
            if note is None:
                return None
            return _notification_out(
                notification_service.mark_delivered(session=session, notification=note)
            )

    note = await run_in_threadpool(mine)
    if note is None:
        return JSONResponse(status_code=404, content={"detail": NOTIFICATION_NOT_FOUND})
    if note["status"] != NotificationStatus.DELIVERED:
        settings = request.app.state.settings
        client: httpx.AsyncClient = request.app.state.rasa_client
        event = {
            "event": "bot",
            "text": note["text"],
            "data": {"buttons": note["buttons"]},
            "metadata": {"notification_id": note["id"], "ticket_number": note["ticket_number"]},
        }
        try:
            response = await client.post(
                f"/conversations/{conversation_id}/tracker/events",
                params={"include_events": "NONE"},
                headers=rasa_auth_header(settings.rasa_token),
                json=event,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("Rasa unreachable for notification %s: %s", notification_id, exc)
            return JSONResponse(status_code=503, content={"detail": UNAVAILABLE})
        note = await run_in_threadpool(mark)
        if note is None:
            return JSONResponse(status_code=404, content={"detail": NOTIFICATION_NOT_FOUND})
    return JSONResponse(content=note)


def _notification_out(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "ticket_number": note.ticket.number,
        "kind": note.kind,
        "text": note.text,
        "buttons": [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in note.buttons or []
        ],
        "status": note.status,
        "created_at": note.created_at.isoformat(),
    }


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
