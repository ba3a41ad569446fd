"""The case store's HTTP API as the actions use it: tickets, ratings, events, grids, examples.

Submitting is idempotent (the submission key); a submission that cannot be delivered after
a few quick retries goes to the durable outbox, from which the outbox worker delivers it
exactly once when the case store is back. Grid resolution is served by the case store too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from actions.outbox import Outbox
from actions.settings import ActionSettings

log = logging.getLogger(__name__)

# Idle connections are dropped before the case store's (uvicorn's 5 s) keep-alive ends, so a
# request never goes out on a connection the server is closing.
KEEPALIVE_EXPIRY_SECONDS = 2.0


class CaseStoreUnavailable(Exception):
    """The case store could not be reached or answered with a server error."""


class CaseStoreRejected(Exception):
    """The case store refused the request (4xx); retrying will not help."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class SubmitResult:
    ticket: dict[str, Any] | None  # the filed ticket, or None when queued in the outbox
    queued: bool
    receipt: str


def receipt_code(submission_key: str) -> str:
    """A short code a resident can quote before the ticket number exists."""
    return submission_key.replace("-", "")[-8:].upper()


class CaseStoreClient:
    """One per process (see ``actions.api.services``): a pooled HTTP client and the outbox."""

    def __init__(
        self,
        settings: ActionSettings,
        outbox: Outbox,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self._http = httpx.AsyncClient(
            base_url=settings.casestore_url,
            timeout=settings.casestore_timeout_seconds,
            headers={"Authorization": f"Bearer {settings.casestore_api_token}"},
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS),
            transport=transport,  # tests pass a fake of the API; production uses the network
        )

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise CaseStoreUnavailable(str(exc)) from exc
        if response.status_code >= 500:
            raise CaseStoreUnavailable(f"HTTP {response.status_code}")
        return response

    async def create_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = await self._request("POST", "/api/v1/tickets", json=payload)
        if response.status_code in (200, 201):
            return response.json()
        raise CaseStoreRejected(response.status_code, _detail(response))

    async def submit(self, payload: dict[str, Any]) -> SubmitResult:
        """File a ticket now if possible, else keep it in the outbox. Never loses it."""
        key = payload["submission_key"]
        delays = (0.0, *self.settings.retry_delays)
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await asyncio.sleep(delay)
            try:
                ticket = await self.create_ticket(payload)
                return SubmitResult(ticket=ticket, queued=False, receipt=receipt_code(key))
            except CaseStoreUnavailable as exc:
                log.warning("case store unavailable (attempt %d): %s", attempt, exc)
        self.outbox.put(key, payload)
        return SubmitResult(ticket=None, queued=True, receipt=receipt_code(key))

    async def get_ticket(self, number: str) -> dict[str, Any] | None:
        response = await self._request("GET", f"/api/v1/tickets/{number}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CaseStoreRejected(response.status_code, _detail(response))
        return response.json()

    async def status_lookup(
        self, number: str, *, conversation_id: str, phone_last4: str | None = None
    ) -> dict[str, Any] | None:
        """``{"outcome": ..., "ticket": ...}`` (casestore/api/routes/lookup.py): the status if
        this conversation filed the ticket or the digits match; None if there is no such
        ticket. The phone number itself stays in the case store."""
        body = {"conversation_id": conversation_id, "phone_last4": phone_last4}
        response = await self._request("POST", f"/api/v1/tickets/{number}/status-lookup", json=body)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CaseStoreRejected(response.status_code, _detail(response))
        return dict(response.json())

    async def tickets_of_conversation(
        self, conversation_id: str, limit: int = 5
    ) -> list[dict[str, Any]]:
        """The conversation's most recent tickets, newest first."""
        response = await self._request(
            "GET", "/api/v1/tickets", params={"conversation_id": conversation_id, "limit": limit}
        )
        if response.status_code != 200:
            raise CaseStoreRejected(response.status_code, _detail(response))
        return list(response.json()["items"])

    async def rate(self, number: str, rating: str, comment: str | None = None) -> dict[str, Any]:
        """Record the resident's satisfaction rating; ``unresolved`` reopens the ticket.

        Retried like a submission while the store is down. Repeating a rating whose answer
        was lost does no harm: the same rating again, or a 409 once the ticket is reopened.
        """
        body: dict[str, Any] = {"action": "rate", "actor": "resident", "rating": rating}
        if comment and comment.strip():
            body["text"] = comment.strip()[:2000]
        for delay in self.settings.retry_delays:
            try:
                return await self._rate_once(number, body)
            except CaseStoreUnavailable as exc:
                log.warning("case store unavailable for a rating: %s", exc)
            await asyncio.sleep(delay)
        return await self._rate_once(number, body)

    async def _rate_once(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._request("POST", f"/api/v1/tickets/{number}/actions", json=body)
        if response.status_code == 200:
            return dict(response.json())
        raise CaseStoreRejected(response.status_code, _detail(response))

    async def resolve_location(
        self, text: str | None = None, point: tuple[float, float] | None = None
    ) -> dict[str, Any]:
        """Grid candidates for a place description or a (latitude, longitude) point."""
        body: dict[str, Any] = {"text": text[:5000] if text else None}
        if point is not None:
            body.update(latitude=point[0], longitude=point[1])
        response = await self._request("POST", "/api/v1/grids/resolve", json=body)
        if response.status_code != 200:
            raise CaseStoreRejected(response.status_code, _detail(response))
        return dict(response.json())

    async def add_training_example(self, example: dict[str, Any]) -> None:
        response = await self._request("POST", "/api/v1/training-examples", json=example)
        if response.status_code != 201:
            raise CaseStoreRejected(response.status_code, _detail(response))

    async def add_event(self, number: str, kind: str, data: dict[str, Any]) -> None:
        response = await self._request(
            "POST", f"/api/v1/tickets/{number}/events", json={"kind": kind, "data": data}
        )
        if response.status_code != 201:
            raise CaseStoreRejected(response.status_code, _detail(response))


def _detail(response: httpx.Response) -> Any:
    try:
        return response.json().get("detail")
    except ValueError:
        return response.text[:200]
