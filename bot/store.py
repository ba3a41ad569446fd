"""The bot's local SQLite store: what must survive a restart.

* ``job`` — resident input waiting for Rasa or the case store, processed in order per user.
  Keys derive from the Telegram ``update_id``, so a redelivered update adds nothing.
* ``outgoing`` — every message the bot sends, written before it is sent and marked part by
  part, so a restart neither loses nor repeats a reply.
* ``button`` — inline-keyboard payloads behind the short tokens put in ``callback_data``
  (Telegram allows 64 bytes; Rasa payloads are longer).
* ``notification`` — case-store notification ids recorded before they are acknowledged.
* ``seen_update`` / ``setting`` — processed update ids and the polling offset.
* ``field_person`` — Telegram users checked against the case store's linked accounts (grid
  workers, volunteers): their role and name, or that they are not linked (residents).
* ``field_state`` — a linked person's pending input (a draft awaiting 确认, a resolve note
  and photos being collected, a coordination reason asked for).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT,
    created_at REAL NOT NULL,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS ix_job_pending ON job (user_id, done_at, id);
CREATE TABLE IF NOT EXISTS outgoing (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    buttons TEXT NOT NULL,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS ix_outgoing_unsent ON outgoing (chat_id, sent_at, id);
CREATE TABLE IF NOT EXISTS button (
    token TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    payload TEXT NOT NULL,
    display_text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notification (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    acknowledged_at REAL
);
CREATE TABLE IF NOT EXISTS seen_update (
    update_id INTEGER PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS busy_notice (
    user_id INTEGER PRIMARY KEY,
    told_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS field_person (
    user_id INTEGER PRIMARY KEY,
    linked INTEGER NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    role_label TEXT NOT NULL,
    checked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS field_state (
    user_id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS setting (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

DAY = 86400.0
RecordT = TypeVar("RecordT", bound="DataclassInstance")


@dataclass(frozen=True)
class Button:
    """A button as Rasa and the case store describe it."""

    title: str
    payload: str
    display_text: str | None = None


@dataclass(frozen=True)
class StoredButton:
    token: str
    chat_id: int
    title: str
    payload: str
    display_text: str


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    user_id: int
    chat_id: int
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Outgoing:
    id: int
    chat_id: int
    text: str
    buttons: list[dict[str, str]]  # [{"title": ..., "token": ...}]
    parts_sent: int


@dataclass(frozen=True)
class NewJob:
    key: str
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class FieldPerson:
    """A Telegram user linked to a console account (grid worker, volunteer …)."""

    user_id: int
    username: str
    display_name: str
    role: str
    role_label: str
    checked_at: float


@dataclass(frozen=True)
class NewMessage:
    text: str
    buttons: Sequence[Button] = ()


def _record(kind: type[RecordT], row: sqlite3.Row, *json_columns: str) -> RecordT:
    """The record from the row's columns of the same names, the ``json_columns`` decoded."""
    values = {f.name: row[f.name] for f in fields(kind)}
    for column in json_columns:
        values[column] = json.loads(values[column])
    return kind(**values)


