"""Helpers and fixtures of the staff console tests: accounts, sign-in, CSRF tokens, tickets."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from accounts import service
from accounts.models import Role
from console.staff import login as login_pages
from console.staff.auth import LoginThrottle
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from tests.app_fixtures import TOKEN, draft_body

GRID = "510107001001001"
OTHER_GRID = "510107001001002"
PASSWORD = "correct-horse-9"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed logins of one test do not block the next (the throttle lives in the module)."""
    monkeypatch.setattr(login_pages, "throttle", LoginThrottle())


def add_user(
    settings: Settings,
    username: str,
    role: Role,
    grids: list[str] | None = None,
    *,
    unit_code: str | None = None,
) -> None:
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        service.create_user(
            session=session,
            username=username,
            display_name=username.upper(),
            password=PASSWORD,
            role=role,
            grid_codes=grids,
            unit_code=unit_code,
        )
    engine.dispose()


def login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    form = client.get("/login").text
    match = re.search(r'name="login_token" value="([^"]+)"', form)
    token = match.group(1) if match else ""
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_token": token},
        follow_redirects=False,
    )
    return response.status_code


def csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def file(client: TestClient, n: int = 1, **overrides: object) -> str:
    """File a web-chat ticket through the case-store API; its number."""
    fields: dict[str, object] = {"grid_code": GRID, **overrides}
    body = draft_body(submission_key=f"web-abc12345-{n:04d}", **fields)
    response = client.post("/api/v1/tickets", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def act(client: TestClient, number: str, **fields: str) -> Response:
    """One action from the ticket page's form, with the page's CSRF token."""
    data = {"csrf_token": csrf(client, f"/tickets/{number}"), **fields}
    return client.post(f"/tickets/{number}/actions", data=data, follow_redirects=False)


@pytest.fixture
def staff_client(client: TestClient, settings: Settings) -> TestClient:
    """A hotline operator (lili) signed in."""
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili") == 303
    return client
