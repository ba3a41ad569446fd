"""Hotline intake (console/staff/intake.py): suggestions, validation, one ticket per form."""

from __future__ import annotations

import re
import sqlite3

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accounts.models import Role
from core.settings import Settings
from tests.console.staff_fixtures import AUTH, add_user, login


def form_fields(client: TestClient) -> tuple[str, str]:
    form = client.get("/intake").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    key = re.search(r'name="submission_key" value="([^"]+)"', form)
    assert token and key
    return token.group(1), key.group(1)


def form_body(token: str, key: str, **fields: str) -> dict[str, str]:
    """A filled intake form: a street-light call, with what a test changes."""
    return {
        "csrf_token": token,
        "submission_key": key,
        "description": "玉林北路路灯不亮",
        "location_text": "玉林北路",
        "category": "urban_construction",
        **fields,
    }


def test_hotline_intake_files_a_ticket(staff_client: TestClient) -> None:
    token, key = form_fields(staff_client)
    suggest = staff_client.post(
        "/intake/suggest",
        data={"csrf_token": token, "description": "玉林北路路灯不亮", "location_text": "玉林北路"},
    ).json()
    assert suggest["notice"] == "自动分类暂不可用，请手动选择分类"  # Rasa is down in these tests
    assert suggest["grids"] and suggest["grids"][0]["code"].startswith("510107")
    body = form_body(token, key, anonymous="on", caller_name="王女士")
    bad = staff_client.post("/intake", data={**body, "category": ""})
    assert bad.status_code == 422 and "请选择分类" in bad.text
    assert 'value="玉林北路"' in bad.text  # what was typed stays in the form
    created = staff_client.post("/intake", data=body, follow_redirects=False)
    assert created.status_code == 303
    number = created.headers["location"].split("/")[2].split("?")[0]
    detail = staff_client.get(f"/api/v1/tickets/{number}", headers=AUTH).json()
    assert detail["channel"] == "hotline" and detail["anonymous"] is True
    assert detail["caller_name"] is None  # an anonymous caller's name is not kept
    assert detail["events"][0]["actor"] == "staff:lili"
    assert detail["transcript"] == [{"role": "staff", "text": "玉林北路路灯不亮", "at": None}]


def test_the_same_filled_form_posted_twice_files_one_ticket(staff_client: TestClient) -> None:
    """Back after 登记工单, then 登记工单 again: the ticket already filed, not a second one."""
    token, key = form_fields(staff_client)
    body = form_body(token, key, contact_phone="13812345678")
    created = staff_client.post("/intake", data=body, follow_redirects=False)
    assert created.status_code == 303
    number = created.headers["location"].split("/")[2].split("?")[0]
    again = staff_client.post("/intake", data=body, follow_redirects=False)
    assert again.status_code == 200
    assert f'该工单已登记：工单号 <a href="/tickets/{number}">{number}</a>' in again.text
    assert key not in again.text  # what it offers is a fresh, empty form
    assert "玉林北路路灯不亮" not in again.text
    assert staff_client.get("/api/v1/tickets", headers=AUTH).json()["total"] == 1
    _, fresh = form_fields(staff_client)
    other = staff_client.post(
        "/intake", data={**body, "submission_key": fresh}, follow_redirects=False
    )  # a fresh form is a new call, even with the same words
    assert other.status_code == 303 and other.headers["location"] != created.headers["location"]
    assert staff_client.get("/api/v1/tickets", headers=AUTH).json()["total"] == 2


def test_back_never_brings_a_filled_form_under_a_fresh_key(staff_client: TestClient) -> None:
    """The form page is not kept in the HTTP cache (so Back cannot reuse a used key on an
    empty form), and the browser does not restore typed fields into a re-fetched page (so a
    fresh key never comes with the filled form of a ticket already filed); a page the
    back-forward cache restores whole keeps its own key, which the case store dedupes."""
    page = staff_client.get("/intake")
    assert page.headers["cache-control"] == "no-store"
    assert re.search(r'<form method="post" action="/intake" id="intake-form"[^>]*'
                     r'autocomplete="off"', page.text)  # fmt: skip
    token, key = form_fields(staff_client)
    refused = staff_client.post("/intake", data={"csrf_token": token, "submission_key": key})
    assert refused.status_code == 422 and refused.headers["cache-control"] == "no-store"


