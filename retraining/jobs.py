"""Training jobs started from the console: in the background, cancellable.

A job runs the training pipeline (``pipeline.train_candidate``) in a thread of the app, with
Rasa's output and the stages in a log file that the job page polls. One job at a time,
whatever started it: the slot is a row in the database (``job_slot``), not this process's
memory. The admin then decides on activation.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.db import session_scope
from core.settings import Settings
from retraining import job_slot, pipeline
from retraining.models import JobStatus, TrainingJob
from retraining.workspace import Workspace

log = logging.getLogger(__name__)

JobConflictError = job_slot.JobConflictError  # another job runs, whoever started it


@dataclass(frozen=True)
class JobConfig:
    """Where jobs read and write: ``JobConfig.from_settings(settings)``."""

    workspace: Workspace
    log_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> JobConfig:
        return cls(workspace=Workspace.from_settings(settings), log_dir=settings.training_log_dir)


class JobRunner:
    """Runs this app process's training job; the slot itself is in the database
    (``job_slot``), shared with ``petition train`` and other processes."""

    def __init__(self, factory: sessionmaker[Session], config: JobConfig) -> None:
        self._factory = factory
        self._log_dir = config.log_dir
        self._workspace = config.workspace
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled: set[int] = set()
        self._thread: threading.Thread | None = None
        self._current: int | None = None

    def recover(self) -> None:
        """Jobs left 'running' by a process that is gone were interrupted (those of a
        ``petition train`` still running are not)."""
        with session_scope(self._factory) as session:
            job_slot.reap(session)

    def start(self, actor: str) -> int:
        """Claim the slot and train in a thread; JobConflictError while any job runs."""
        with self._lock:
            claim = job_slot.claim(self._factory, actor=actor, log_dir=self._log_dir)
            self._current = claim.job_id
            self._thread = threading.Thread(
                target=self._run, args=(claim, actor), name=f"training-job-{claim.job_id}",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
            return claim.job_id

    def owns(self, job_id: int) -> bool:
        """Whether the job runs in this process (only then can it be cancelled here)."""
        return self._current == job_id

    def cancel(self, job_id: int, actor: str) -> bool:
        """Stop the job's training process; False when it is not running here."""
        if not self.owns(job_id):
            return False
        with session_scope(self._factory) as session:
            job = session.get(TrainingJob, job_id)
            if job is None or job.status != JobStatus.RUNNING:
                return False
            self._cancelled.add(job_id)
            audit.record(
                session, actor=actor, action="train_cancel", object_type="training_job",
                object_id=job_id,
            )  # fmt: skip
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _check_cancelled(self, job_id: int) -> None:
        if job_id in self._cancelled:
            raise _Cancelled

    def _remember(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    def _log_path(self, job_id: int) -> Path:
        return self._log_dir / f"job-{job_id}.log"

    def _log(self, job_id: int, text: str) -> None:
        job_slot.log(self._log_path(job_id), text)

    def _run(self, claim: job_slot.Claim, actor: str) -> None:
        job_id = claim.job_id
        try:
            pipeline.train_candidate(
                self._factory, workspace=self._workspace, actor=actor,
                hooks=_JobHooks(self, job_id), job_id=job_id,
            )  # fmt: skip
            job_slot.finish(self._factory, job_id, JobStatus.SUCCEEDED)
        except _Cancelled:
            self._log(job_id, "任务已取消\n")
            job_slot.finish(self._factory, job_id, JobStatus.CANCELLED, "已取消")
        except Exception as exc:  # a failed job must be visible, never a dead thread
            if job_id in self._cancelled:
                job_slot.finish(self._factory, job_id, JobStatus.CANCELLED, "已取消")
                return
            log.exception("training job %s failed", job_id)
            self._log(job_id, traceback.format_exc())
            reason = str(exc)[:500] or exc.__class__.__name__
            job_slot.finish(self._factory, job_id, JobStatus.FAILED, reason)
        finally:
            self._process = None
            self._cancelled.discard(job_id)
            self._current = None
            claim.release()


class _JobHooks(pipeline.Hooks):
    """A job's view of the pipeline: stages and log lines in the job, cancel between stages."""

    def __init__(self, runner: JobRunner, job_id: int) -> None:
        self._runner = runner
        self._job_id = job_id

    def stage(self, stage: str) -> None:
        self._runner._check_cancelled(self._job_id)

    def training_output(self) -> IO[bytes]:
        return open(self._runner._log_path(self._job_id), "ab")

    def training_started(self, process: subprocess.Popen[bytes]) -> None:
        self._runner._remember(process)


class _Cancelled(Exception):
    pass


def get_job(*, session: Session, job_id: int) -> TrainingJob | None:
    return session.get(TrainingJob, job_id)


def running_job(*, session: Session) -> TrainingJob | None:
    """The running job, whoever started it (the console, ``petition train``, …)."""
    return job_slot.running_job(session)


def recent_jobs(*, session: Session, limit: int = 10) -> list[TrainingJob]:
    """The latest training jobs, newest first."""
    query = select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit)
    return list(session.scalars(query).all())


def read_log(path: str, offset: int = 0, limit: int = 65536) -> tuple[str, int]:
    """Part of a job's log from ``offset`` (bytes), for the live view."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read(limit)
    except FileNotFoundError:
        return "", offset
    return chunk.decode("utf-8", errors="replace"), offset + len(chunk)
