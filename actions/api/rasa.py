"""The running Rasa server's HTTP API: the active model's parse of a text."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import jwt

from actions.settings import ActionSettings

PARSE_TIMEOUT_SECONDS = 5.0
# The key Rasa checks JWTs with, derived from its token as nlu/server.py does (and
# core/secret.py on the app side; neither side may import the other).
JWT_LABEL = b"petition-channel rasa jwt v1"
JWT_SECONDS = 60


def jwt_secret(token: str) -> str:
    return hmac.new(token.encode("utf-8"), JWT_LABEL, hashlib.sha256).hexdigest()


def auth_header(token: str, *, now: float | None = None) -> dict[str, str]:
    """``Authorization: Bearer`` with a JWT valid for a minute, instead of ``?token=`` in the
    URL; empty without a token."""
    if not token:
        return {}
    issued = int(time.time() if now is None else now)
    payload = {
        "user": {"username": "petition-actions", "role": "admin"},
        "iat": issued,
        "exp": issued + JWT_SECONDS,
    }
    return {"Authorization": f"Bearer {jwt.encode(payload, jwt_secret(token), algorithm='HS256')}"}


class RasaClient:
    """One per process (see ``actions.api.services``), authenticated with a JWT signed with a
    key derived from Rasa's token."""

    def __init__(
        self, settings: ActionSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._token = settings.rasa_token
        self._http = httpx.AsyncClient(
            base_url=settings.rasa_url, timeout=PARSE_TIMEOUT_SECONDS, transport=transport
        )

    async def parse(self, text: str) -> dict[str, Any]:
        """Intent, ranking and entities of ``text``; raises ``httpx.HTTPError`` when down."""
        response = await self._http.post(
            "/model/parse", headers=auth_header(self._token), json={"text": text}
        )
        response.raise_for_status()
        return dict(response.json())