def test_intake_refuses_unknown_grids_short_text_and_missing_tokens(
    staff_client: TestClient,
) -> None:
    token, key = form_fields(staff_client)
    body = {"csrf_token": token, "submission_key": key, "category": "urban_construction",
            "anonymous": "on"}  # fmt: skip
    unknown = staff_client.post("/intake", data={**body, "description": "路灯不亮",
                                                 "grid_code": "999"})  # fmt: skip
    assert unknown.status_code == 422 and "未知的网格编码：999" in unknown.text
    short = staff_client.post("/intake", data={**body, "description": "灯"})
    assert short.status_code == 422 and "诉求内容至少2个字" in short.text
    suggest = staff_client.post("/intake/suggest", data={"csrf_token": token, "description": "灯"})
    assert suggest.status_code == 422 and suggest.json()["detail"] == "请先填写诉求内容"
    no_token = staff_client.post("/intake/suggest", data={"description": "路灯不亮"})
    assert no_token.status_code == 403


def test_a_submission_key_belongs_to_the_staff_member_who_got_the_form(
    client: TestClient, settings: Settings
) -> None:
    add_user(settings, "lili", Role.STAFF)
    add_user(settings, "zhang", Role.STAFF)
    assert login(client, "lili") == 303
    lili_token, lili_key = form_fields(client)
    body = {"description": "玉林北路路灯不亮", "category": "urban_construction", "anonymous": "on"}
    filed = client.post(
        "/intake", data={**body, "csrf_token": lili_token, "submission_key": lili_key},
        follow_redirects=False,
    )  # fmt: skip
    assert filed.status_code == 303
    client.cookies.clear()
    assert login(client, "zhang") == 303
    zhang_token, zhang_key = form_fields(client)
    assert zhang_key != lili_key
    for key in (lili_key, "hotline:" + "a" * 32, zhang_key.replace(".", "x.", 1), ""):
        replayed = client.post(
            "/intake", data={**body, "csrf_token": zhang_token, "submission_key": key},
            follow_redirects=False,
        )  # fmt: skip
        assert replayed.status_code == 422, key  # not lili's ticket, not a new one
        assert "表单已过期，请刷新页面后重新填写" in replayed.text
        assert lili_key not in replayed.text  # the page offers a key of zhang's own
    own = client.post(
        "/intake", data={**body, "csrf_token": zhang_token, "submission_key": zhang_key},
        follow_redirects=False,
    )  # fmt: skip
    assert own.status_code == 303 and own.headers["location"] != filed.headers["location"]
    tickets = client.get("/api/v1/tickets", headers=AUTH).json()
    assert tickets["total"] == 2


def test_suggest_holds_no_lock_while_it_waits_for_rasa(
    staff_client: TestClient, settings: Settings
) -> None:
    """Rasa may take 30 s: meanwhile another writer must get SQLite's write lock."""
    token, _ = form_fields(staff_client)
    database = settings.database_url.removeprefix("sqlite:///")
    probes: list[bool] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        if settings.database_url.startswith("sqlite"):
            other = sqlite3.connect(database, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                probes.append(True)
            except sqlite3.OperationalError:
                probes.append(False)
            finally:
                other.close()
        return httpx.Response(503)

    app = staff_client.app
    assert isinstance(app, FastAPI)
    app.state.rasa_client = httpx.AsyncClient(
        base_url="http://rasa.test", transport=httpx.MockTransport(rasa)
    )
    suggest = staff_client.post(
        "/intake/suggest", data={"csrf_token": token, "description": "玉林北路路灯不亮"}
    )
    assert suggest.status_code == 200 and suggest.json()["notice"]
    assert all(probes)


def test_the_callers_name_is_kept_shown_and_exported(staff_client: TestClient) -> None:
    token, key = form_fields(staff_client)
    body = form_body(token, key, contact_phone="13812345678", caller_name="王女士")
    too_long = staff_client.post("/intake", data={**body, "caller_name": "王" * 33})
    assert too_long.status_code == 422 and "来电人姓名最多32字" in too_long.text
    created = staff_client.post("/intake", data=body, follow_redirects=False)
    number = created.headers["location"].split("/")[2].split("?")[0]
    page = staff_client.get(f"/tickets/{number}").text
    assert '<dt>来电人</dt><dd id="caller-name">王女士</dd>' in page
    exported = staff_client.get("/export.csv", params={"view": "all"}).text
    assert "来电人" in exported.splitlines()[0] and "王女士" in exported
