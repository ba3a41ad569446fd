"""Signing in and out (console/staff/login.py): login CSRF, throttling, cookies, redirects."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accounts.models import Role
from core.settings import Settings
from tests.console.staff_fixtures import (
    PASSWORD,
    add_user,
    csrf,
    login,
)


def test_pages_need_a_login_and_bad_passwords_are_throttled(
    client: TestClient, settings: Settings
) -> None:
    response = client.get("/tickets/2026112600001", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftickets%2F2026112600001"
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili", "wrong-password") == 401
    assert login(client, "nobody", "wrong-password") == 401
    for _ in range(4):
        login(client, "lili", "wrong-password")
    assert login(client, "lili") == 429  # even the right password, for a while
    client.cookies.clear()
    forged = client.post("/login", data={"username": "lili", "password": PASSWORD})
    assert forged.status_code == 403 and "登录页面已过期" in forged.text  # login CSRF


def test_session_cookie_is_http_only_and_logout_ends_it(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "lili", Role.STAFF)
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login",
        data={"username": "lili", "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if "petition_session" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    response = client.post("/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_returns_only_to_pages_of_this_site(client: TestClient, settings: Settings) -> None:
    add_user(settings, "lili", Role.STAFF)
    for target, expected in (("/tickets/1", "/tickets/1"), ("//evil.example", "/"), ("x", "/")):
        form = client.get("/login", params={"next": target}).text
        token = form.split('name="login_token" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={"username": "lili", "password": PASSWORD, "login_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == expected
        client.cookies.clear()


def test_signed_in_staff_skip_the_login_form(staff_client: TestClient) -> None:
    response = staff_client.get("/login", params={"next": "/intake"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/intake"
