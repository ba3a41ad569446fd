from __future__ import annotations

from fastapi.testclient import TestClient


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
