"""The model endpoint every Rasa worker pulls from, and what it learns about the workers."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from retraining import serving
from retraining.models import RasaWorker

WORKER = {serving.WORKER_HEADER: "host-a:101"}


def test_a_worker_gets_the_model_once_then_304(
    client: TestClient, settings: Settings, auth: dict[str, str]
) -> None:
    assert client.get("/api/v1/models/active").status_code == 401
    assert client.get("/api/v1/models/active", headers=auth).status_code == 404  # none yet
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    model = settings.model_dir / serving.ACTIVE_FILE
    model.write_bytes(b"model one")
    first = client.get("/api/v1/models/active", headers={**auth, **WORKER})
    assert first.status_code == 200 and first.content == b"model one"
    tag = first.headers["ETag"]
    assert tag == serving.fingerprint_of(model) and first.headers["filename"] == "petition.tar.gz"
    again = client.get("/api/v1/models/active", headers={**auth, **WORKER, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    model.write_bytes(b"model two, longer")  # an activation replaced the file
    changed = client.get("/api/v1/models/active", headers={**auth, **WORKER, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    too_long = {serving.WORKER_HEADER: "x" * 200}
    assert client.get("/api/v1/models/active", headers={**auth, **too_long}).status_code == 422


def test_every_live_worker_must_run_the_model(settings: Settings) -> None:
    factory: sessionmaker[Session] = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(factory) as session:
        assert serving.live_workers(session) == []
        serving.record_pull(session, "a:1", running="old")
        serving.record_pull(session, "b:2", running="new")
        gone = RasaWorker(name="c:3", model_id="old", seen_at=utcnow() - timedelta(hours=1))
        session.add(gone)  # stopped long ago: not waited for
    assert serving.wait_for_workers(factory, "new", timeout=0.2, poll=0.05) is None

    def a_loads_it() -> None:
        with session_scope(factory) as session:
            serving.record_pull(session, "a:1", running="new")

    threading.Timer(0.2, a_loads_it).start()
    assert serving.wait_for_workers(factory, "new", timeout=5, poll=0.05) == ["a:1", "b:2"]
