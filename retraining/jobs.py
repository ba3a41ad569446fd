"""Training jobs started from the console: one at a time, in the background, cancellable.

A job exports the accepted examples, runs ``rasa train`` in the Rasa environment with its
output in a log file, registers the result as a model version and compares it with the
active model on the held-back set. The admin then decides on activation.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.clock import utcnow
from core.db import session_scope
from retraining import examples as examples
from retraining import trainer, versions
from retraining.models import JobStatus, TrainingJob

log = logging.getLogger(__name__)

STAGES = {
    "export": "导出已采纳的样本",
    "train": "训练模型（约3分钟）",
    "register": "登记模型版本",
    "evaluate": "在保留测试集上对比评估",
    "done": "完成",
}


class JobConflictError(RuntimeError):
    """Another training job is still running."""


@dataclass(frozen=True)
class JobConfig:
    project: Path
    models_dir: Path
    log_dir: Path
    training_config: Path
    rasa_url: str
    rasa_token: str


class JobRunner:
    """Owns the one running job of this app process."""

    def __init__(self, factory: sessionmaker[Session], config: JobConfig) -> None:
        self._factory = factory
        self._config = config
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
                self._config.log_dir.mkdir(parents=True, exist_ok=True)
                job.log_path = str(self._config.log_dir / f"job-{job.id}.log")
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
        self._log(job_id, f"==> {STAGES[stage]}\n")

    def _log(self, job_id: int, text: str) -> None:
        with open(self._config.log_dir / f"job-{job_id}.log", "a", encoding="utf-8") as fh:
            fh.write(text)

    def _finish(self, job_id: int, status: JobStatus, error: str | None = None) -> None:
        with session_scope(self._factory) as session:
            job = session.get(TrainingJob, job_id)
            assert job is not None
            job.status, job.error, job.finished_at = status, error, utcnow()
            if status == JobStatus.SUCCEEDED:
                job.stage = "done"

    def _run(self, job_id: int, actor: str) -> None:
        cfg = self._config
        try:
            self._stage(job_id, "export")
            with tempfile.TemporaryDirectory(prefix="petition-train-") as tmp:
                extra = Path(tmp) / "accepted.yml"
                with session_scope(self._factory) as session:
                    accepted = examples.accepted(session)
                    extra.write_text(examples.to_nlu_yaml(accepted), encoding="utf-8")
                    count = len(accepted)
                self._log(job_id, f"{count} 条已采纳样本加入训练数据\n")
                self._stage(job_id, "train")
                with open(cfg.log_dir / f"job-{job_id}.log", "ab") as log_file:
                    result = trainer.train(
                        project=cfg.project,
                        out_dir=Path(tmp),
                        name="candidate",
                        force=True,
                        extra_data=[extra],
                        config=cfg.training_config,
                        log=log_file,
                        on_start=self._remember,
                    )
                self._process = None
                if job_id in self._cancelled:
                    raise _Cancelled
                self._stage(job_id, "register")
                fingerprint = versions.data_fingerprint(cfg.project, [extra])
                with session_scope(self._factory) as session:
                    version = versions.register(
                        session,
                        model_file=result.model,
                        created_by=actor,
                        train_seconds=result.seconds,
                        fingerprint=fingerprint,
                        example_count=count,
                        models_dir=cfg.models_dir,
                    )
                    version_id = version.id
                    job = session.get(TrainingJob, job_id)
                    assert job is not None
                    job.model_version_id = version_id
            self._stage(job_id, "evaluate")
            started = time.monotonic()
            versions.evaluate_version(
                self._factory, version_id=version_id, project=cfg.project, models_dir=cfg.models_dir
            )
            self._log(job_id, f"评估用时 {time.monotonic() - started:.0f} 秒\n")
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

    def _remember(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process


class _Cancelled(Exception):
    pass


def read_log(path: str, offset: int = 0, limit: int = 65536) -> tuple[str, int]:
    """Part of a job's log from ``offset`` (bytes), for the live view."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read(limit)
    except FileNotFoundError:
        return "", offset
    return chunk.decode("utf-8", errors="replace"), offset + len(chunk)
