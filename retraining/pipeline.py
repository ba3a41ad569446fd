"""The one training pipeline, behind ``petition train`` and the console's training jobs.

Accepted examples become extra NLU data; ``rasa train`` runs on the project's data, the
runtime data under var/ and them; the model is registered as a candidate version and compared
with the active model on the held-back set. Callers follow a run through ``Hooks`` (the CLI
prints, a job writes its log and can be cancelled); the admin then decides on activation.

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
from retraining import examples, trainer, versions
from retraining.models import ModelVersion
from retraining.workspace import Workspace

STAGES = {
    "export": "导出已采纳的样本",
    "train": "训练模型（约3分钟）",
    "register": "登记模型版本",
    "evaluate": "在保留测试集上对比评估",
    "done": "完成",
}


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
    factory: sessionmaker[Session], *, workspace: Workspace, actor: str, hooks: Hooks | None = None
) -> Candidate:
    """Train on the project data plus the accepted examples, register, compare; see module."""
    hooks = hooks or Hooks()
    hooks.stage("export")
    with tempfile.TemporaryDirectory(prefix="petition-train-") as tmp:
        extra = Path(tmp) / "accepted.yml"
        with session_scope(factory) as session:
            accepted = examples.accepted(session)
            extra.write_text(examples.to_nlu_yaml(accepted), encoding="utf-8")
            count = len(accepted)
        hooks.exported(count)
        hooks.stage("train")
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
        hooks.stage("register")
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
            hooks.registered(session, version, result)
            version_id, name = version.id, version.name
    hooks.stage("evaluate")
    started = time.monotonic()
    comparison = versions.evaluate_version(factory, version_id=version_id, workspace=workspace)
    hooks.evaluated(comparison, time.monotonic() - started)
    return Candidate(
        version_id=version_id,
        name=name,
        example_count=count,
        train_seconds=result.seconds,
        comparison=comparison,
    )
