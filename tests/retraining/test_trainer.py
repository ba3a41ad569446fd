"""``rasa train`` through a fake Rasa environment: what it is given, and nothing written back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.settings import ROOT
from retraining import history, taxonomy_edit, trainer
from retraining.workspace import Workspace
from tests.retraining.fake_rasa import calls, model

EXAMPLES = [f"小区第{i}号充电桩坏了，电动车没法充电" for i in range(1, 12)]


def snapshot(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


def entry(code: str, name: str, *terms: str) -> taxonomy_edit.NewEntry:
    return taxonomy_edit.NewEntry(code, name, "发展和改革局", 5, "street", terms)


def test_the_project_data_alone(workspace: Workspace, rasa_env: Path, tmp_path: Path) -> None:
    result = trainer.train(workspace=workspace, out_dir=tmp_path / "out", name="m", force=True)
    assert result.model == tmp_path / "out" / "m.tar.gz" and result.seconds >= 0
    [call] = calls(rasa_env)
    assert call["cwd"] == str(workspace.project)  # Rasa's cache stays the project's
    argv = call["argv"]
    assert argv[argv.index("--config") + 1] == str(workspace.project / "config.yml")
    assert argv[argv.index("--domain") + 1] == str(workspace.project / "domain.yml")
    assert argv[-1] == "--force" and "--skip-validation" in argv
    seen = model(result.model)
    assert "report_urban_construction" in seen["intents"]
    assert "report_energy" not in seen["intents"] and "taxonomy-additions.txt" not in seen["jieba"]


def test_imported_history_and_additions_are_trained_from_var(
    workspace: Workspace, rasa_env: Path, tmp_path: Path
) -> None:
    project = workspace.project
    imported = history.Example("楼道声控灯坏了一个月没人修", "urban_construction", None, "t")
    workspace.imported_dir.mkdir(parents=True)
    (workspace.imported_dir / "history.yml").write_text(history.to_rasa_yaml([imported]), "utf-8")
    files = {"taxonomy_file": project / "data/taxonomy.yml",
             "additions_file": workspace.taxonomy_additions}  # fmt: skip
    taxonomy_edit.add_category(**files, entry=entry("energy", "能源服务"),
                               first_sub=entry("ev_charging", "充电设施", "充电桩"),
                               examples=EXAMPLES)  # fmt: skip
    taxonomy_edit.add_subcategory(**files, category_code="urban_construction",
                                  entry=entry("street_signs", "路牌", "路牌坏了"))  # fmt: skip
    before = snapshot(project)
    result = trainer.train(workspace=workspace, out_dir=tmp_path / "out", name="m")
    assert snapshot(project) == before  # nothing written into the project
    seen = model(result.model)
    assert seen["examples"][imported.text] == "report_urban_construction"
    assert seen["examples"][EXAMPLES[0]] == "report_energy"
    assert "report_energy" in seen["intents"] and "能源服务" in seen["category_buttons"]
    assert any(rule.endswith("（report_energy）") for rule in seen["rules"])
    assert len(seen["rules"]) > 1  # the project's own rules are still there
    # Components reading data/taxonomy.yml and data/jieba from the working folder see them too.
    assert seen["taxonomy"][-1] == "energy"
    assert seen["subcategories"]["urban_construction"][-1] == "street_signs"
    assert seen["jieba"]["userdict.txt"] == (project / "data/jieba/userdict.txt").read_text()
    assert "充电桩 20000 n" in seen["jieba"]["taxonomy-additions.txt"]
    tokenizer = next(c for c in seen["config"]["pipeline"] if "Tokenizer" in c["name"])
    assert tokenizer["dictionary_path"] == "data/jieba"
    [call] = calls(rasa_env)
    assert call["cwd"] != str(project) and "--force" not in call["argv"]
    assert not (tmp_path / "out" / "project").exists()


def test_failures_are_reported_in_chinese(
    workspace: Workspace, rasa_env: Path, tmp_path: Path
) -> None:
    (rasa_env / "exit").write_text("3")
    with pytest.raises(trainer.TrainingFailed, match="退出码 3"):
        trainer.train(workspace=workspace, out_dir=tmp_path, name="m")
    (rasa_env / "exit").unlink()
    workspace.taxonomy_additions.parent.mkdir(parents=True)
    workspace.taxonomy_additions.write_text("categories: [{code: x}]\n", encoding="utf-8")
    with pytest.raises(trainer.TrainingFailed, match="分类扩展数据有误"):
        trainer.train(workspace=workspace, out_dir=tmp_path, name="m")
    missing = dataclasses.replace(workspace, rasa_bin=tmp_path / "nowhere" / "rasa")
    with pytest.raises(trainer.TrainingFailed, match="找不到Rasa环境"):
        trainer.train(workspace=missing, out_dir=tmp_path, name="m")


def test_rasa_sees_the_checkout_code_and_sends_nothing_out(project: Path) -> None:
    env = trainer.rasa_env(project)
    assert env["PYTHONPATH"].split(":") == [str(ROOT), str(project)]
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
