"""The console's wiring (console/staff/routes.py): every page mounted, no import cycles."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from console.staff import routes
from core.settings import ROOT, Settings

PAGES = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("GET", "/export.{fmt}"),
    ("GET", "/tickets/{number}"),
    ("POST", "/tickets/{number}/actions"),
    ("GET", "/tickets/{number}/photos/{attachment_id}"),
    ("GET", "/tickets/{number}/records/{kind}"),
    ("GET", "/dashboard"),
    ("GET", "/intake"),
    ("POST", "/intake"),
    ("POST", "/intake/suggest"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("POST", "/admin/users/{user_id}/active"),
    ("GET", "/admin/training"),
    ("GET", "/admin/models"),
    ("GET", "/admin/taxonomy"),
    ("POST", "/admin/taxonomy"),
}


def test_the_routers_hold_every_page() -> None:
    pages = {
        (method, route.path)
        for router in routes.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert pages >= PAGES


def test_the_app_mounts_the_pages_and_their_error_pages(client: TestClient) -> None:
    """Signed out, every page sends the browser to the login form (a handler of install)."""
    for method, path in sorted(PAGES - {("GET", "/login"), ("POST", "/login")}):
        url = path.format(
            fmt="csv", number="2026112600001", attachment_id=1, user_id=1, kind="resident"
        )
        response = client.request(method, url, follow_redirects=False)
        expected = 303 if method == "GET" else 401
        assert response.status_code == expected, (method, url, response.status_code)


@pytest.mark.parametrize(
    "module",
    [
        "console.staff.routes",
        "console.staff.rendering",
        "console.staff.tickets",
        "console.staff.records",
        "console.staff.users",
        "console.staff.training",
        "console.staff.taxonomy",
    ],
)
def test_each_module_imports_on_its_own(module: str) -> None:
    """A fresh interpreter per module: an import cycle would fail whichever comes first."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_only_handlers_that_must_await_are_async() -> None:
    """Async handlers run on the event loop: blocking SQLite there stalls every request.

    Only the intake suggestion awaits (Rasa); it holds no transaction while it does.
    """
    coroutines = {
        route.name
        for router in routes.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and inspect.iscoroutinefunction(route.endpoint)
    }
    assert coroutines == {"intake_suggest"}


def test_the_place_resolver_is_built_at_start_up_not_on_the_first_page(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading jieba's dictionary took the first ticket page 0.9 s: the app does it in the
    background as it starts."""
    from grids import api as grids_api
    from grids import resolver
    from webapp.app import create_app

    monkeypatch.setattr(resolver, "_resolvers", {})
    with TestClient(create_app(settings)) as client:
        client.app.state.warming.join(timeout=60)  # type: ignore[attr-defined]
        assert len(resolver._resolvers) == 1
        built = next(iter(resolver._resolvers.values()))
        assert grids_api.resolver_at(settings.data_dir) is built
