"""Fixtures for tests that train, evaluate or activate: a project copy, a fake Rasa env."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from core.settings import ROOT, Settings
from retraining import taxonomy_edit
from retraining.workspace import FIXED_HOLDOUT, Workspace
from tests.retraining.fake_rasa import FakeRasaServer, make_rasa_env, rasa_server


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Rasa project, so that nothing can write into the checkout."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "data", root / "data", ignore=shutil.ignore_patterns("imported"))
    shutil.copytree(ROOT / FIXED_HOLDOUT, root / FIXED_HOLDOUT)
    return root


@pytest.fixture
def rasa_env(tmp_path: Path) -> Path:
    return make_rasa_env(tmp_path / "rasa-env")


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasaServer]:
    with rasa_server() as server:
        yield server


@pytest.fixture
def own_settings(
    settings: Settings, project: Path, rasa_env: Path, fake_rasa: FakeRasaServer, tmp_path: Path
) -> Settings:
    """The test database, the project copy, runtime data in tmp_path, the fake Rasa."""
    models = tmp_path / "models"
    models.mkdir()
    fake_rasa.pull_from(models, settings.database_url)
    return settings.model_copy(
        update={
            "project_dir": project,
            "data_dir": project / "data",
            "var_dir": tmp_path / "var",
            "model_dir": models,
            "training_log_dir": tmp_path / "var" / "training",
            "rasa_env_dir": rasa_env,
            "rasa_url": fake_rasa.url,
            "model_swap_timeout_seconds": 3.0,
            "rasa_token": fake_rasa.token,
        }
    )


@pytest.fixture
def workspace(own_settings: Settings) -> Workspace:
    return Workspace.from_settings(own_settings)


@pytest.fixture
def factory(own_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(own_settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def add_energy_category(taxonomy_file: Path, additions_file: Path, examples: list[str]) -> None:
    """The console's "新增一级分类" for 能源服务 (with 充电设施), as several tests need it."""
    taxonomy_edit.add_category(
        taxonomy_file=taxonomy_file,
        additions_file=additions_file,
        entry=taxonomy_edit.NewEntry("energy", "能源服务", "发展和改革局", 5, "street"),
        first_sub=taxonomy_edit.NewEntry("ev_charging", "充电设施", "发展和改革局", 5, "street"),
        examples=examples,
    )
