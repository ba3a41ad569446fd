"""Model switches from the console: checked at once, carried out in the background, one at a time.

The fake Rasa worker pulls the active model; while ``fake_rasa.refuse`` is set it loads
nothing, as a worker that takes its time to load a model.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.db import session_scope
from core.settings import Settings
from retraining import versions
from retraining.models import ModelStatus
from retraining.switcher import SwitchBusyError, Switcher, SwitchState
from retraining.workspace import Workspace
from tests.retraining.fake_rasa import FakeRasaServer
from tests.retraining.test_versions import candidate, write_model

# A comparison (as evaluate_version stores it) that allows activation without a reason.
BETTER = {
    "n": 2,
    "candidate": {"accuracy": 1.0, "macro_f1": 1.0},
    "active": {"accuracy": 0.5, "macro_f1": 0.9},
    "delta": {"accuracy": 0.5, "macro_f1": 0.1},
    "per_class": [],
    "changed": [],
}


def baseline(factory: sessionmaker[Session], workspace: Workspace) -> int:
    """The model `make train` built, registered as the active version "initial"."""
    write_model(workspace.models_dir / versions.ACTIVE_FILE, {})
    with session_scope(factory) as session:
        initial = versions.ensure_baseline(
            session, models_dir=workspace.models_dir, project=workspace.project
        )
        assert initial is not None
        return initial.id


def statuses(factory: sessionmaker[Session]) -> dict[str, str]:
    with session_scope(factory) as session:
        return {v.name: v.status for v in versions.list_versions(session)}


def actions(factory: sessionmaker[Session]) -> list[str]:
    with session_scope(factory) as session:
        return [e.action for e in audit.recent(session, object_type="model_version")]


@pytest.fixture
def deployment(own_settings: Settings) -> versions.Deployment:
    return versions.Deployment.from_settings(own_settings)


def test_a_switch_runs_in_the_background_one_at_a_time(
    factory: sessionmaker[Session],
    workspace: Workspace,
    deployment: versions.Deployment,
    fake_rasa: FakeRasaServer,
) -> None:
    initial = baseline(factory, workspace)
    first = candidate(factory, workspace, {"路灯坏了": "x"}, comparison=BETTER)
    fake_rasa.refuse = True  # the worker takes its time
    switcher = Switcher(factory, deployment)
    switcher.request(first, actor="admin:boss", rollback=False)
    assert switcher.state(first) == SwitchState("running", rollback=False)
    assert statuses(factory)["initial"] == ModelStatus.ACTIVE  # nothing switched yet
    with pytest.raises(SwitchBusyError, match="正在切换模型"):
        switcher.request(initial, actor="admin:other", rollback=True)
    assert switcher.state(initial) is None
    fake_rasa.refuse = False
    switcher.wait(30)
    assert switcher.state(first) == SwitchState("done", rollback=False)
    assert fake_rasa.runs(workspace.models_dir / versions.ACTIVE_FILE)
    assert statuses(factory)["initial"] == ModelStatus.RETIRED
    assert "路灯坏了" in (workspace.models_dir / versions.ACTIVE_FILE).read_text("utf-8")
    assert actions(factory)[0] == "model_activate"
    switcher = Switcher(factory, deployment)  # the next switch is allowed again
    switcher.request(initial, actor="admin:boss", rollback=True)
    switcher.wait(30)
    assert switcher.state(initial) == SwitchState("done", rollback=True)
    assert statuses(factory)["initial"] == ModelStatus.ACTIVE
    assert actions(factory)[0] == "model_rollback"
    assert fake_rasa.runs(workspace.models_dir / "versions" / "initial.tar.gz")


def test_refusals_are_immediate_and_start_nothing(
    factory: sessionmaker[Session],
    workspace: Workspace,
    deployment: versions.Deployment,
    fake_rasa: FakeRasaServer,
) -> None:
    initial = baseline(factory, workspace)
    worse = candidate(factory, workspace, {}, comparison={"delta": {"macro_f1": -0.3}})
    switcher = Switcher(factory, deployment)
    cases = [
        (worse, False, versions.ActivationRefusedError, "已拒绝启用"),
        (initial, False, versions.RegistryError, "已在使用中"),
        (initial, True, versions.RegistryError, "已在使用中"),
        (9999, False, versions.RegistryError, "未找到该模型版本"),
    ]
    for version_id, rollback, error, message in cases:
        with pytest.raises(error, match=message):
            switcher.request(version_id, actor="admin:boss", rollback=rollback)
        assert switcher.state(version_id) is None
    switcher.wait(1)
    assert actions(factory) == ["model_register"] * 2
    switcher.request(worse, actor="admin:boss", rollback=False, override_reason="演示")
    switcher.wait(30)
    assert switcher.state(worse) == SwitchState("done", rollback=False)
    with session_scope(factory) as session:
        [event] = versions.history(session=session, version_id=worse)[:1]
        assert event.action == "model_activate" and event.data["override_reason"] == "演示"


def test_a_failed_swap_is_shown_and_changes_nothing(
    factory: sessionmaker[Session],
    workspace: Workspace,
    deployment: versions.Deployment,
    fake_rasa: FakeRasaServer,
) -> None:
    baseline(factory, workspace)
    active = (workspace.models_dir / versions.ACTIVE_FILE).read_bytes()
    version_id = candidate(factory, workspace, {"路灯坏了": "x"}, comparison=BETTER)
    fake_rasa.refuse = True  # the worker cannot load the model
    switcher = Switcher(factory, deployment)
    switcher.request(version_id, actor="admin:boss", rollback=False)
    switcher.wait(30)
    state = switcher.state(version_id)
    assert state is not None and state.status == "failed" and "已恢复原模型" in (state.error or "")
    assert statuses(factory)["initial"] == ModelStatus.ACTIVE
    assert (workspace.models_dir / versions.ACTIVE_FILE).read_bytes() == active
    assert "model_activate" not in actions(factory)
    fake_rasa.refuse = False  # a failed switch can be asked for again
    switcher.request(version_id, actor="admin:boss", rollback=False)
    switcher.wait(30)
    assert switcher.state(version_id) == SwitchState("done", rollback=False)
