"""Secrets from outside are compared safely: non-ASCII input is a wrong secret, not a 500."""

from __future__ import annotations

import jwt
from fastapi.testclient import TestClient

from accounts.models import Role
from core.secret import rasa_auth_header, rasa_jwt_secret, same_secret
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


# The key nlu/server.py gives Rasa for "rasa-token-for-tests" (tests/nlu/test_server.py and
# tests/actions check the same figure): both sides must derive the same one.
KEY_FOR_TEST_TOKEN = "2839a2867b36bb832f803a143cd51aafeb62f91ae7fe169c86a47997344feeab"


def test_the_rasa_jwt_key_is_derived_as_rasa_derives_it() -> None:
    assert rasa_jwt_secret("rasa-token-for-tests") == KEY_FOR_TEST_TOKEN


def test_rasa_auth_header_carries_a_short_lived_admin_jwt_not_the_token() -> None:
    header = rasa_auth_header("rasa-token-for-tests", now=1_000_000)["Authorization"]
    scheme, _, signed = header.partition(" ")
    assert scheme == "Bearer" and "rasa-token-for-tests" not in header
    payload = jwt.decode(
        signed, KEY_FOR_TEST_TOKEN, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert payload["user"]["role"] == "admin"
    assert payload["exp"] - payload["iat"] == 60
    assert rasa_auth_header("") == {}
