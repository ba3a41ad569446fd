"""The Rasa project stays consistent with the taxonomy and with the actions' responses."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from actions import taxonomy
from actions.settings import ROOT

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
CATEGORIES = taxonomy.load(ROOT / "data" / "taxonomy.yml")


def test_one_report_intent_per_category() -> None:
    report_intents = {i for i in DOMAIN["intents"] if i.startswith("report_")}
    assert report_intents == {c.intent for c in CATEGORIES.values()}
    rules = (ROOT / "data" / "rules" / "petition.yml").read_text(encoding="utf-8")
    for intent in report_intents:
        assert f"intent: {intent}" in rules


def test_every_response_named_in_code_exists() -> None:
    names = set()
    for path in (ROOT / "actions").glob("*.py"):
        names |= set(re.findall(r'response="(utter_\w+)"', path.read_text(encoding="utf-8")))
    names |= {f"utter_emergency_{s}" for s in ("fire", "police", "medical")}
    assert names - set(DOMAIN["responses"]) == set()


def _examples() -> dict[str, Counter[str]]:
    per_category: dict[str, Counter[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("report_*.yml")):
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in raw["nlu"]:
            code = block["intent"][len("report_") :]
            sub = block["metadata"]["subcategory"]
            count = len(
                [ln for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
            )
            per_category.setdefault(code, Counter())[sub] += count
    return per_category


def test_training_data_covers_every_subcategory() -> None:
    per_category = _examples()
    assert set(per_category) == set(CATEGORIES)
    for code, info in CATEGORIES.items():
        assert set(per_category[code]) == set(info.subcategories), code
        assert sum(per_category[code].values()) >= 40, code
        assert min(per_category[code].values()) >= 8, code


def test_holdout_labels_exist() -> None:
    import csv

    for path in Path(ROOT / "tests" / "data" / "nlu_holdout").glob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                assert row["subcategory"] in CATEGORIES[row["category"]].subcategories


def test_categories_added_from_the_console_are_read_from_var(tmp_path: Path) -> None:
    additions = tmp_path / "taxonomy-additions.yml"
    additions.write_text(
        "categories:\n"
        "  - {code: pets, name: 宠物管理, department: 城管局, sla_days: 5, tier: community}\n"
        "subcategories:\n"
        "  environmental_protection: [{code: light_pollution, name: 光污染}]\n",
        encoding="utf-8",
    )
    merged = taxonomy.load(ROOT / "data" / "taxonomy.yml", additions)
    assert merged["pets"].name == "宠物管理" and merged["pets"].intent == "report_pets"
    assert merged["environmental_protection"].subcategories["light_pollution"] == "光污染"
    assert set(CATEGORIES) < set(merged)
    assert taxonomy.load(ROOT / "data" / "taxonomy.yml", tmp_path / "missing.yml") == CATEGORIES
