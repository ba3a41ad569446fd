"""The running Rasa server's HTTP API: the active model's parse of a text."""

from __future__ import annotations

from typing import Any

import httpx

from actions.settings import ActionSettings

PARSE_TIMEOUT_SECONDS = 5.0


class RasaClient:
    """One per process (see ``actions.api.services``), authenticated with Rasa's token."""

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
            "/model/parse", params={"token": self._token}, json={"text": text}
        )
        response.raise_for_status()
        return dict(response.json())
