from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.app_fixtures import TOKEN, draft_body
from tests.retraining.fake_rasa import rasa_jwt_ok


def test_chat_page_uses_local_assets(client: TestClient) -> None:
    page = client.get("/chat")
    assert page.status_code == 200
    assert "市民诉求在线反映" in page.text
    assert "/static/chat.js" in page.text
    assert "http" not in page.text.split("<body>")[0].replace("http-equiv", "")  # no CDN
    assert client.get("/static/chat.js").status_code == 200


def test_rasa_down_is_a_clear_503(client: TestClient) -> None:
    response = client.post("/chat/api/messages", json={"sender_id": "abcdef123456", "text": "你好"})
    assert response.status_code == 503
    assert "已保存" in response.json()["detail"]


def test_bad_messages_are_rejected(client: TestClient) -> None:
    for body in (
        {"sender_id": "abc", "text": "你好"},
        {"sender_id": "abcdef123456", "text": ""},
        {"sender_id": "abcdef123456", "text": "长" * 2001},
        {"sender_id": "../../etc", "text": "你好"},
    ):
        assert client.post("/chat/api/messages", json=body).status_code == 422
    assert client.get("/chat/api/history", params={"sender_id": "x/y"}).status_code == 422


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


class FakeRasa:
    """Rasa's tracker-events endpoint (POST /conversations/{id}/tracker/events, with a JWT)."""

    def __init__(self) -> None:
        self.appended: list[tuple[str, dict[str, Any]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        match = re.fullmatch(r"/conversations/([^/]+)/tracker/events", request.url.path)
        if request.method != "POST" or not match:
            return httpx.Response(404, json={"status": "failure"})
        if not rasa_jwt_ok(request.headers.get("Authorization", ""), "rasa-token"):
            return httpx.Response(401, json={"status": "failure", "reason": "NotAuthenticated"})
        self.appended.append((match.group(1), json.loads(request.content)))
        return httpx.Response(200, json={"sender_id": match.group(1)})


def file_ticket(client: TestClient, auth: dict[str, str], sender: str, key: str) -> str:
    body = draft_body(submission_key=key, conversation_id=f"web-{sender}")
    response = client.post("/api/v1/tickets", json=body, headers=auth)
    assert response.status_code == 201
    return str(response.json()["number"])


def act(client: TestClient, auth: dict[str, str], number: str, **body: str) -> None:
    response = client.post(
        f"/api/v1/tickets/{number}/actions", json={"actor": "staff1", **body}, headers=auth
    )
    assert response.status_code == 200, response.text


def pending(client: TestClient, sender: str) -> list[dict[str, Any]]:
    response = client.get("/chat/api/notifications", params={"sender": sender})
    assert response.status_code == 200
    return list(response.json()["items"])


def test_notifications_are_listed_for_their_own_conversation_only(
    client: TestClient, auth: dict[str, str]
) -> None:
    mine = file_ticket(client, auth, "abc12345", "web-abc12345-0001")
    theirs = file_ticket(client, auth, "zzz99999", "web-zzz99999-0001")
    act(client, auth, mine, action="dispatch")
    act(client, auth, theirs, action="dispatch")
    act(client, auth, mine, action="close", text="已更换路灯灯泡")
    items = pending(client, "abc12345")
    assert [(n["ticket_number"], n["kind"]) for n in items] == [
        (mine, "status"),
        (mine, "satisfaction"),
    ]
    assert "已办结" in items[1]["text"] and "已更换路灯灯泡" in items[1]["text"]
    assert [b["title"] for b in items[1]["buttons"]][-1] == "问题没解决"
    assert items[1]["buttons"][-1]["payload"] == (
        f'/rate_service{{"ticket_number": "{mine}", "rating": "unresolved"}}'
    )
    assert [n["ticket_number"] for n in pending(client, "zzz99999")] == [theirs]
    assert pending(client, "nobody123") == []
    bad = client.get("/chat/api/notifications", params={"sender": "../web-abc"})
    assert bad.status_code == 422


def test_delivered_puts_the_notice_into_the_conversation_once(
    client: TestClient, auth: dict[str, str]
) -> None:
    rasa = FakeRasa()
    client.app.state.rasa_client = httpx.AsyncClient(  # type: ignore[attr-defined]
        base_url="http://rasa.test", transport=httpx.MockTransport(rasa.handle)
    )
    number = file_ticket(client, auth, "abc12345", "web-abc12345-0001")
    act(client, auth, number, action="dispatch")
    file_ticket(client, auth, "zzz99999", "web-zzz99999-0001")
    [note] = pending(client, "abc12345")

    wrong = f"/chat/api/notifications/{note['id']}/delivered"
    assert client.post(wrong, params={"sender": "zzz99999"}).status_code == 404
    assert (
        client.post(
            wrong.replace(str(note["id"]), "999999"), params={"sender": "abc12345"}
        ).status_code
        == 404
    )
    assert rasa.appended == []

    for _ in range(2):  # acknowledging twice is harmless and appends once
        response = client.post(wrong, params={"sender": "abc12345"})
        assert response.status_code == 200
        assert response.json()["status"] == "delivered"
    assert rasa.appended == [
        (
            "web-abc12345",
            {
                "event": "bot",
                "text": note["text"],
                "data": {"buttons": []},
                "metadata": {"notification_id": note["id"], "ticket_number": number},
            },
        )
    ]
    assert pending(client, "abc12345") == []


def test_rasa_down_keeps_the_notice_pending(client: TestClient, auth: dict[str, str]) -> None:
    number = file_ticket(client, auth, "abc12345", "web-abc12345-0001")
    act(client, auth, number, action="dispatch")
    [note] = pending(client, "abc12345")
    response = client.post(
        f"/chat/api/notifications/{note['id']}/delivered", params={"sender": "abc12345"}
    )
    assert response.status_code == 503
    assert [n["id"] for n in pending(client, "abc12345")] == [note["id"]]


def test_a_turn_rasa_answers_with_nothing_is_sent_again_not_silence(client: TestClient) -> None:
    """Rasa answers [] when its action server died in the turn: the page must resend."""
    answers: list[list[dict[str, Any]]] = [[], [{"text": "请问问题发生在什么位置？"}]]

    def webhook(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers.pop(0))

    client.app.state.rasa_client = httpx.AsyncClient(  # type: ignore[attr-defined]
        base_url="http://rasa.test", transport=httpx.MockTransport(webhook)
    )
    message = {"sender_id": "abc12345", "text": "路灯坏了"}
    first = client.post("/chat/api/messages", json=message)
    assert first.status_code == 503 and "自动发送" in first.json()["detail"]
    second = client.post("/chat/api/messages", json=message)
    assert second.status_code == 200
    assert second.json()["messages"][0]["text"] == "请问问题发生在什么位置？"