class Store:
    """One SQLite connection used from the bot's event loop (calls are short and local)."""

    def __init__(self, path: Path | str, *, clock: Any = time.time) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- updates and polling offset -------------------------------------------------------

    def update_seen(self, update_id: int) -> bool:
        row = self._db.execute("SELECT 1 FROM seen_update WHERE update_id = ?", (update_id,))
        return row.fetchone() is not None

    def finish_update(self, update_id: int, *, next_offset: int | None = None) -> None:
        """Mark an update handled and, when polling, move the offset past it."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO seen_update (update_id, seen_at) VALUES (?, ?)",
                (update_id, self._clock()),
            )
            if next_offset is not None:
                db.execute(
                    "INSERT INTO setting (name, value) VALUES ('offset', ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (str(next_offset),),
                )

    def polling_offset(self) -> int | None:
        row = self._db.execute("SELECT value FROM setting WHERE name = 'offset'").fetchone()
        return int(row["value"]) if row else None

    # -- jobs ----------------------------------------------------------------------------

    def add_jobs(self, *, user_id: int, chat_id: int, jobs: Sequence[NewJob]) -> int:
        """Queue jobs; keys already present are ignored. Returns how many were new."""
        added = 0
        with self._transaction() as db:
            for job in jobs:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO job (key, user_id, chat_id, kind, data, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        job.key,
                        user_id,
                        chat_id,
                        job.kind,
                        json.dumps(job.data, ensure_ascii=False),
                        self._clock(),
                    ),
                )
                added += cursor.rowcount
        return added

    def next_job(self, user_id: int) -> Job | None:
        row = self._db.execute(
            "SELECT * FROM job WHERE user_id = ? AND done_at IS NULL ORDER BY id LIMIT 1",
            (user_id,),
        ).fetchone()
        return None if row is None else _record(Job, row, "data")

    def users_with_pending_jobs(self) -> list[int]:
        rows = self._db.execute("SELECT DISTINCT user_id FROM job WHERE done_at IS NULL")
        return [int(r["user_id"]) for r in rows]

    def finish_job(self, job: Job, messages: Sequence[NewMessage] = ()) -> None:
        """Mark a job done and queue its replies in one transaction.

        The job's content is dropped once done: the bot keeps resident text only while it
        still has to be processed.
        """
        with self._transaction() as db:
            for index, message in enumerate(messages):
                self._insert_outgoing(db, f"{job.key}/reply{index}", job.chat_id, message)
            db.execute(
                "UPDATE job SET done_at = ?, data = '{}' WHERE id = ?", (self._clock(), job.id)
            )

    # -- busy notices ----------------------------------------------------------------------

    def tell_busy_once(self, *, user_id: int, chat_id: int, key: str, text: str) -> bool:
        """Queue the "service busy" notice unless this outage was already announced."""
        return self._queue_once(
            "INSERT OR IGNORE INTO busy_notice (user_id, told_at) VALUES (?, ?)",
            user_id,
            key=f"{key}/busy",
            chat_id=chat_id,
            message=NewMessage(text),
        )

    def clear_busy(self, user_id: int) -> None:
        self._db.execute("DELETE FROM busy_notice WHERE user_id = ?", (user_id,))

    # -- outgoing messages ---------------------------------------------------------------------

    def add_outgoing(self, *, key: str, chat_id: int, message: NewMessage) -> bool:
        with self._transaction() as db:
            return self._insert_outgoing(db, key, chat_id, message)

    def _queue_once(
        self, mark: str, marked_id: int, *, key: str, chat_id: int, message: NewMessage
    ) -> bool:
        """Queue the message unless ``mark`` was made before, in one transaction.

        ``mark`` is an ``INSERT OR IGNORE`` of ``(marked_id, now)``; False if its row existed.
        """
        with self._transaction() as db:
            if not db.execute(mark, (marked_id, self._clock())).rowcount:
                return False
            self._insert_outgoing(db, key, chat_id, message)
            return True

    def _insert_outgoing(
        self, db: sqlite3.Connection, key: str, chat_id: int, message: NewMessage
    ) -> bool:
        exists = db.execute("SELECT 1 FROM outgoing WHERE key = ?", (key,)).fetchone()
        if exists:
            return False
        buttons = []
        for button in message.buttons:
            token = secrets.token_urlsafe(9)  # 12 characters, well under the 64-byte limit
            db.execute(
                "INSERT INTO button (token, chat_id, title, payload, display_text, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token,
                    chat_id,
                    button.title,
                    button.payload,
                    button.display_text or button.title,
                    self._clock(),
                ),
            )
            buttons.append({"title": button.title, "token": token})
        db.execute(
            "INSERT INTO outgoing (key, chat_id, text, buttons, created_at) VALUES (?, ?, ?, ?, ?)",
            (key, chat_id, message.text, json.dumps(buttons, ensure_ascii=False), self._clock()),
        )
        return True

    def unsent(self, chat_id: int) -> list[Outgoing]:
        rows = self._db.execute(
            "SELECT * FROM outgoing WHERE chat_id = ? AND sent_at IS NULL ORDER BY id", (chat_id,)
        )
        return [_record(Outgoing, r, "buttons") for r in rows]

    def chats_with_unsent(self) -> list[int]:
        rows = self._db.execute("SELECT DISTINCT chat_id FROM outgoing WHERE sent_at IS NULL")
        return [int(r["chat_id"]) for r in rows]

    def mark_part_sent(self, outgoing_id: int, parts_sent: int) -> None:
        self._db.execute(
            "UPDATE outgoing SET parts_sent = ? WHERE id = ?", (parts_sent, outgoing_id)
        )

    def mark_sent(self, outgoing_id: int) -> None:
        self._db.execute(
            "UPDATE outgoing SET sent_at = ?, text = '' WHERE id = ?", (self._clock(), outgoing_id)
        )

    # -- buttons -----------------------------------------------------------------------

    def button(self, token: str) -> StoredButton | None:
        row = self._db.execute("SELECT * FROM button WHERE token = ?", (token,)).fetchone()
        return None if row is None else _record(StoredButton, row)

    # -- case-store notifications ------------------------------------------------------------

    def record_notification(
        self, *, notification_id: int, chat_id: int, message: NewMessage
    ) -> bool:
        """Queue a notification for sending; False if this id was recorded before."""
        return self._queue_once(
            "INSERT OR IGNORE INTO notification (id, received_at) VALUES (?, ?)",
            notification_id,
            key=f"notification:{notification_id}",
            chat_id=chat_id,
            message=message,
        )

    def mark_acknowledged(self, notification_id: int) -> None:
        self._db.execute(
            "UPDATE notification SET acknowledged_at = ? WHERE id = ?",
            (self._clock(), notification_id),
        )

    # -- field desk: linked people and their pending input ------------------------------------

    def field_person(self, user_id: int) -> FieldPerson | None:
        """The linked person of this Telegram user, as last checked; None for residents."""
        row = self._db.execute(
            "SELECT * FROM field_person WHERE user_id = ? AND linked = 1", (user_id,)
        ).fetchone()
        return None if row is None else _record(FieldPerson, row)

    def field_checked_at(self, user_id: int) -> float | None:
        """When this user was last checked against the case store (linked or not)."""
        row = self._db.execute(
            "SELECT checked_at FROM field_person WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else float(row["checked_at"])

    def remember_field_person(
        self,
        user_id: int,
        *,
        linked: bool,
        username: str = "",
        display_name: str = "",
        role: str = "",
        role_label: str = "",
    ) -> None:
        """Record what the case store said about this user (unlinking drops pending input)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO field_person (user_id, linked, username, display_name, role, "
                "role_label, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO "
                "UPDATE SET linked = excluded.linked, username = excluded.username, "
                "display_name = excluded.display_name, role = excluded.role, "
                "role_label = excluded.role_label, checked_at = excluded.checked_at",
                (user_id, int(linked), username, display_name, role, role_label, self._clock()),
            )
            if not linked:
                db.execute("DELETE FROM field_state WHERE user_id = ?", (user_id,))

    def field_state(self, user_id: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT state FROM field_state WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None:
            return None
        state = json.loads(row["state"])
        return state if isinstance(state, dict) else None

    def set_field_state(self, user_id: int, state: dict[str, Any] | None) -> None:
        """Replace the user's pending input; None clears it."""
        if state is None:
            self._db.execute("DELETE FROM field_state WHERE user_id = ?", (user_id,))
            return
        self._db.execute(
            "INSERT INTO field_state (user_id, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at",
            (user_id, json.dumps(state, ensure_ascii=False), self._clock()),
        )

    # -- housekeeping --------------------------------------------------------------------

    def purge(self, *, keep_days: float = 7.0, keep_buttons_days: float = 60.0) -> None:
        """Forget finished work after a while (Telegram redelivers updates for 24 h at most)."""
        now = self._clock()
        with self._transaction() as db:
            db.execute("DELETE FROM job WHERE done_at < ?", (now - keep_days * DAY,))
            db.execute("DELETE FROM outgoing WHERE sent_at < ?", (now - keep_days * DAY,))
            db.execute("DELETE FROM seen_update WHERE seen_at < ?", (now - keep_days * DAY,))
            db.execute("DELETE FROM button WHERE created_at < ?", (now - keep_buttons_days * DAY,))
            # Pending field input is abandoned after a while; "not linked" is checked again.
            db.execute("DELETE FROM field_state WHERE updated_at < ?", (now - keep_days * DAY,))
            db.execute(
                "DELETE FROM field_person WHERE linked = 0 AND checked_at < ?",
                (now - keep_days * DAY,),
            )
