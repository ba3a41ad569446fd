"""Hostile input through every route of the app: never a 500, refusals in Chinese, no raw echo.

Every route the app serves (case-store API, Open311, grids, retraining, model serving, web
chat, console pages and forms) gets hostile path values, query values and bodies — empty,
100,000 characters, control characters, invalid UTF-8, lone surrogates, emoji only, mixed
scripts, SQL/HTML/JS, malformed and deeply nested JSON, NaN/Infinity, huge numbers, wrong
content types, a 50 MB body, a broken image — as an anonymous caller, with the API token
and as a signed-in hotline operator (with the page's CSRF token, so forms get past it).

Checked for every answer: no status ≥ 500 (but the 503 "请稍后再试" of a service that is down);
a refusal with a JSON body says why in Chinese;
an HTML page never contains the script payload unescaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from accounts.models import Role
from core.settings import Settings
from tests.app_fixtures import TOKEN
from tests.console.staff_fixtures import add_user, csrf, file, login
from tests.hostile import HOSTILE_BODIES, HOSTILE_TEXT, HOSTILE_VALUES, QUERY_TEXT, XSS

JSON = "application/json"
CJK = re.compile(r"[\u4e00-\u9fff]")

BROKEN_IMAGE = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a PNG signature and nothing valid after it
FIFTY_MB = 50 * 1024 * 1024


@dataclass
class Case:
    who: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str | None = None
    form: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None

    def __str__(self) -> str:
        return f"{self.who} {self.method} {self.path} {sorted(self.params)}"


def routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, path, route) of every route, routers included (FastAPI includes them lazily)."""

    def walk(items: Any) -> Iterator[Any]:
        for item in items:
            if hasattr(item, "effective_route_contexts"):
                yield from item.effective_route_contexts()
            elif isinstance(item, APIRoute):
                yield item

    for route in walk(app.routes):
        for method in sorted(set(route.methods or ()) - {"HEAD", "OPTIONS"}):
            yield method, route.path, route


def filled(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value.replace("/", "%2F").replace("?", "%3F"), path)


def path_values(number: str) -> list[str]:
    return [number, "1", "0", "-1", "9223372036854775808", "99999999999999999999", "abc", "中文"]


def query_names(dependant: Any) -> list[str]:
    names = [param.alias for param in dependant.query_params]
    for sub in dependant.dependencies:
        names += query_names(sub)
    return sorted(set(names))


def field_names(route: Any) -> list[str]:
    body = route.body_field
    if body is None:
        return []
    annotation = getattr(body.field_info, "annotation", None) or getattr(body, "type_", None)
    fields = getattr(annotation, "model_fields", None)
    return list(fields) if fields else [body.name]


def cases_for(app: Any, number: str) -> list[Case]:
    cases: list[Case] = []
    for method, path, route in routes(app):
        queries = query_names(route.dependant)
        for who in ("anonymous", "token", "staff"):
            for value in path_values(number):
                cases.append(Case(who, method, filled(path, value)))
            target = filled(path, number)
            for name in queries:
                for text in QUERY_TEXT[:: 1 if who == "token" else 4]:
                    cases.append(Case(who, method, target, params={name: text}))
            if method in {"POST", "PUT", "PATCH"}:
                bodies = HOSTILE_BODIES if who != "anonymous" else HOSTILE_BODIES[::3]
                for body in bodies:
                    cases.append(
                        Case(who, method, target, content=body, content_type="application/json")
                    )
                cases.append(Case(who, method, target, content=b"x=1", content_type="text/plain"))
                cases.append(
                    Case(who, method, target, content=b"<a>1</a>", content_type="application/xml")
                )
                names = field_names(route)
                for name in names:
                    for value in HOSTILE_VALUES:
                        try:
                            encoded = json.dumps({name: value}).encode()
                        except ValueError:
                            continue
                        cases.append(
                            Case(
                                who,
                                method,
                                target,
                                content=encoded,
                                content_type="application/json",
                            )
                        )
                if who == "staff":
                    for text in HOSTILE_TEXT[::3]:
                        form = {name: text for name in names or ["text"]}
                        cases.append(Case(who, method, target, form=form))
    return cases


def upload_cases(number: str) -> list[Case]:
    """Uploads and oversized bodies on the routes that take files or long texts."""
    cases = []
    for who in ("anonymous", "token", "staff"):
        for path in (f"/api/v1/tickets/{number}/attachments", "/open311/v2/requests.json"):
            cases.append(
                Case(who, "POST", path, files={"media": ("x.png", BROKEN_IMAGE, "image/png")})
            )
            cases.append(Case(who, "POST", path, files={"media": ("x.png", b"", "image/png")}))
            cases.append(
                Case(who, "POST", path, files={"media": ("../../x.php", b"<?php", "image/jpeg")})
            )
    big = b"{" + b" " * FIFTY_MB + b"}"
    for path in ("/api/v1/tickets", "/chat/api/messages", "/open311/v2/requests.json"):
        cases.append(Case("token", "POST", path, content=big, content_type="application/json"))
    return cases


@pytest.fixture
def prepared(client: TestClient, settings: Settings) -> tuple[TestClient, str]:
    """A ticket to aim at, and a hotline operator signed in."""
    number = file(client)
    add_user(settings, "lili", Role.STAFF)
    assert login(client, "lili") in (302, 303)
    return client, number


def send(client: TestClient, case: Case, staff_cookies: dict[str, str], csrf_token: str) -> Any:
    headers: dict[str, str] = {}
    client.cookies.clear()
    if case.who == "staff":
        client.cookies.update(staff_cookies)
    if case.who == "token":
        headers["Authorization"] = f"Bearer {TOKEN}"
    kwargs: dict[str, Any] = {"params": case.params, "headers": headers, "follow_redirects": False}
    if case.content is not None:
        kwargs["content"] = case.content
        headers["Content-Type"] = case.content_type or "application/octet-stream"
    if case.form is not None:
        kwargs["data"] = {**case.form, "csrf_token": csrf_token}
    if case.files is not None:
        kwargs["files"] = case.files
        kwargs["data"] = {"csrf_token": csrf_token, "api_key": TOKEN}
    return client.request(case.method, case.path, **kwargs)


def problems(case: Case, response: Any) -> list[str]:
    found = []
    # Rasa is down in these tests (nothing listens on its port): the web chat's 503 with its
    # Chinese "try again" is the designed answer to that, not a failure of the app.
    unavailable = response.status_code == 503 and CJK.search(response.text)
    if response.status_code >= 500 and not unavailable:
        found.append(f"{response.status_code}: {response.text[:200]}")
    kind = response.headers.get("content-type", "")
    if 400 <= response.status_code < 500 and "json" in kind and not CJK.search(response.text):
        found.append(f"{response.status_code} without a Chinese message: {response.text[:200]}")
    if "html" in kind and XSS in response.text:
        found.append("script payload echoed unescaped")
    return found


def test_hostile_inputs_never_get_a_500(prepared: tuple[TestClient, str]) -> None:
    client, number = prepared
    staff_cookies = dict(client.cookies)
    token = csrf(client)
    cases = [
        case
        for case in cases_for(client.app, number) + upload_cases(number)
        if not (case.who == "staff" and case.path == "/logout")  # stays signed in throughout
    ]
    assert len(cases) >= 500
    failures: list[str] = []
    for case in cases:
        response = send(client, case, staff_cookies, token)
        failures.extend(f"{case}: {problem}" for problem in problems(case, response))
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures[:40])
