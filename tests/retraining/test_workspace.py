"""The paths of training and evaluation come from the settings, in one place."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from retraining.workspace import Workspace


def test_paths_come_from_the_settings(own_settings: Settings, project: Path) -> None:
    workspace = Workspace.from_settings(own_settings)
    var = own_settings.var_dir
    assert workspace.project == project
    assert workspace.config == project / "config.yml"  # a project brings its own pipeline
    assert workspace.rasa_bin == own_settings.rasa_env_dir / "bin" / "rasa"
    assert workspace.rasa_python == own_settings.rasa_env_dir / "bin" / "python"
    assert workspace.taxonomy_additions == var / "taxonomy-additions.yml"
    assert workspace.imported_dir == var / "nlu" / "imported"
    assert workspace.holdout_dirs == (project / "tests/data/nlu_holdout", var / "holdout")
    chosen = own_settings.model_copy(update={"training_config": project / "small.yml"})
    assert Workspace.from_settings(chosen).config == project / "small.yml"


def test_runtime_files_are_what_exists_under_var(workspace: Workspace) -> None:
    assert workspace.runtime_files() == []
    workspace.imported_dir.mkdir(parents=True)
    (workspace.imported_dir / "b.yml").write_text("nlu: []\n", encoding="utf-8")
    (workspace.imported_dir / "a.yml").write_text("nlu: []\n", encoding="utf-8")
    workspace.taxonomy_additions.write_text("categories: []\n", encoding="utf-8")
    assert [p.name for p in workspace.runtime_files()] == [
        "taxonomy-additions.yml",
        "a.yml",
        "b.yml",
    ]
