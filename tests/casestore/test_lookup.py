"""A resident sees the status of their own tickets, or of one whose phone digits they know."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from casestore.api.routes import lookup
from tests.app_fixtures import draft_body


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The app with the look-up router (webapp/app.py registers it)."""
    paths = {getattr(route, "path", "") for route in client.app.routes}  # type: ignore[attr-defined]
    if "/api/v1/tickets/{number}/status-lookup" not in paths:
        client.app.include_router(lookup.router)  # type: ignore[attr-defined]
    return client


def file(api: TestClient, auth: dict[str, str], key: str, **fields: Any) -> str:
    body = draft_body(submission_key=key, **fields)
    response = api.post("/api/v1/tickets", json=body, headers=auth)
    assert response.status_code == 201
    return str(response.json()["number"])


def ask(
    api: TestClient, auth: dict[str, str], number: str, conversation: str, digits: str | None = None
) -> dict[str, Any]:
    body = {"conversation_id": conversation, "phone_last4": digits}
    response = api.post(f"/api/v1/tickets/{number}/status-lookup", json=body, headers=auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_filing_conversation_sees_its_ticket(api: TestClient, auth: dict[str, str]) -> None:
    number = file(api, auth, "web-own-0001", conversation_id="web-own")
    result = ask(api, auth, number, "web-own")
    assert result["outcome"] == "shown"
    assert result["ticket"]["number"] == number and result["ticket"]["status_label"]
    assert set(result["ticket"]) == {
        "number", "category_name", "status", "status_label", "department", "created_at", "due_at",
    }  # fmt: skip


def test_another_conversation_needs_the_phone_digits(api: TestClient, auth: dict[str, str]) -> None:
    number = file(api, auth, "web-own-0001", conversation_id="web-own", contact_phone="13812345678")
    assert ask(api, auth, number, "web-other") == {"outcome": "phone_needed", "ticket": None}
    assert ask(api, auth, number, "web-other", "5678")["outcome"] == "shown"
    assert ask(api, auth, number, "web-other", "1234") == {"outcome": "mismatch", "ticket": None}
    events = api.get(f"/api/v1/tickets/{number}", headers=auth).json()["events"]
    assert [e["kind"] for e in events].count(lookup.REFUSED) == 1


def test_landline_digits_count_without_the_dash(api: TestClient, auth: dict[str, str]) -> None:
    number = file(api, auth, "web-own-0001", contact_phone="028-85551234")
    assert ask(api, auth, number, "web-other", "1234")["outcome"] == "shown"


def test_anonymous_tickets_are_only_their_conversations(
    api: TestClient, auth: dict[str, str]
) -> None:
    number = file(
        api, auth, "web-own-0001", conversation_id="web-own", contact_phone=None, anonymous=True
    )
    assert ask(api, auth, number, "web-other")["outcome"] == "no_phone"
    assert ask(api, auth, number, "web-other", "5678")["outcome"] == "no_phone"
    assert ask(api, auth, number, "web-own")["outcome"] == "shown"


def test_guessing_stops_after_five_wrong_answers(api: TestClient, auth: dict[str, str]) -> None:
    number = file(api, auth, "web-own-0001", contact_phone="13812345678")
    for guess in ("0000", "0001", "0002", "0003", "0004"):
        assert ask(api, auth, number, f"web-guess-{guess}", guess)["outcome"] == "mismatch"
    assert ask(api, auth, number, "web-guess", "5678")["outcome"] == "locked"
    assert ask(api, auth, number, "web-abc12345")["outcome"] == "shown"  # its own conversation


@pytest.mark.parametrize(
    ("number", "body", "status"),
    [
        ("2026112600001", {"conversation_id": "web-x"}, 404),
        ("12345", {"conversation_id": "web-x"}, 422),
        ("2026112600001", {"conversation_id": ""}, 422),
        ("2026112600001", {"conversation_id": "x" * 129}, 422),
        ("2026112600001", {"conversation_id": "web-x", "phone_last4": "12345"}, 422),
        ("2026112600001", {"conversation_id": "web-x", "phone_last4": "１２３４"}, 422),
    ],
)
def test_bad_requests(
    api: TestClient, auth: dict[str, str], number: str, body: dict[str, Any], status: int
) -> None:
    response = api.post(f"/api/v1/tickets/{number}/status-lookup", json=body, headers=auth)
    assert response.status_code == status


def test_only_services_may_ask(api: TestClient) -> None:
    body = {"conversation_id": "web-x"}
    assert api.post("/api/v1/tickets/2026112600001/status-lookup", json=body).status_code == 401


def test_after_dispatch_the_resident_is_shown_the_unit_handling_it(
    api: TestClient, auth: dict[str, str]
) -> None:
    """The status look-up names the unit the ticket was dispatched to, as the notification
    and the ticket page do, not the category's department."""
    number = file(
        api, auth, "web-own-0002", conversation_id="web-own",
        subcategory="municipal_facilities", grid_code="510107001001004",
    )  # fmt: skip
    before = ask(api, auth, number, "web-own")["ticket"]["department"]
    response = api.post(
        f"/api/v1/tickets/{number}/actions",
        json={"actor": "staff:li", "action": "dispatch", "dispatch_to": "grid"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    handler = response.json()["assigned_to"]
    assert handler and handler != before
    assert ask(api, auth, number, "web-own")["ticket"]["department"] == handler
    [request] = api.get(f"/open311/v2/requests/{number}.json").json()  # a public read
    assert request["agency_responsible"] == handler
