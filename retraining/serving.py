"""The model server: every Rasa worker or replica pulls the active model from here.

``GET /api/v1/models/active`` serves ``models/petition.tar.gz`` with a hash of it as the
ETag (Rasa's ``models:`` endpoint, pulled every few seconds; 304 when the worker already runs
it). Each pull names its worker (``X-Rasa-Worker``, sent by ``nlu/server.py``) and is written
down, so an activation knows when every worker has loaded the new model — a ``PUT /model``
would reach only the one worker that received it.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from core.db import session_scope
from core.deps import ServiceAuth, SessionDep, SettingsDep
from retraining.models import RasaWorker

ACTIVE_FILE = "petition.tar.gz"
WORKER_HEADER = "X-Rasa-Worker"
# A worker not heard from for this long is gone (stopped, restarted under a new pid); a
# worker loading a model does not pull meanwhile, so this is longer than any load.
LIVE_SECONDS = 90.0

router = APIRouter(prefix="/api/v1/models", tags=["models"], dependencies=[ServiceAuth])

_fingerprints: dict[tuple[str, int, int, int], str] = {}


def fingerprint_of(path: Path) -> str:
    """A model file's identity: sha256 of its bytes (cached by path, inode, size and mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _fingerprints:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _fingerprints[key] = digest.hexdigest()[:32]
    return _fingerprints[key]


def record_pull(session: Session, worker: str, *, running: str) -> None:
    """Note what a worker runs (its If-None-Match) and when it was last heard from."""
    row = session.get(RasaWorker, worker)
    if row is None:
        row = RasaWorker(name=worker, model_id=running)
        session.add(row)
    row.model_id, row.seen_at = running, utcnow()


def live_workers(session: Session) -> list[RasaWorker]:
    since = utcnow() - timedelta(seconds=LIVE_SECONDS)
    query = select(RasaWorker).where(RasaWorker.seen_at >= since).order_by(RasaWorker.name)
    return list(session.scalars(query))


def wait_for_workers(
    factory: sessionmaker[Session], model_id: str, *, timeout: float, poll: float = 0.5
) -> list[str] | None:
    """Until every live worker runs ``model_id`` (their names), or None at the timeout.

    No live worker at all counts as not yet: the switch is confirmed by Rasa, never assumed.
    """
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(factory) as session:
            workers = live_workers(session)
            if workers and all(w.model_id == model_id for w in workers):
                return [w.name for w in workers]
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


@router.get("/active", response_model=None)
def active_model(
    session: SessionDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header(max_length=128)] = None,
    x_rasa_worker: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    """The active model for a Rasa worker: 304 if it runs it already, else the file."""
    path = settings.model_dir / ACTIVE_FILE
    if not path.is_file():
        return Response(status_code=404)
    current = fingerprint_of(path)
    running = (if_none_match or "").strip('"')
    if x_rasa_worker:
        record_pull(session, x_rasa_worker, running=running)
    if running == current:
        return Response(status_code=304, headers={"ETag": current})
    return FileResponse(
        path,
        media_type="application/gzip",
        headers={"ETag": current, "filename": ACTIVE_FILE},
    )
