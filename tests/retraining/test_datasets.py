"""The data view: every example training reads, counts, warnings and the quality check."""

from __future__ import annotations

import random
from pathlib import Path

from rapidfuzz import fuzz

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
    counts = datasets.count(seed=items, accepted=[("report_energy", "ev_charging", 2)])
    assert dict(counts.intent_counts)["report_energy"] == 13
    assert counts.total == len(items) + 2
    short = {(s.intent, s.subcategory): s.count for s in counts.shortages}
    assert short[("report_energy", None)] == 13


def test_a_data_file_is_parsed_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text("nlu:\n- intent: thank\n  examples: |\n    - 谢谢\n", "utf-8")
    first = datasets.file_items(path)
    assert datasets.file_items(path) is first  # cached
    path.write_text("nlu:\n- intent: thank\n  examples: |\n    - 谢谢\n    - 多谢了\n", "utf-8")
    assert [i.text for i in datasets.file_items(path)] == ["谢谢", "多谢了"]


def _brute_force(items: list[datasets.Item]) -> set[tuple[str, str]]:
    """Every pair of different keys at least NEAR_DUPLICATE alike: the definition."""
    keys = sorted({datasets._key(i.text) for i in items})
    return {
        (a, b)
        for x, a in enumerate(keys)
        for b in keys[x + 1 :]
        if fuzz.ratio(a, b) >= datasets.NEAR_DUPLICATE
    }


def test_near_duplicates_are_those_of_comparing_every_pair() -> None:
    """The prefix filter drops no pair that comparing all pairs finds (random edits of
    short and long texts, around the cut-off)."""
    rng = random.Random(3)
    alphabet = "小区路灯不亮垃圾噪音物业停车扰民施工井盖漏水电梯维修投诉"
    bases = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 120))) for _ in range(60)]
    texts = list(bases)
    for base in bases:
        for _ in range(3):
            chars = list(base)
            for _ in range(rng.randint(0, max(1, len(chars) // 8))):
                at = rng.randrange(len(chars) + 1)
                if rng.random() < 0.5 and at < len(chars):
                    del chars[at]
                else:
                    chars.insert(at, rng.choice(alphabet))
            texts.append("".join(chars))
    items = [datasets.Item(t, f"report_{i % 3}", None, f"#{i}") for i, t in enumerate(texts)]
    by_key: dict[str, list[datasets.Item]] = {}
    for item in items:
        by_key.setdefault(datasets._key(item.text), []).append(item)
    found = datasets.near_duplicates(by_key, limit=100_000)
    pairs = {tuple(sorted((datasets._key(a.text), datasets._key(b.text)))) for a, b, _ in found}
    expected = _brute_force(items)
    assert len(expected) > 20  # the data has near-duplicates to find
    assert pairs == expected
    assert [a.intent == b.intent for a, b, _ in found] == sorted(
        a.intent == b.intent for a, b, _ in found
    )  # different labels first


def test_the_quality_check_runs_in_the_background_once_per_data() -> None:
    checks = datasets.QualityChecks()
    calls = []

    def load() -> list[datasets.Item]:
        calls.append(1)
        return [
            datasets.Item("路灯不亮了", "report_urban_construction", None, "a.yml"),
            datasets.Item("路灯不亮了！", "report_transportation", None, "#1"),
        ]

    assert checks.latest("db", "v1", load) == (None, False)  # nothing yet: a check starts
    checks.wait(10)
    quality, current = checks.latest("db", "v1", load)
    assert current and quality is not None and len(quality.contradictions) == 1
    assert len(calls) == 1
    stale, current = checks.latest("db", "v2", load)  # the data changed: the last result, stale
    assert stale is quality and not current
    checks.wait(10)
    assert checks.latest("db", "v2", load)[1] and len(calls) == 2
