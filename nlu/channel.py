"""Rasa's REST channel with its input checked before Rasa reads it.

Rasa 3.6's ``RestInput`` takes any JSON: a body that is not an object (``null``, ``[]``,
``"x"``) ended in a 500, a sender-less message landed in the one shared conversation
``default``, and a message of any length went through the whole NLU pipeline (100,000
characters pinned a worker for minutes). Registered in ``credentials.yml`` under this
module's path; the channel keeps the name ``rest``, so its URL stays
``/webhooks/rest/webhook``.

* Malformed requests get a 400 with a JSON error body: the body is not a JSON object,
  ``message`` is not a string, ``sender`` is missing, not a string or longer than
  ``MAX_SENDER_CHARS``, ``metadata`` is not an object, ``input_channel`` not a string.
* A message longer than ``MAX_MESSAGE_CHARS`` (environment, default 4,096) is answered
  like any message, with a bot reply in Chinese asking for a shorter one; it does not reach
  the NLU pipeline or the conversation (the Telegram bot and the web chat cap earlier).
"""

from __future__ import annotations

import os
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

DEFAULT_MAX_MESSAGE_CHARS = 4096
MAX_SENDER_CHARS = 128
TOO_LONG_RESPONSE = "utter_message_too_long"
TOO_LONG_REPLY = "您的留言有{length}字，超过了{limit}字的上限。请精简后重新发送，或分几条发送。"


def max_message_chars(environ: Mapping[str, str]) -> int:
    """``MAX_MESSAGE_CHARS`` from the environment; the default when unset or not a positive
    number (a typo must not switch the limit off)."""
    value = environ.get("MAX_MESSAGE_CHARS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return DEFAULT_MAX_MESSAGE_CHARS


def too_long_text(request: Request, *, length: int, limit: int) -> str:
    """The domain's ``utter_message_too_long`` filled in (the built-in copy without a model)."""
    agent = getattr(request.app.ctx, "agent", None)
    domain = getattr(agent, "domain", None)
    variations = (getattr(domain, "responses", None) or {}).get(TOO_LONG_RESPONSE) or []
    template = str(variations[0].get("text") or "") if variations else ""
    try:
        return (template or TOO_LONG_REPLY).format(length=length, limit=limit)
    except (KeyError, IndexError, ValueError):
        return TOO_LONG_REPLY.format(length=length, limit=limit)


def _error(detail: str) -> HTTPResponse:
    return response.json({"error": "BadRequest", "detail": detail}, status=400)


class RestChannel(RestInput):
    """``rest`` with a length limit and a 400 for malformed bodies."""

    def __init__(self, max_chars: int = DEFAULT_MAX_MESSAGE_CHARS) -> None:
        self.max_chars = max_chars

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> RestChannel:
        return cls(max_message_chars(os.environ))

    def refusal(self, body: Any) -> Optional[str]:
        """Why the request body cannot be taken, or None when it can."""
        if not isinstance(body, dict):
            return "the body must be a JSON object"
        sender = body.get("sender")
        if not isinstance(sender, str) or not sender:
            return "sender must be a non-empty string"
        if len(sender) > MAX_SENDER_CHARS:
            return f"sender must be at most {MAX_SENDER_CHARS} characters"
        if not isinstance(body.get("message"), str):
            return "message must be a string"
        if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
            return "metadata must be a JSON object"
        if body.get("input_channel") is not None and not isinstance(body["input_channel"], str):
            return "input_channel must be a string"
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def check(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            try:
                body = request.json
            except Exception:  # Sanic raises its own InvalidUsage on bad JSON
                return _error("the body must be JSON")
            problem = self.refusal(body)
            if problem is not None:
                return _error(problem)
            length = len(body["message"])
            if length > self.max_chars:
                text = too_long_text(request, length=length, limit=self.max_chars)
                return response.json([{"recipient_id": body["sender"], "text": text}])
            return None

        return webhook
