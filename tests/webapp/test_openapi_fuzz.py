"""Property-based fuzzing of the app's OpenAPI schema (schemathesis): never a server error.

Every operation of the case-store API, Open311, grids, retraining and the web chat, with
values generated from its schema — valid and invalid — with the API token. Rasa is down in
these tests: the web chat's 503 "请稍后再试" is its designed answer to that.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from core.settings import Settings
from tests.app_fixtures import TOKEN
from webapp.app import create_app

CJK = re.compile(r"[\u4e00-\u9fff]")


def fuzzed_app(tmp_dir: str) -> FastAPI:
    from pathlib import Path

    from webapp.migrate import upgrade

    url = f"sqlite:///{Path(tmp_dir) / 'fuzz.db'}"
    upgrade(url)
    return create_app(
        Settings(
            database_url=url,
            casestore_api_token=TOKEN,
            rasa_url="http://127.0.0.1:9",
            rasa_token="rasa-token-for-fuzzing",
            var_dir=Path(tmp_dir) / "var",
            model_dir=Path(tmp_dir) / "models",
            training_log_dir=Path(tmp_dir) / "var" / "training",
            bot_state_path=Path(tmp_dir) / "var" / "bot.sqlite3",
            _env_file=None,  # type: ignore[call-arg]
        )
    )


# Schemathesis reads the schema when the module is collected, so the app is built then, on a
# database of its own in a temporary folder.
APP = fuzzed_app(tempfile.mkdtemp(prefix="fuzz-"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def lifespan() -> Iterator[None]:
    with TestClient(APP):  # runs the lifespan (the web chat's Rasa client)
        yield


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_with_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    if response.status_code == 503:
        assert CJK.search(response.text), response.text
        return
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if 400 <= response.status_code < 500 and "json" in response.headers.get("content-type", ""):
        assert CJK.search(response.text), (case.method, case.path, response.text[:300])
