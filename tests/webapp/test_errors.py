"""Bad input is a 4xx with a Chinese JSON ``detail``, never a 500 (webapp/errors.py)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.app_fixtures import draft_body
from webapp.app import create_app

JSON = {"Content-Type": "application/json"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def post_raw(
    client: TestClient, auth: dict[str, str], path: str, raw: str | bytes
) -> httpx.Response:
    content = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return client.post(path, content=content, headers={**auth, **JSON})


def assert_chinese_4xx(response: httpx.Response, *statuses: int) -> str:
    assert response.status_code in (statuses or (422,)), response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and HAN.search(detail), detail
    return detail


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"])
def test_non_finite_numbers_are_a_422_naming_the_field(
    client: TestClient, auth: dict[str, str], number: str
) -> None:
    draft = draft_body()
    draft.pop("nlu_confidence")
    raw = f'{{"nlu_confidence": {number}, {json.dumps(draft)[1:]}'
    detail = assert_chinese_4xx(post_raw(client, auth, "/api/v1/tickets", raw))
    assert "nlu_confidence" in detail


def test_input_that_json_cannot_encode_is_never_echoed(
    client: TestClient, auth: dict[str, str]
) -> None:
    for raw in ('{"x": NaN}', '{"x": 1e309}', '"\\ud800"', '["\\udfff", NaN]', "null"):
        response = post_raw(client, auth, "/api/v1/tickets", raw)
        assert_chinese_4xx(response)
        assert "input" not in response.text


def test_lone_surrogates_in_text_fields_are_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    raw = json.dumps(draft_body(description="下水道堵了 \ud800 三天"))  # ASCII: "\\ud800"
    response = post_raw(client, auth, "/api/v1/tickets", raw)
    assert_chinese_4xx(response, 400, 422)
    resolve = post_raw(client, auth, "/api/v1/grids/resolve", '{"text": "玉林\\udc00北路"}')
    assert_chinese_4xx(resolve, 400, 422)


def test_deeply_nested_and_malformed_json_is_a_4xx(
    client: TestClient, auth: dict[str, str]
) -> None:
    deep = "[" * 10000 + "]" * 10000
    assert_chinese_4xx(post_raw(client, auth, "/api/v1/tickets", deep), 400, 422)
    deep_field = '{"transcript": ' + "[" * 10000 + "]" * 10000 + "}"
    assert_chinese_4xx(post_raw(client, auth, "/api/v1/tickets", deep_field), 400, 422)
    detail = assert_chinese_4xx(post_raw(client, auth, "/api/v1/tickets", b"{not json"))
    assert "JSON" in detail
    assert_chinese_4xx(post_raw(client, auth, "/api/v1/tickets", b"\xff\xfe{"), 400, 422)


def test_messages_say_which_field_and_why(client: TestClient, auth: dict[str, str]) -> None:
    missing = client.post("/api/v1/tickets", json={}, headers=auth)
    assert "字段 category 为必填项" in assert_chinese_4xx(missing)
    wrong = client.get("/api/v1/tickets", params={"limit": "many"}, headers=auth)
    assert "字段 limit 必须是整数" in assert_chinese_4xx(wrong)
    too_big = client.get("/api/v1/tickets", params={"limit": 1000}, headers=auth)
    assert "字段 limit 必须小于或等于 200" in assert_chinese_4xx(too_big)
    ours = client.post("/api/v1/grids/resolve", json={"latitude": 30.6}, headers=auth)
    assert "经纬度必须同时提供" in assert_chinese_4xx(ours)
    body = client.post("/api/v1/tickets", json=draft_body(channel="fax"), headers=auth)
    detail = assert_chinese_4xx(body)
    assert "字段 channel" in detail and "webchat" in detail


def test_unknown_paths_and_methods_answer_in_chinese(client: TestClient) -> None:
    assert assert_chinese_4xx(client.get("/api/v1/nothing-here"), 404)
    assert_chinese_4xx(client.delete("/healthz"), 405)


def test_an_overflow_from_the_database_layer_is_not_a_500(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/test-overflow")
    def overflow(n: int = Query()) -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/test-overflow", params={"n": 2**70})
    assert_chinese_4xx(response, 404, 422)


def test_lone_surrogates_in_unchecked_fields_never_reach_the_database(
    client: TestClient, auth: dict[str, str]
) -> None:
    """Plain ``str`` and ``dict[str, Any]`` fields let them through pydantic; the ticket
    would be stored and every later read of it would fail."""
    candidates = [{"category": "\ud800x", "confidence": 0.5}]
    raw = json.dumps(draft_body(nlu_candidates=candidates))
    assert_chinese_4xx(post_raw(client, auth, "/api/v1/tickets", raw), 400, 422)
    assert client.get("/api/v1/tickets", headers=auth).json()["total"] == 0
    # A proper pair (an emoji written as two escapes) and an escaped backslash are fine.
    emoji = json.dumps(draft_body(description="下水道堵了 😀", submission_key="web-ok-000001"))
    assert "\\ud83d\\ude00" in emoji
    assert post_raw(client, auth, "/api/v1/tickets", emoji).status_code == 201
    text = json.dumps(draft_body(description="路径 \\ud800 三天", submission_key="web-ok-02"))
    assert post_raw(client, auth, "/api/v1/tickets", text).status_code == 201
    number = client.get("/api/v1/tickets", headers=auth).json()["items"][0]["number"]
    event = '{"kind": "handoff_requested", "data": {"note": "\\udc00"}}'
    response = post_raw(client, auth, f"/api/v1/tickets/{number}/events", event)
    assert_chinese_4xx(response, 400, 422)
