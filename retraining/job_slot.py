"""The one training slot: a ``training_job`` row held by every run, whatever started it.

A console job and ``petition train`` (another process) both train through
``pipeline.train_candidate``, which claims the slot: a 'running' row in the database. A
second claim is refused while the row is running, so only one training runs at a time and
the console shows the running one, wherever it was started. Claims are serialised by the
database (SQLite takes its write lock at BEGIN IMMEDIATE; PostgreSQL an advisory lock).

The row stays 'running' only while its owner lives: the owner holds an exclusive lock
(flock) on the job's log file, which the kernel drops when the process ends, however it
ends. A running row whose log nobody locks is a dead run, marked failed by ``reap`` instead
of blocking training for good. (The log folder must be shared by every process that
trains: it is ``TRAINING_LOG_DIR`` on the one host that trains.)
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from core import audit, labels
from core.clock import utcnow
from core.db import session_scope
from retraining.models import JobStatus, TrainingJob
from retraining.trainer import TrainingFailed

DEAD_OWNER = "训练进程已退出，任务中断"
_ADVISORY_KEY = 7_261_001  # PostgreSQL: one advisory lock for claiming the slot


class JobConflictError(TrainingFailed):
    """Another training job is running (message in Chinese)."""


@dataclass
class Claim:
    """A claimed slot: the job's row and the lock on its log that keeps it running."""

    job_id: int
    log_path: Path
    lock: IO[bytes]

    def release(self) -> None:
        """Closing the file drops the lock (after the row is finished)."""
        self.lock.close()


def _alive(log_path: str) -> bool:
    """Whether some process (this one included) holds the lock on a job's log."""
    if not log_path:
        return False
    try:
        fd = os.open(log_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock when this probe took it
    return False


def reap(session: Session) -> list[int]:
    """Mark failed the running jobs whose process is gone; their ids."""
    running = session.scalars(select(TrainingJob).where(TrainingJob.status == JobStatus.RUNNING))
    dead = [job for job in running if not _alive(job.log_path)]
    for job in dead:
        job.status, job.error, job.finished_at = JobStatus.FAILED, DEAD_OWNER, utcnow()
    session.flush()
    return [job.id for job in dead]


def running_job(session: Session) -> TrainingJob | None:
    """The running job, whoever started it (dead runs are marked failed first)."""
    reap(session)
    query = select(TrainingJob).where(TrainingJob.status == JobStatus.RUNNING)
    return session.scalars(query.order_by(TrainingJob.id)).first()


def conflict_message(job: TrainingJob) -> str:
    who = labels.actor_label(job.requested_by)
    return (
        f"训练任务 #{job.id} 正在进行（{who} 发起）：同一时间只能有一个训练任务，"
        "请等待它完成或先取消"
    )


def claim(factory: sessionmaker[Session], *, actor: str, log_dir: Path) -> Claim:
    """Start a job: its row (running) and its locked log; JobConflictError while one runs."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with session_scope(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        running = running_job(session)
        if running is not None:
            raise JobConflictError(conflict_message(running))
        job = TrainingJob(
            status=JobStatus.RUNNING, stage="export", requested_by=actor, created_at=utcnow()
        )
        session.add(job)
        session.flush()
        log_path = log_dir / f"job-{job.id}.log"
        lock = open(log_path, "ab")  # noqa: SIM115  (held until the run ends)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # before the row is visible
            job.log_path = str(log_path)
            audit.record(session, actor=actor, action="train_start", object_type="training_job",
                         object_id=job.id)  # fmt: skip
            job_id = job.id
            session.commit()
        except BaseException:
            lock.close()
            raise
    return Claim(job_id=job_id, log_path=log_path, lock=lock)


def set_stage(factory: sessionmaker[Session], job_id: int, stage: str) -> None:
    with session_scope(factory) as session:
        job = session.get(TrainingJob, job_id)
        if job is not None:
            job.stage = stage


def finish(
    factory: sessionmaker[Session], job_id: int, status: JobStatus, error: str | None = None
) -> None:
    with session_scope(factory) as session:
        job = session.get(TrainingJob, job_id)
        if job is None:
            return
        job.status, job.error, job.finished_at = status, error, utcnow()
        if status == JobStatus.SUCCEEDED:
            job.stage = "done"


def log(log_path: Path | str, line: str) -> None:
    with open(log_path, "a", encoding="utf-8") as fh:
        fh.write(line)
