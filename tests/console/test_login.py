"""Signing in and out (console/staff/login.py): login CSRF, throttling, cookies, redirects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from accounts.models import Role
from console.staff import login as login_pages
from console.staff.auth import LoginThrottle, client_address, trusted_networks
from core.settings import Settings
from tests.console.staff_fixtures import (
    PASSWORD,
    add_user,
    csrf,
    login,
)
from webapp.app import create_app


def throttle_of() -> LoginThrottle:
    """The module's throttle (the fixture puts a fresh one there for every test)."""
    return login_pages.throttle


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


def _login_from(client: TestClient, username: str, password: str, forwarded: str) -> int:
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_token": token},
        headers={"X-Forwarded-For": forwarded},
        follow_redirects=False,
    )
    return response.status_code


def test_a_spoofed_forwarded_for_neither_dodges_nor_resets_the_throttle(
    client: TestClient, settings: Settings
) -> None:
    """Without TRUSTED_PROXIES the socket's address counts, whatever the header says."""
    add_user(settings, "lili", Role.STAFF)
    for n in range(5):
        assert _login_from(client, "lili", "wrong-password", f"198.51.100.{n}") == 401
    assert _login_from(client, "lili", PASSWORD, "203.0.113.77") == 429
    assert throttle_of().blocked("testclient", "lili")


def test_many_user_names_from_one_address_are_throttled(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "lili", Role.STAFF)
    limit = throttle_of().address_limit
    for n in range(limit):
        assert login(client, f"guess{n}", "wrong-password") == 401
    assert login(client, "lili") == 429  # the address is blocked, even for a real account


def test_behind_a_trusted_proxy_the_address_it_saw_counts(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login_pages, "throttle", LoginThrottle(address_limit=5))
    proxied = settings.model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
    add_user(settings, "lili", Role.STAFF)
    with TestClient(create_app(proxied), client=("127.0.0.1", 40000)) as client:
        for n in range(5):  # the left part is the caller's to write; the proxy appends
            forwarded = f"192.0.2.{n}, 198.51.100.7, 10.1.2.3"
            assert _login_from(client, "lili", "wrong-password", forwarded) == 401
        assert throttle_of().blocked("198.51.100.7", "someone-else")  # the address is counted
        assert not throttle_of().blocked("198.51.100.8", "someone-else")


def test_client_address_trusts_the_header_only_from_configured_proxies() -> None:
    networks = trusted_networks("127.0.0.1,10.0.0.0/8,::1")
    assert client_address("203.0.113.5", "1.2.3.4", networks) == "203.0.113.5"
    assert client_address("127.0.0.1", None, networks) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.2.3.4, 198.51.100.7", networks) == "198.51.100.7"
    assert client_address("::1", "198.51.100.7, 10.0.0.2", networks) == "198.51.100.7"
    assert client_address("127.0.0.1", "10.0.0.3, 10.0.0.2", networks) == "10.0.0.3"
    assert client_address("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"
    assert client_address("127.0.0.1", "junk, not-an-ip", networks) == "not-an-ip"
    assert client_address(None, None, networks) == "unknown"


def test_trusted_proxies_must_be_addresses_or_networks(settings: Settings) -> None:
    assert settings.model_validate({**settings.model_dump(), "trusted_proxies": "10.0.0.0/8"})
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        settings.model_validate({**settings.model_dump(), "trusted_proxies": "proxy.local"})


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "/\\evil.example", "https://evil.example", "/a\nb", "/" + "x" * 2001],
)
def test_the_page_after_signing_in_is_a_short_path_on_this_site(target: str) -> None:
    assert login_pages.safe_next(target) == "/"
    assert login_pages.safe_next("/tickets/2026120200001?tab=events") == (
        "/tickets/2026120200001?tab=events"
    )


def test_a_huge_query_is_not_carried_into_the_login_redirect(client: TestClient) -> None:
    response = client.get("/", params={"category": "路" * 5000}, follow_redirects=False)
    assert response.status_code == 303
    assert len(response.headers["location"]) < 3000
    assert response.headers["location"].startswith("/login?next=")
