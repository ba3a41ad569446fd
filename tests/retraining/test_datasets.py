"""The data view: every example training reads, with counts and warnings."""

from __future__ import annotations

from retraining import datasets, history
from retraining.workspace import Workspace
from tests.retraining.fixtures import add_energy_category

EXAMPLES = [f"小区第{i}号充电桩坏了，电动车没法充电" for i in range(1, 12)]


def test_training_items_cover_project_imports_and_additions(workspace: Workspace) -> None:
    imported = history.Example("楼道声控灯坏了一个月没人修", "urban_construction", "x", "t")
    workspace.imported_dir.mkdir(parents=True)
    (workspace.imported_dir / "h.yml").write_text(history.to_rasa_yaml([imported]), "utf-8")
    add_energy_category(
        workspace.project / "data/taxonomy.yml", workspace.taxonomy_additions, EXAMPLES
    )
    items = datasets.training_items(workspace)
    origins = {i.origin for i in items}
    assert {"report_urban_construction.yml", "h.yml", "taxonomy-additions.yml"} <= origins
    assert datasets.Item(imported.text, "report_urban_construction", "x", "h.yml") in items
    report = datasets.analyse(seed=items, accepted=[])
    assert dict(report.intent_counts)["report_energy"] == 11
    assert any("report_energy 只有 11 条样本" in w for w in report.warnings)
