from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from core.db import make_engine, make_sessionmaker
from core.settings import ROOT, Settings
from core.taxonomy import Taxonomy, load_taxonomy
from webapp.app import create_app
from webapp.migrate import upgrade

TOKEN = "test-token-0123456789abcdef"


POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_ADMIN_URL else [])]


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (TEST_POSTGRES_URL names the server)."""
    assert POSTGRES_ADMIN_URL
    name = f"t_{uuid.uuid4().hex[:12]}"
    # Checked before use: the fault tests kill and restart the server in between.
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Every case-store test runs on SQLite, and on PostgreSQL when CI provides one."""
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(postgres_database())
        else:
            url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield Settings(
            database_url=url,
            casestore_api_token=TOKEN,
            rasa_url="http://127.0.0.1:9",  # nothing listens: Rasa is down in these tests
            rasa_token="rasa-token",
            # Runtime state of each test in its own folder, never the checkout's var/ or models/.
            var_dir=tmp_path / "var",
            model_dir=tmp_path / "models",
            training_log_dir=tmp_path / "var" / "training",
            bot_state_path=tmp_path / "var" / "bot.sqlite3",
            _env_file=None,  # type: ignore[call-arg]
        )


@pytest.fixture
def taxonomy() -> Taxonomy:
    return load_taxonomy(ROOT / "data" / "taxonomy.yml")


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def draft_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "submission_key": "web-abc12345-0001",
        "category": "urban_construction",
        "location_text": "玉林北路18号",
        "description": "玉林北路18号门口的下水道堵了三天，臭得很",
        "contact_phone": "13812345678",
        "channel": "webchat",
        "conversation_id": "web-abc12345",
        "nlu_confidence": 0.93,
        "nlu_candidates": [
            {"category": "urban_construction", "confidence": 0.93},
            {"category": "environmental_protection", "confidence": 0.05},
        ],
        "transcript": [{"role": "resident", "text": "下水道堵了"}],
    }
    body.update(overrides)
    return body
