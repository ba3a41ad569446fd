"""The one training pipeline: accepted examples → rasa train → candidate → comparison."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.taxonomy import Taxonomy
from retraining import examples, pipeline, trainer, versions
from retraining.models import ExampleSource, ModelVersion
from retraining.schemas import TrainingExampleIn
from retraining.workspace import Workspace
from tests.retraining.fake_rasa import calls, model

PHRASE = "共享单车把盲道全占了，盲人根本没法走"


class Recorder(pipeline.Hooks):
    def __init__(self, stop_at: str | None = None) -> None:
        self.events: list[str] = []
        self.stop_at = stop_at

    def stage(self, stage: str) -> None:
        self.events.append(f"stage:{stage}")
        if stage == self.stop_at:
            raise RuntimeError("stopped")

    def exported(self, count: int) -> None:
        self.events.append(f"exported:{count}")

    def training_started(self, process: subprocess.Popen[bytes]) -> None:
        self.events.append("started")

    def registered(self, session: Session, version: ModelVersion, result: Any) -> None:
        self.events.append(f"registered:{version.example_count}")

    def evaluated(self, comparison: dict[str, Any], seconds: float) -> None:
        self.events.append(f"evaluated:{comparison['n']}")


def accept(factory: sessionmaker[Session], taxonomy: Taxonomy, workspace: Workspace) -> None:
    intents = examples.domain_intents(workspace.project / "domain.yml")
    with session_scope(factory) as session:
        row = examples.add_example(
            session=session,
            example=TrainingExampleIn(
                text=PHRASE, intent="report_transportation", source=ExampleSource.CORRECTION
            ),
            actor="staff:li",
        )
        examples.review(session=session, example=row, action="accept", actor="admin:boss",
                        taxonomy=taxonomy, intents=intents)  # fmt: skip


def test_accepted_examples_train_a_compared_candidate(
    factory: sessionmaker[Session], workspace: Workspace, taxonomy: Taxonomy, rasa_env: Path
) -> None:
    accept(factory, taxonomy, workspace)
    (workspace.models_dir / versions.ACTIVE_FILE).write_bytes(b"the model of make train")
    recorder = Recorder()
    result = pipeline.train_candidate(
        factory, workspace=workspace, actor="admin:boss", hooks=recorder
    )
    n = len(versions.holdout_rows(workspace.holdout_dirs))
    assert recorder.events == [
        "stage:export", "exported:1", "stage:train", "started", "stage:register",
        "registered:1", "stage:evaluate", f"evaluated:{n}",
    ]  # fmt: skip
    assert result.example_count == 1 and result.comparison["active_name"] == "initial"
    with session_scope(factory) as session:
        version = session.get(ModelVersion, result.version_id)
        assert version is not None and version.name == result.name
        assert (version.status, version.created_by) == ("candidate", "admin:boss")
        assert version.metrics["comparison"]["n"] == n and len(version.data_fingerprint) == 64
        learned = model(Path(version.file_path))["examples"]
    assert learned[PHRASE] == "report_transportation"
    assert "--force" in calls(rasa_env)[0]["argv"]


def test_a_failed_or_stopped_run_registers_nothing(
    factory: sessionmaker[Session], workspace: Workspace, rasa_env: Path
) -> None:
    with pytest.raises(RuntimeError, match="stopped"):
        pipeline.train_candidate(
            factory, workspace=workspace, actor="a", hooks=Recorder("register")
        )
    (rasa_env / "exit").write_text("1")
    with pytest.raises(trainer.TrainingFailed):
        pipeline.train_candidate(factory, workspace=workspace, actor="a")
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 0
