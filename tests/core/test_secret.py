"""Secrets from outside are compared safely: non-ASCII input is a wrong secret, not a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accounts.models import Role
from core.secret import same_secret
from core.settings import Settings
from tests.app_fixtures import TOKEN
from tests.console.staff_fixtures import add_user, login

CHINESE = "错误的令牌０１２３"


def test_same_secret() -> None:
    assert same_secret("token-0123456789", "token-0123456789")
    assert same_secret("令牌", "令牌")
    for given in (None, "", "token-012345678", CHINESE):
        assert not same_secret(given, "token-0123456789")
    assert not same_secret("", "") and not same_secret("x", "")


def test_a_non_ascii_bearer_token_is_refused_with_401(client: TestClient) -> None:
    for header in (f"Bearer {CHINESE}".encode(), f"Bearer {TOKEN}é".encode()):
        response = client.get("/api/v1/tickets", headers={"Authorization": header})  # type: ignore[dict-item]
        assert response.status_code == 401
        assert "访问令牌" in response.json()["detail"]


def test_a_non_ascii_open311_api_key_is_refused_with_403(client: TestClient) -> None:
    response = client.post(
        "/open311/v2/requests.json",
        data={"api_key": CHINESE, "service_code": "urban_construction", "description": "路灯坏了"},
    )
    assert response.status_code == 403


def test_non_ascii_login_and_csrf_tokens_are_refused(
    client: TestClient, settings: Settings
) -> None:
    client.get("/login")
    refused = client.post("/login", data={"username": "x", "password": "y", "login_token": CHINESE})
    assert refused.status_code == 403 and "登录页面已过期" in refused.text
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili") == 303
    forged = client.post("/logout", data={"csrf_token": CHINESE}, follow_redirects=False)
    assert forged.status_code == 403
