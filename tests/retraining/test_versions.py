"""The model-version registry: held-back set, comparison, activation and rollback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.db import session_scope
from core.settings import Settings
from retraining import versions
from retraining.models import ModelStatus, ModelVersion, RasaWorker
from retraining.workspace import Workspace
from tests.retraining.fake_rasa import FakeRasaServer


def write_model(path: Path, learned: dict[str, str]) -> Path:
    """A model file the fake evaluator reads: what it answers for each text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"examples": learned}, ensure_ascii=False), encoding="utf-8")
    return path


def gold(workspace: Workspace) -> dict[str, str]:
    rows = versions.holdout_rows(workspace.holdout_dirs)
    return {r["text"]: f"report_{r['category']}" for r in rows}


def candidate(
    factory: sessionmaker[Session], workspace: Workspace, learned: dict[str, str], **metrics: Any
) -> int:
    model = write_model(workspace.models_dir.parent / "trained" / "candidate.tar.gz", learned)
    with session_scope(factory) as session:
        version = versions.register(session, model_file=model, created_by="admin:test",
                                    train_seconds=1.0, fingerprint="f", example_count=1,
                                    models_dir=workspace.models_dir)  # fmt: skip
        version.metrics = metrics
        return version.id


def test_holdout_rows_come_from_every_folder(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    (first / "x.csv").write_text("text,category\n路灯坏了,urban_construction\n,x\n", "utf-8")
    second.mkdir()
    with_bom = "\ufefftext,category,subcategory\n噪音扰民,environmental_protection,\n"
    (second / "y.csv").write_text(with_bom, "utf-8")
    rows = versions.holdout_rows([first, second, tmp_path / "missing"])
    assert rows == [
        {"text": "路灯坏了", "category": "urban_construction"},
        {"text": "噪音扰民", "category": "environmental_protection"},
    ]


def test_a_large_held_back_set_is_sampled_the_same_way_every_time(tmp_path: Path) -> None:
    lines = "".join(f"第{i}号路灯坏了,urban_construction\n" for i in range(50))
    (tmp_path / "h.csv").write_text("text,category\n" + lines, "utf-8")
    first = versions.holdout_rows([tmp_path], limit=20)
    assert len(first) == 20 and first == versions.holdout_rows([tmp_path], limit=20)
    assert len(versions.holdout_rows([tmp_path])) == 50


def test_a_candidate_is_compared_with_the_running_model(
    factory: sessionmaker[Session], workspace: Workspace
) -> None:
    answers = gold(workspace)
    write_model(workspace.models_dir / versions.ACTIVE_FILE, answers)  # what `make train` built
    version_id = candidate(factory, workspace, {})  # knows nothing: always nlu_fallback
    comparison = versions.evaluate_version(factory, version_id=version_id, workspace=workspace)
    assert comparison["n"] == len(answers) and comparison["has_active"]
    assert comparison["active_name"] == "initial"
    assert comparison["active"]["accuracy"] == 1.0 and comparison["candidate"]["accuracy"] == 0
    assert len(comparison["changed"]) == len(answers)
    with session_scope(factory) as session:
        stored = session.get(ModelVersion, version_id)
        initial = versions.find_version(session, "initial")
        assert stored is not None and stored.metrics["comparison"]["n"] == len(answers)
        assert initial is not None and initial.status == ModelStatus.ACTIVE
        assert initial.metrics["accuracy"] == 1.0


def test_no_held_back_rows_is_an_error(
    factory: sessionmaker[Session], workspace: Workspace, project: Path
) -> None:
    for path in (project / "tests/data/nlu_holdout").glob("*.csv"):
        path.unlink()
    version_id = candidate(factory, workspace, {})
    with pytest.raises(versions.RegistryError, match="没有保留测试集"):
        versions.evaluate_version(factory, version_id=version_id, workspace=workspace)


def test_activation_reaches_the_workers_and_rollback_restores(
    factory: sessionmaker[Session],
    workspace: Workspace,
    own_settings: Settings,
    fake_rasa: FakeRasaServer,
) -> None:
    deployment = versions.Deployment.from_settings(own_settings)
    assert deployment.models_dir == workspace.models_dir and deployment.margin == 0.02
    write_model(workspace.models_dir / versions.ACTIVE_FILE, {})
    comparison = {"delta": {"macro_f1": -0.01}}  # within the margin
    version_id = candidate(factory, workspace, {"路灯坏了": "x"}, comparison=comparison)
    with session_scope(factory) as session:
        initial = versions.ensure_baseline(
            session, models_dir=workspace.models_dir, project=workspace.project
        )
        assert initial is not None and initial.name == "initial"
    with session_scope(factory) as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        versions.activate(session, version, actor="admin:boss", deployment=deployment)
    active = workspace.models_dir / versions.ACTIVE_FILE
    assert fake_rasa.runs(Path(version.file_path)) and fake_rasa.runs(active)
    assert "路灯坏了" in active.read_text(encoding="utf-8")  # a restart keeps it
    with session_scope(factory) as session:
        back = versions.rollback(session, actor="admin:boss", deployment=deployment)
        assert back.name == "initial"
        statuses = dict(session.execute(select(ModelVersion.name, ModelVersion.status)).all())
        assert statuses == {"initial": "active", version.name: "retired"}
        actions = [e.action for e in audit.recent(session, object_type="model_version", limit=9)]
        assert {"model_register", "model_activate", "model_rollback"} <= set(actions)
    assert fake_rasa.runs(workspace.models_dir / "versions" / "initial.tar.gz")
    with session_scope(factory) as session:  # the one before is the candidate again
        assert versions.rollback(session, actor="a", deployment=deployment).name == version.name


def test_rollback_needs_an_earlier_version(
    factory: sessionmaker[Session], own_settings: Settings
) -> None:
    deployment = versions.Deployment.from_settings(own_settings)
    with session_scope(factory) as session, pytest.raises(versions.RegistryError, match="没有"):
        versions.rollback(session, actor="admin:boss", deployment=deployment)


def test_a_worse_version_needs_a_reason(
    factory: sessionmaker[Session],
    workspace: Workspace,
    own_settings: Settings,
    fake_rasa: FakeRasaServer,
) -> None:
    deployment = versions.Deployment.from_settings(own_settings)
    worse = candidate(factory, workspace, {}, comparison={"delta": {"macro_f1": -0.3}})
    with session_scope(factory) as session:
        version = session.get(ModelVersion, worse)
        assert version is not None
        with pytest.raises(versions.ActivationRefusedError, match="已拒绝启用"):
            versions.activate(session, version, actor="admin:boss", deployment=deployment)
        versions.activate(session, version, actor="admin:boss", deployment=deployment,
                          override_reason="演示")  # fmt: skip
    assert fake_rasa.runs(Path(version.file_path))


def test_nothing_changes_when_rasa_cannot_load_the_model(
    factory: sessionmaker[Session],
    workspace: Workspace,
    own_settings: Settings,
    fake_rasa: FakeRasaServer,
) -> None:
    fake_rasa.refuse = True
    active = write_model(workspace.models_dir / versions.ACTIVE_FILE, {})
    before = active.read_bytes()
    version_id = candidate(factory, workspace, {}, comparison={"delta": {"macro_f1": 0.1}})
    deployment = versions.Deployment.from_settings(own_settings)
    with session_scope(factory) as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        with pytest.raises(versions.RasaUnavailableError, match="已恢复原模型"):
            versions.activate(session, version, actor="admin:boss", deployment=deployment)
    with session_scope(factory) as session:
        assert session.get(ModelVersion, version_id).status == "candidate"  # type: ignore[union-attr]
    assert active.read_bytes() == before
    fake_rasa.stop_pulling()  # Rasa is down: no worker has pulled lately
    with session_scope(factory) as session:
        session.execute(delete(RasaWorker))
    with session_scope(factory) as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        with pytest.raises(versions.RasaUnavailableError, match="没有正在运行的Rasa服务"):
            versions.activate(session, version, actor="admin:boss", deployment=deployment)
    assert active.read_bytes() == before


def test_the_fingerprint_covers_runtime_data(project: Path, tmp_path: Path) -> None:
    extra = tmp_path / "accepted.yml"
    extra.write_text("nlu: []\n", encoding="utf-8")
    plain = versions.data_fingerprint(project, [])
    assert versions.data_fingerprint(project, []) == plain
    assert versions.data_fingerprint(project, [extra]) != plain


def test_a_version_and_its_history(factory: sessionmaker[Session], workspace: Workspace) -> None:
    first = candidate(factory, workspace, {})
    second = candidate(factory, workspace, {})
    with session_scope(factory) as session:
        version = versions.get_version(session=session, version_id=first)
        assert version is not None and version.status == ModelStatus.CANDIDATE
        assert versions.get_version(session=session, version_id=9999) is None
        audit.record(session, actor="admin:boss", action="model_evaluate",
                     object_type="model_version", object_id=first)  # fmt: skip
        history = versions.history(session=session, version_id=first)
        assert [(e.action, e.object_id) for e in history] == [
            ("model_evaluate", str(first)),
            ("model_register", str(first)),
        ]  # newest first, and only this version's
        assert [e.object_id for e in versions.history(session=session, version_id=second)] == [
            str(second)
        ]
