"""Rasa's REST channel, as seen from the bot."""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """Rasa or the case store did not answer; the work is kept and retried."""


class RasaClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self, *, sender: str, message: str, display_text: str | None
    ) -> list[dict[str, Any]]:
        """One resident message in, the bot's replies out."""
        body = {
            "sender": sender,
            "message": message,
            "metadata": {"channel": "telegram", "display_text": display_text},
        }
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Rasa: {exc!r}") from exc
        if response.status_code >= 400:
            raise ServiceUnavailable(f"Rasa answered {response.status_code}")
        try:
            replies = response.json()
        except ValueError as exc:
            raise ServiceUnavailable("Rasa answered with something other than JSON") from exc
        return [r for r in replies if isinstance(r, dict)] if isinstance(replies, list) else []
