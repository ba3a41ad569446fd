"""The cheaper SQL tracker store reads and writes exactly what Rasa's SQLTrackerStore does."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from nlu.server import strict_tracker_store
from nlu.tracker_store import Checkpointer, DurableSQLTrackerStore, engine_kwargs

DOMAIN = Domain.from_dict(
    {
        "intents": ["report_problem", "affirm"],
        "slots": {"place": {"type": "text", "mappings": [{"type": "custom"}]}},
        "responses": {"utter_ask_place": [{"text": "请问具体在哪里？"}]},
    }
)


def turn(text: str, intent: str, at: float) -> list[Any]:
    return [
        UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=at),
        ActionExecuted("utter_ask_place", timestamp=at + 0.1),
        BotUttered("请问具体在哪里？", timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    # As Rasa logs them: the action after the events it returned, so a later timestamp.
    tracker.update(ActionExecuted("action_session_start", timestamp=1.2))
    tracker.update(SessionStarted(timestamp=1.1))
    tracker.update(ActionExecuted("action_listen", timestamp=1.3))
    for event in turn("路灯坏了", "report_problem", 2.0):
        tracker.update(event)
    return tracker


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Connection arguments of an empty database: a SQLite file, or a fresh PostgreSQL
    database on the TEST_POSTGRES_URL server."""
    strict_tracker_store()  # engine settings as nlu/server.py applies them
    if request.param == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
        return
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        pytest.skip("TEST_POSTGRES_URL not set")
    url = urlsplit(server)
    name = f"tracker_{uuid.uuid4().hex[:12]}"
    # The app's URL may name psycopg 3 (postgresql+psycopg://); Rasa's environment has psycopg2.
    admin = sa.create_engine(sa.engine.make_url(server).set(drivername="postgresql+psycopg2"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield {
            "dialect": "postgresql",
            "host": url.hostname,
            "port": url.port,
            "db": name,
            "username": url.username,
            "password": url.password,
        }
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def rows(store: SQLTrackerStore) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, timestamp, intent_name, action_name, data"
                    " FROM events ORDER BY id"
                )
            )
        ]


def test_writes_the_rows_rasas_store_writes(db: dict[str, Any], tmp_path: Path) -> None:
    ours = DurableSQLTrackerStore(domain=DOMAIN, **db)
    tracker = conversation("resident-1")
    asyncio.run(ours.save(tracker))
    for event in [SlotSet("place", "玉林小区3栋", timestamp=3.5), *turn("3栋", "affirm", 4.0)]:
        tracker.update(event)
    asyncio.run(ours.save(tracker))  # only the new events are added
    asyncio.run(ours.save(tracker))  # nothing new: nothing added

    theirs = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    reference = conversation("resident-1")
    asyncio.run(theirs.save(reference))
    for event in [SlotSet("place", "玉林小区3栋", timestamp=3.5), *turn("3栋", "affirm", 4.0)]:
        reference.update(event)
    asyncio.run(theirs.save(reference))
    assert rows(ours) == rows(theirs)
    assert len(rows(ours)) == len(tracker.events) == 12


def test_reads_back_the_latest_session_and_the_whole_history(db: dict[str, Any]) -> None:
    store = DurableSQLTrackerStore(domain=DOMAIN, **db)
    assert asyncio.run(store.retrieve("nobody")) is None
    tracker = conversation("resident-2")
    tracker.update(SlotSet("place", "玉林小区3栋", timestamp=3.0))
    asyncio.run(store.save(tracker))
    # A second session: the latest-session read starts there, the full read does not.
    for event in [ActionExecuted("action_session_start", timestamp=9.2), SessionStarted(9.1)]:
        tracker.update(event)
    for event in turn("又坏了", "report_problem", 10.0):
        tracker.update(event)
    asyncio.run(store.save(tracker))

    latest = asyncio.run(store.retrieve("resident-2"))
    assert latest is not None
    assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in tracker.events][8:]
    assert latest.get_slot("place") is None
    full = asyncio.run(store.retrieve_full_tracker("resident-2"))
    assert full is not None
    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in tracker.events]
    assert asyncio.run(store.retrieve("resident-3")) is None
    # A conversation that never started a session (e.g. events posted through the API): all.
    bare = DialogueStateTracker("resident-5", DOMAIN.slots)
    for event in turn("路灯坏了", "report_problem", 5.0):
        bare.update(event)
    asyncio.run(store.save(bare))
    read = asyncio.run(store.retrieve("resident-5"))
    assert read is not None and len(read.events) == 4

    # A tracker read this turn is saved without counting its stored events; saved twice,
    # nothing is written twice.
    for event in turn("就在3栋门口", "affirm", 11.0):
        latest.update(event)
    asyncio.run(store.save(latest))
    asyncio.run(store.save(latest))
    for event in turn("谢谢", "affirm", 12.0):
        latest.update(event)
    asyncio.run(store.save(latest))
    again = asyncio.run(store.retrieve_full_tracker("resident-2"))
    assert again is not None
    assert [e.as_dict() for e in again.events] == [
        *(e.as_dict() for e in tracker.events),
        *(e.as_dict() for e in list(latest.events)[-8:]),
    ]
    assert sorted(asyncio.run(store.keys())) == ["resident-2", "resident-5"]


def test_a_sqlite_file_is_kept_open_in_write_ahead_log_mode(tmp_path: Path) -> None:
    strict_tracker_store()
    path = tmp_path / "tracker.db"
    store = DurableSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))
    asyncio.run(store.save(conversation("resident-4")))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert isinstance(store.engine.pool, sa.pool.QueuePool)
    # No turn's commit runs a checkpoint (and its fsyncs): the store's own thread does.
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    assert store.checkpointer is not None and store.checkpointer.is_alive()
    with sqlite3.connect(path) as other:
        Checkpointer.checkpoint(other)
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, copied) == (0, frames) and frames > 0
    store.checkpointer.stop()
    assert not store.checkpointer.is_alive()
    # Another process (a second Rasa, a backup) reads the committed turn.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM events").fetchone() == (7,)


def test_postgresql_connections_are_checked_before_use() -> None:
    kwargs = engine_kwargs("postgresql://u@127.0.0.1:5432/rasa", {"pool_size": 50})
    assert kwargs == {"pool_size": 50, "pool_pre_ping": True}


def test_rasa_builds_it_from_the_endpoint_files() -> None:
    """Rasa falls back to an in-memory store, with only a warning, when the type named in
    the endpoint file cannot be imported: the name must resolve to this class."""
    from rasa.shared.utils.common import class_from_module_path

    root = Path(__file__).resolve().parents[2]
    for name in ("endpoints.yml", "endpoints-scale.yml"):
        text = (root / name).read_text(encoding="utf-8")
        assert "type: nlu.tracker_store.DurableSQLTrackerStore" in text
    assert class_from_module_path("nlu.tracker_store.DurableSQLTrackerStore") is (
        DurableSQLTrackerStore
    )
