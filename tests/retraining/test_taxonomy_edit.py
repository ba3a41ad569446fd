"""Extending the taxonomy: files stay consistent, or are left untouched on failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT
from core.taxonomy import load_taxonomy, parse_taxonomy
from retraining import taxonomy_edit as edit
from retraining.datasets import analyse

EXAMPLES = [f"小区第{i}号充电桩坏了，电动车没法充电" for i in range(1, 12)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("imported"))
    return tmp_path


def entry(code: str, name: str) -> edit.NewEntry:
    return edit.NewEntry(code, name, "发展和改革局", 5, "street", ("充电桩", "充电"))


def taxonomy_of(project: Path) -> object:
    return parse_taxonomy(yaml.safe_load((project / "data/taxonomy.yml").read_text("utf-8")))


def test_subcategory_is_added_in_place_with_comments_kept(project: Path) -> None:
    before = (project / "data/taxonomy.yml").read_text(encoding="utf-8")
    taxonomy = load_taxonomy(project / "data/taxonomy.yml")
    updated = edit.add_subcategory(
        project, taxonomy, "urban_construction", entry("ev_charging", "充电设施")
    )
    sub = updated.get("urban_construction").subcategory("ev_charging")  # type: ignore[union-attr]
    assert sub is not None and sub.terms == ("充电桩", "充电")
    after = (project / "data/taxonomy.yml").read_text(encoding="utf-8")
    assert after.startswith(before.split("\n", 1)[0]) and "# 12345 hotline taxonomy" in after
    assert "充电桩" in (project / "data/jieba/userdict.txt").read_text(encoding="utf-8")
    # the other categories are unchanged
    assert [c.code for c in updated.categories] == [c.code for c in taxonomy.categories]


def test_category_becomes_an_intent_with_examples(project: Path) -> None:
    taxonomy = load_taxonomy(project / "data/taxonomy.yml")
    updated = edit.add_category(project, taxonomy, entry("energy", "能源服务"),
                                entry("ev_charging", "充电设施"), EXAMPLES)  # fmt: skip
    assert updated.get("energy") is not None
    domain = yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8"))
    assert "report_energy" in domain["intents"]
    rules = (project / "data/rules/petition.yml").read_text(encoding="utf-8")
    assert "    - intent: report_energy\n" in rules
    report = analyse(seed_dir=project / "data/nlu", accepted=[])
    counts = dict(report.intent_counts)
    assert counts["report_energy"] == 11
    assert any("report_energy 只有 11 条样本" in w for w in report.warnings)


def test_bad_entries_change_nothing(project: Path) -> None:
    taxonomy = load_taxonomy(project / "data/taxonomy.yml")
    files = [
        project / "data/taxonomy.yml",
        project / "domain.yml",
        project / "data/rules/petition.yml",
    ]
    before = [f.read_text(encoding="utf-8") for f in files]
    cases = [
        (entry("Bad Code", "x"), "编码只能用"),
        (entry("waste_sanitation", "新名称"), "已存在"),
        (entry("new_one", "城乡建设"), "已存在"),
        (edit.NewEntry("new_one", "新分类", "局", 0, "street"), "1到60"),
        (edit.NewEntry("new_one", "新分类", "局", 5, "planet"), "办理层级"),
    ]
    for bad, message in cases:
        with pytest.raises(edit.TaxonomyEditError, match=message):
            edit.add_subcategory(project, taxonomy, "urban_construction", bad)
    with pytest.raises(edit.TaxonomyEditError, match="至少提供 10 条"):
        edit.add_category(project, taxonomy, entry("energy", "能源服务"),
                          entry("ev_charging", "充电设施"), EXAMPLES[:3] * 4)  # fmt: skip
    assert [f.read_text(encoding="utf-8") for f in files] == before
    assert not (project / "data/nlu/report_energy.yml").exists()
