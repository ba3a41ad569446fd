"""Training jobs started from the console: one at a time, in the background, cancellable.

A job runs the training pipeline (``pipeline.train_candidate``) in a thread of the app, with
Rasa's output and the stages in a log file that the job page polls. The admin then decides on
activation.
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
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.clock import utcnow
from core.db import session_scope
from core.settings import Settings
from retraining import pipeline, trainer
from retraining.models import JobStatus, ModelVersion, TrainingJob
from retraining.workspace import Workspace

log = logging.getLogger(__name__)


class JobConflictError(RuntimeError):
    """Another training job is still running."""


@dataclass(frozen=True)
class JobConfig:
    """Where jobs read and write: ``JobConfig.from_settings(settings)``."""

    workspace: Workspace
    log_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> JobConfig:
        return cls(workspace=Workspace.from_settings(settings), log_dir=settings.training_log_dir)


class JobRunner:
    """Owns the one running job of this app process."""

    def __init__(self, factory: sessionmaker[Session], config: JobConfig) -> None:
        self._factory = factory
        self._log_dir = config.log_dir
        self._workspace = config.workspace
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled: set[int] = set()
        self._thread: threading.Thread | None = None

    def recover(self) -> None:
        """Jobs left 'running' by a previous process were interrupted."""
        with session_scope(self._factory) as session:
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.status == JobStatus.RUNNING)
                .values(status=JobStatus.FAILED, error="服务重启，任务中断", finished_at=utcnow())
            )

    def start(self, actor: str) -> int:
        with self._lock:
            with session_scope(self._factory) as session:
                running = session.scalars(
                    select(TrainingJob).where(TrainingJob.status == JobStatus.RUNNING)
                ).first()
                if running is not None:
                    raise JobConflictError(f"训练任务 #{running.id} 正在进行，请等待完成或先取消")
                job = TrainingJob(
                    status=JobStatus.RUNNING,
                    stage="export",
                    requested_by=actor,
                    created_at=utcnow(),
                )
                session.add(job)
                session.flush()
                self._log_dir.mkdir(parents=True, exist_ok=True)
                job.log_path = str(self._log_path(job.id))
                audit.record(
                    session, actor=actor, action="train_start", object_type="training_job",
                    object_id=job.id,
                )  # fmt: skip
                job_id = job.id
            self._thread = threading.Thread(
                target=self._run, args=(job_id, actor), name=f"training-job-{job_id}", daemon=True
            )
            self._thread.start()
            return job_id

    def cancel(self, job_id: int, actor: str) -> bool:
        """Stop the job's training process; False when it is not running."""
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

    def _stage(self, job_id: int, stage: str) -> None:
        if job_id in self._cancelled:
            raise _Cancelled
        with session_scope(self._factory) as session:
            job = session.get(TrainingJob, job_id)
            assert job is not None
            job.stage = stage
        self._log(job_id, f"==> {pipeline.STAGES[stage]}\n")

    def _remember(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    def _log_path(self, job_id: int) -> Path:
        return self._log_dir / f"job-{job_id}.log"

    def _log(self, job_id: int, text: str) -> None:
        with open(self._log_path(job_id), "a", encoding="utf-8") as fh:
            fh.write(text)

    def _finish(self, job_id: int, status: JobStatus, error: str | None = None) -> None:
        with session_scope(self._factory) as session:
            job = session.get(TrainingJob, job_id)
            assert job is not None
            job.status, job.error, job.finished_at = status, error, utcnow()
            if status == JobStatus.SUCCEEDED:
                job.stage = "done"

    def _run(self, job_id: int, actor: str) -> None:
        try:
            pipeline.train_candidate(
                self._factory, workspace=self._workspace, actor=actor, hooks=_JobHooks(self, job_id)
            )
            self._finish(job_id, JobStatus.SUCCEEDED)
        except _Cancelled:
            self._log(job_id, "任务已取消\n")
            self._finish(job_id, JobStatus.CANCELLED, "已取消")
        except Exception as exc:  # a failed job must be visible, never a dead thread
            if job_id in self._cancelled:
                self._finish(job_id, JobStatus.CANCELLED, "已取消")
                return
            log.exception("training job %s failed", job_id)
            self._log(job_id, traceback.format_exc())
            self._finish(job_id, JobStatus.FAILED, str(exc)[:500] or exc.__class__.__name__)
        finally:
            self._process = None
            self._cancelled.discard(job_id)


class _JobHooks(pipeline.Hooks):
    """A job's view of the pipeline: stages and log lines in the job, cancel between stages."""

    def __init__(self, runner: JobRunner, job_id: int) -> None:
        self._runner = runner
        self._job_id = job_id

    def stage(self, stage: str) -> None:
        self._runner._stage(self._job_id, stage)

    def exported(self, count: int) -> None:
        self._runner._log(self._job_id, f"{count} 条已采纳样本加入训练数据\n")

    def training_output(self) -> IO[bytes]:
        return open(self._runner._log_path(self._job_id), "ab")

    def training_started(self, process: subprocess.Popen[bytes]) -> None:
        self._runner._remember(process)

    def registered(
        self, session: Session, version: ModelVersion, result: trainer.TrainResult
    ) -> None:
        job = session.get(TrainingJob, self._job_id)
        assert job is not None
        job.model_version_id = version.id

    def evaluated(self, comparison: dict[str, Any], seconds: float) -> None:
        self._runner._log(self._job_id, f"评估用时 {seconds:.0f} 秒\n")


class _Cancelled(Exception):
    pass


def get_job(*, session: Session, job_id: int) -> TrainingJob | None:
    return session.get(TrainingJob, job_id)


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
