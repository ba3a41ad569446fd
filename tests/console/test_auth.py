"""Who may open what (console/staff/auth.py): volunteers reach the field page and their account
only; the scopes of each role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from accounts.models import Role
from console.staff.auth import Staff, volunteer_may_open
from core.settings import Settings
from tests.console.staff_fixtures import GRID, OTHER_GRID, add_user, csrf, login


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/field", True),
        ("/field/reports/draft", True),
        ("/account", True),
        ("/account/telegram/code", True),
        ("/logout", True),
        ("/", False),
        ("/fieldwork", False),  # a prefix of a word is not the page
        ("/accounts", False),
        ("/tickets/2026120100001", False),
        ("/admin/users", False),
        ("/dashboard", False),
    ],
)
def test_the_paths_a_volunteer_may_open(path: str, allowed: bool) -> None:
    assert volunteer_may_open(path) is allowed


def staff_of(role: Role, grids: tuple[str, ...] = ()) -> Staff:
    return Staff(user_id=1, username="x", display_name="X", role=role, grid_codes=grids,
                 csrf_token="t")  # fmt: skip


def test_volunteers_and_grid_workers_see_their_own_grids_only() -> None:
    assert staff_of(Role.VOLUNTEER, (GRID,)).grid_scope == (GRID,)
    assert staff_of(Role.GRID_WORKER, (GRID,)).grid_scope == (GRID,)
    assert staff_of(Role.STAFF).grid_scope is None
    assert not staff_of(Role.VOLUNTEER, (GRID,)).sees_grid(OTHER_GRID)
    assert staff_of(Role.VOLUNTEER).role_label == "民情专递员"
    assert staff_of(Role.VOLUNTEER).actor == "volunteer:x"


def test_a_volunteer_signs_in_to_the_field_page_only(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "zhang", Role.VOLUNTEER, [GRID])
    assert login(client, "zhang") == 303
    start = client.get("/", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"] == "/field"
    for path in ("/dashboard", "/tickets/2026120100001", "/admin/users", "/intake", "/alerts",
                 "/notices", "/reports", "/assessment"):  # fmt: skip
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 403, path
        assert "您的账号没有此项权限" in page.text
    denied = client.get("/dashboard")
    # the menu of the error page: the field page and the account, nothing of the desk
    assert 'href="/field"' in denied.text and 'href="/account"' in denied.text
    assert 'href="/dashboard"' not in denied.text and 'accesskey="q"' not in denied.text
    token = csrf(client, "/account")
    posted = client.post("/intake", data={"csrf_token": token}, follow_redirects=False)
    assert posted.status_code == 403
    assert client.get("/account").status_code == 200
    assert client.get("/static/console.css").status_code == 200
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/account", follow_redirects=False).status_code == 303  # signed out


def test_grid_workers_keep_the_desk_pages_of_their_role(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    login(client, "wang")
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get("/intake").status_code == 403  # desk staff only, as before
    page = client.get("/").text
    assert 'href="/field"' in page and 'href="/account"' in page
