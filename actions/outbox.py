"""Durable outbox of confirmed petitions not yet filed in the case store.

A SQLite file on the Rasa side. ``put`` is idempotent per submission key; the worker
(``python -m actions.outbox``) delivers pending entries with the same key, so the case store
files each of them exactly once even if a delivery is repeated after a timeout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_entry (
    submission_key TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | rejected
    ticket_number TEXT,
    delivered_at TEXT
)
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.row_factory = sqlite3.Row
        return db

    def put(self, key: str, payload: dict[str, Any]) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR IGNORE INTO outbox_entry (submission_key, payload, created_at) "
                "VALUES (?, ?, ?)",
                (key, json.dumps(payload, ensure_ascii=False), _now()),
            )

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT submission_key, payload, attempts FROM outbox_entry "
                "WHERE state = 'pending' ORDER BY created_at LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                "key": r["submission_key"],
                "payload": json.loads(r["payload"]),
                "attempts": r["attempts"],
            }
            for r in rows
        ]

    def entry(self, key: str) -> dict[str, Any] | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT * FROM outbox_entry WHERE submission_key = ?", (key,)
            ).fetchone()
        return dict(row) if row else None

    def mark_delivered(self, key: str, ticket_number: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE outbox_entry SET state='delivered', ticket_number=?, delivered_at=?, "
                "attempts=attempts+1 WHERE submission_key=?",
                (ticket_number, _now(), key),
            )

    def mark_failed(self, key: str, error: str, rejected: bool = False) -> None:
        # A rejected entry (4xx) stays in the file for an operator; it is never dropped.
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE outbox_entry SET attempts=attempts+1, last_error=?, state=? "
                "WHERE submission_key=?",
                (error[:500], "rejected" if rejected else "pending", key),
            )

    def counts(self) -> dict[str, int]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT state, COUNT(*) AS n FROM outbox_entry GROUP BY state")
            return {r["state"]: r["n"] for r in rows}


Poster = Callable[[dict[str, Any]], httpx.Response]


def deliver_pending(outbox: Outbox, post: Poster) -> int:
    """Try every pending entry once; returns how many were delivered."""
    delivered = 0
    for item in outbox.pending():
        try:
            response = post(item["payload"])
        except httpx.HTTPError as exc:
            outbox.mark_failed(item["key"], str(exc))
            log.info("outbox: case store still unreachable (%s)", exc)
            break  # no point hammering a store that is down
        if response.status_code in (200, 201):
            outbox.mark_delivered(item["key"], response.json()["number"])
            delivered += 1
        elif response.status_code >= 500:
            outbox.mark_failed(item["key"], f"HTTP {response.status_code}")
            break
        else:
            outbox.mark_failed(item["key"], f"HTTP {response.status_code}: {response.text}", True)
            log.error("outbox: case store rejected %s: %s", item["key"], response.text[:200])
    return delivered


def main(argv: list[str] | None = None) -> None:
    """Run the delivery loop (``--once`` for a single pass)."""
    from actions.settings import ActionSettings

    parser = argparse.ArgumentParser(description="Deliver queued petitions to the case store.")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s outbox %(message)s")
    settings = ActionSettings.from_env()
    outbox = Outbox(settings.outbox_path)
    headers = {"Authorization": f"Bearer {settings.casestore_api_token}"}
    with httpx.Client(
        base_url=settings.casestore_url, timeout=settings.casestore_timeout_seconds, headers=headers
    ) as client:

        def post(payload: dict[str, Any]) -> httpx.Response:
            return client.post("/api/v1/tickets", json=payload)

        while True:
            n = deliver_pending(outbox, post)
            if n:
                log.info("delivered %d queued petition(s); %s", n, outbox.counts())
            if args.once:
                return
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
