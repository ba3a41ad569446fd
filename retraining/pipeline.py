"""The one training pipeline, behind ``petition train`` and the console's training jobs.

Every run holds the one training slot (``job_slot``): one training at a time, whether the
console or ``petition train`` started it. Accepted examples become extra NLU data;
``rasa train`` runs on the project's data, the runtime data under var/ and them; the model is
registered as a candidate version and compared with the active model on the held-back set.
Callers follow a run through ``Hooks`` (the CLI prints, a job writes its log and can be
cancelled); the admin then decides on activation.

No database transaction stays open while Rasa trains or evaluates (SQLite has one writer,
and the console must keep working): every step opens its own short session.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from retraining import examples, job_slot, trainer, versions
from retraining.models import JobStatus, ModelVersion, TrainingJob
from retraining.workspace import Workspace

STAGES = {
    "export": "导出已采纳的样本",
    "train": "训练模型（约3分钟）",
    "register": "登记模型版本",
    "evaluate": "在保留测试集上对比评估",
    "done": "完成",
}

OUTSIDE_CONSOLE = "此训练在控制台之外启动（如命令行 petition train），训练输出见启动它的终端\n"


class Hooks:
    """How a caller follows a run; the defaults do nothing.

    Any hook may raise to stop the run (a cancelled job raises from ``stage``).
    """

    def stage(self, stage: str) -> None:
        """A stage of ``STAGES`` begins (all but "done")."""

    def exported(self, count: int) -> None:
        """The accepted examples are written; ``count`` of them join the training data."""

    def training_output(self) -> AbstractContextManager[IO[bytes] | None]:
        """Where Rasa's output goes while it trains (None: the terminal)."""
        return nullcontext()

    def training_started(self, process: subprocess.Popen[bytes]) -> None:
        """``rasa train`` runs in its own process group (so it can be stopped)."""

    def registered(
        self, session: Session, version: ModelVersion, result: trainer.TrainResult
    ) -> None:
        """The model is a candidate version; ``session`` is the registration's transaction."""

    def evaluated(self, comparison: dict[str, Any], seconds: float) -> None:
        """The candidate was compared with the active model."""


@dataclass(frozen=True)
class Candidate:
    version_id: int
    name: str
    example_count: int
    train_seconds: float
    comparison: dict[str, Any]


def train_candidate(
    factory: sessionmaker[Session],
    *,
    workspace: Workspace,
    actor: str,
    hooks: Hooks | None = None,
    job_id: int | None = None,
) -> Candidate:
    """Train on the project data plus the accepted examples, register, compare; see module.

    Every run is a training job (``job_slot``): given ``job_id``, the caller claimed it and
    finishes it (the console's job runner); otherwise this run claims one (JobConflictError
    while another runs, whoever started it) and finishes it, however the run ends.
    """
    hooks = hooks or Hooks()
    if job_id is not None:
        return _train(factory, workspace=workspace, actor=actor, hooks=hooks, job_id=job_id)
    claim = job_slot.claim(factory, actor=actor, log_dir=workspace.log_dir)
    try:
        job_slot.log(claim.log_path, OUTSIDE_CONSOLE)
        candidate = _train(
            factory, workspace=workspace, actor=actor, hooks=hooks, job_id=claim.job_id
        )
    except BaseException as exc:
        reason = "已中断" if isinstance(exc, KeyboardInterrupt) else str(exc)[:500]
        job_slot.finish(factory, claim.job_id, JobStatus.FAILED, reason or type(exc).__name__)
        raise
    else:
        job_slot.finish(factory, claim.job_id, JobStatus.SUCCEEDED)
        return candidate
    finally:
        claim.release()


def _train(
    factory: sessionmaker[Session], *, workspace: Workspace, actor: str, hooks: Hooks, job_id: int
) -> Candidate:
    log_path = _log_path(factory, job_id)

    def stage(name: str) -> None:
        hooks.stage(name)  # may raise: a cancelled job stops here
        job_slot.set_stage(factory, job_id, name)
        job_slot.log(log_path, f"==> {STAGES[name]}\n")

    stage("export")
    with tempfile.TemporaryDirectory(prefix="petition-train-") as tmp:
        extra = Path(tmp) / "accepted.yml"
        with session_scope(factory) as session:
            accepted = examples.accepted(session)
            extra.write_text(examples.to_nlu_yaml(accepted), encoding="utf-8")
            count = len(accepted)
        job_slot.log(log_path, f"{count} 条已采纳样本加入训练数据\n")
        hooks.exported(count)
        stage("train")
        with hooks.training_output() as log:
            result = trainer.train(
                workspace=workspace,
                out_dir=Path(tmp),
                name="candidate",
                force=True,
                extra_data=[extra],
                log=log,
                on_start=hooks.training_started,
            )
        stage("register")
        fingerprint = versions.data_fingerprint(
            workspace.project, [extra, *workspace.runtime_files()]
        )
        with session_scope(factory) as session:
            version = versions.register(
                session,
                model_file=result.model,
                created_by=actor,
                train_seconds=result.seconds,
                fingerprint=fingerprint,
                example_count=count,
                models_dir=workspace.models_dir,
            )
            job = session.get(TrainingJob, job_id)
            if job is not None:
                job.model_version_id = version.id
            hooks.registered(session, version, result)
            version_id, name = version.id, version.name
    stage("evaluate")
    started = time.monotonic()
    comparison = versions.evaluate_version(factory, version_id=version_id, workspace=workspace)
    seconds = time.monotonic() - started
    job_slot.log(log_path, f"评估用时 {seconds:.0f} 秒\n")
    hooks.evaluated(comparison, seconds)
    return Candidate(
        version_id=version_id,
        name=name,
        example_count=count,
        train_seconds=result.seconds,
        comparison=comparison,
    )


def _log_path(factory: sessionmaker[Session], job_id: int) -> str:
    with session_scope(factory) as session:
        job = session.get(TrainingJob, job_id)
        if job is None:
            raise versions.RegistryError(f"未找到训练任务 {job_id}")
        return job.log_path
