"""Rasa's SQL tracker store, with the per-turn work done in SQL rather than in the ORM.

Every turn Rasa reads the conversation's tracker and writes its new events. Rasa 3.6's
``SQLTrackerStore`` loads each event as an ORM object and inserts new ones one ORM object at
a time; profiled at 20 turns/s (``bench/load.py``, docs/benchmarks.md), that and SQLite's
commit were a third of the Rasa process's busy time. Here the same table and the same
queries are used, but only the ``data`` column is read, the new events of a tracker read in
this turn are known without a second query, they go in with one ``executemany``, and a
SQLite file is opened once, in write-ahead-log mode. Both endpoint files name it:
``type: nlu.tracker_store.DurableSQLTrackerStore``.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import threading
from typing import Any, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, is_postgresql_url
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2.0

# Set on a tracker this store read: how many of its events are already stored. Rasa counts
# them with a query on every save (``_additional_events``); a tracker read in this turn
# already knows, and the conversation's lock keeps other turns out until it is saved.
STORED = "_petition_stored_events"

# The events of a conversation's latest session, as SQLTrackerStore._event_query selects them.
LATEST_SESSION = sa.text(
    "SELECT data FROM events WHERE sender_id = :sender AND ("
    " timestamp >= (SELECT max(timestamp) FROM events"
    "  WHERE sender_id = :sender AND type_name = 'session_started')"
    " OR (SELECT max(timestamp) FROM events"
    "  WHERE sender_id = :sender AND type_name = 'session_started') IS NULL"
    ") ORDER BY id"
)


def engine_kwargs(url: Any, rasa_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``create_engine`` arguments for the tracker store's database.

    PostgreSQL: Rasa's pool settings, and pooled connections are checked before use
    (``pool_pre_ping``), so a restarted server is found at once instead of failing a turn.

    SQLite: a write-ahead log synced at checkpoints, and one kept connection. In SQLite's
    default rollback-journal mode every commit waits for several fsyncs on the event loop,
    and SQLAlchemy 1.4 opens a new connection (reading the schema again) for every session.
    In WAL mode with ``synchronous=NORMAL`` a commit survives a crash of Rasa (the process
    that fails); only a power loss can undo the last turns. One Sanic worker runs the
    tracker store on its event loop, so one connection is enough. The log is copied into
    the database (a checkpoint, with its fsyncs) by a thread of its own (``Checkpointer``),
    not by whichever turn's commit crosses the log's size limit.
    """
    if is_postgresql_url(url):
        return {**rasa_kwargs, "pool_pre_ping": True}
    path = sa.engine.make_url(url).database or ":memory:"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, check_same_thread=False, timeout=5.0)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")  # Checkpointer's thread does it
        return connection

    return {
        **rasa_kwargs,
        "creator": connect,
        "poolclass": sa.pool.QueuePool,
        "pool_size": 1,
        "max_overflow": 4,
    }


class Checkpointer(threading.Thread):
    """Copies a SQLite write-ahead log into its database every few seconds, off the event loop.

    A passive checkpoint neither waits for nor blocks the turns writing meanwhile; SQLite
    releases the GIL while it works.
    """

    def __init__(self, path: str, seconds: float = CHECKPOINT_SECONDS) -> None:
        super().__init__(name="tracker-checkpoint", daemon=True)
        self.path, self.seconds = path, seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
        try:
            while not self.stopped.wait(self.seconds):
                self.checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def checkpoint(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:  # the next round tries again; the log only grows
            log.warning("tracker store checkpoint failed: %s", error)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class DurableSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with the same table, reads and writes, at a fraction of the cost."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checkpointer: Optional[Checkpointer] = None
        path = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and path and path != ":memory:":
            self.checkpointer = Checkpointer(path)
            self.checkpointer.start()

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            if fetch_events_from_all_sessions:
                rows = (
                    self._event_query(session, sender_id, fetch_events_from_all_sessions=True)
                    .with_entities(self.SQLEvent.data)
                    .all()
                )
            else:  # every turn: Rasa's query, written out once rather than built each time
                rows = session.execute(LATEST_SESSION, {"sender": sender_id}).all()
        events = [json.loads(data) for (data,) in rows]
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = getattr(tracker, STORED, None)
            new_events = (
                self._additional_events(session, tracker)
                if stored is None
                else itertools.islice(tracker.events, stored, None)
            )
            rows = [
                event_row(tracker.sender_id, event.type_name, event.as_dict())
                for event in new_events
            ]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
            session.commit()
        if stored is not None:
            setattr(tracker, STORED, stored + len(rows))


def event_row(sender_id: str, type_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One row of Rasa's ``events`` table, filled as ``SQLTrackerStore.save`` fills it."""
    return {
        "sender_id": sender_id,
        "type_name": type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
