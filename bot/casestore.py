"""The case-store HTTP API, as seen from the bot (attachments, tickets, notifications, and the
field desk of grid workers and volunteers: ``/api/v1/field``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from bot.rasa import ServiceUnavailable


class CaseStoreRefused(Exception):
    """The case store refused a request (4xx); ``detail`` is its Chinese message."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class CaseStoreChannel:
    """The case-store endpoints a channel uses: attachments, a resident's tickets, the
    notification outbox (the action server has its own client for filing tickets)."""

    def __init__(self, base_url: str, *, token: str, timeout: float = 15.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"case store: {exc!r}") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"case store answered {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", "")
            except (ValueError, AttributeError):
                detail = ""
            if not isinstance(detail, str):  # e.g. a validation error's list: not for people
                detail = ""
            raise CaseStoreRefused(response.status_code, detail)
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceUnavailable("case store answered with something other than JSON") from exc

    async def upload_attachment(
        self, *, conversation_id: str, data: bytes, filename: str, content_type: str
    ) -> dict[str, Any]:
        result = await self._request(
            "POST",
            "/api/v1/attachments",
            data={"conversation_id": conversation_id, "channel": "telegram"},
            files={"file": (filename, data, content_type)},
        )
        return dict(result)

    async def tickets_of(self, conversation_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        result = await self._request(
            "GET", "/api/v1/tickets", params={"conversation_id": conversation_id, "limit": limit}
        )
        return list(result.get("items", []))

    async def ticket(self, number: str) -> dict[str, Any] | None:
        try:
            return dict(await self._request("GET", f"/api/v1/tickets/{number}"))
        except CaseStoreRefused as exc:
            if exc.status_code == 404:
                return None
            raise

    async def pending_notifications(self, *, limit: int = 100) -> list[dict[str, Any]]:
        result = await self._request(
            "GET", "/api/v1/notifications", params={"channel": "telegram", "limit": limit}
        )
        return list(result.get("items", []))

    async def acknowledge(self, notification_id: int) -> None:
        await self._request("POST", f"/api/v1/notifications/{notification_id}/delivered")

    # -- the field desk (grid workers and volunteers linked to a console account) ---------------

    async def field_link(self, *, code: str, telegram_id: int) -> dict[str, Any]:
        """Link this Telegram account with a one-time code; the person and a welcome."""
        result = await self._request(
            "POST", "/api/v1/field/link", json={"code": code, "telegram_id": telegram_id}
        )
        return dict(result)

    async def field_me(self, telegram_id: int) -> dict[str, Any] | None:
        """The linked person of this Telegram account, or None when it is not linked."""
        try:
            result = await self._request(
                "GET", "/api/v1/field/me", params={"telegram_id": telegram_id}
            )
        except CaseStoreRefused as exc:
            if exc.status_code == 404:
                return None
            raise
        return dict(result)

    async def field_unlink(self, telegram_id: int) -> dict[str, Any]:
        result = await self._request(
            "POST", "/api/v1/field/unlink", json={"telegram_id": telegram_id}
        )
        return dict(result)

    async def field_tasks(self, telegram_id: int) -> list[dict[str, Any]]:
        result = await self._request(
            "GET", "/api/v1/field/tasks", params={"telegram_id": telegram_id}
        )
        return list(result.get("items", []))

    async def field_step(
        self,
        *,
        telegram_id: int,
        number: str,
        step: str,
        text: str = "",
        attachment_ids: Sequence[int] = (),
    ) -> dict[str, Any]:
        """One step of a task (accept, arrive, coordinate, resolve); the new state and buttons."""
        result = await self._request(
            "POST",
            f"/api/v1/field/tasks/{number}/steps",
            json={
                "telegram_id": telegram_id,
                "step": step,
                "text": text,
                "attachment_ids": list(attachment_ids),
            },
        )
        return dict(result)

    async def field_draft(
        self,
        *,
        telegram_id: int,
        text: str,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> dict[str, Any]:
        """A drafted patrol report (``draft``) and its Chinese ``summary``; nothing filed."""
        result = await self._request(
            "POST",
            "/api/v1/field/reports/draft",
            json={
                "telegram_id": telegram_id,
                "text": text,
                "latitude": latitude,
                "longitude": longitude,
            },
        )
        return dict(result)

    async def field_report(
        self,
        *,
        telegram_id: int,
        submission_key: str,
        draft: dict[str, Any],
        attachment_ids: Sequence[int] = (),
    ) -> dict[str, Any]:
        """File a drafted report, exactly once per ``submission_key``; its number and message."""
        result = await self._request(
            "POST",
            "/api/v1/field/reports",
            json={
                "telegram_id": telegram_id,
                "submission_key": submission_key,
                "draft": draft,
                "attachment_ids": list(attachment_ids),
            },
        )
        return dict(result)

    async def field_visit(self, *, telegram_id: int, households: int, notes: str) -> dict[str, Any]:
        result = await self._request(
            "POST",
            "/api/v1/field/visits",
            json={"telegram_id": telegram_id, "households": households, "notes": notes},
        )
        return dict(result)
