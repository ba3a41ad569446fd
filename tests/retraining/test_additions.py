"""The additions file: its layout, the merged taxonomy, and the Rasa data made from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import ROOT
from core.taxonomy import TaxonomyError, load_taxonomy, load_taxonomy_with_additions
from retraining import additions

SHIPPED = ROOT / "data" / "taxonomy.yml"


def sub(code: str, name: str, terms: list[str]) -> dict[str, Any]:
    return {"code": code, "name": name, "department": "发展和改革局", "sla_days": 5,
            "tier": "street", "terms": terms, "urgent": ["起火"]}  # fmt: skip


def energy() -> dict[str, Any]:
    return {
        "version": 1,
        "categories": [
            {
                "code": "energy",
                "name": "能源服务",
                "department": "发展和改革局",
                "sla_days": 5,
                "tier": "street",
                "subcategories": [sub("ev_charging", "充电设施", ["充电桩"])],
                "examples": ["小区充电桩坏了", "充电桩[3号]不能用"],
            }  # fmt: skip
        ],
        "subcategories": {"urban_construction": [sub("street_signs", "路牌", ["路牌"])]},
    }


def test_no_file_adds_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "var" / "taxonomy-additions.yml"
    assert additions.is_empty(additions.read(missing))
    assert load_taxonomy_with_additions(SHIPPED, missing) == load_taxonomy(SHIPPED)


def test_written_additions_join_the_taxonomy(tmp_path: Path) -> None:
    path = tmp_path / "var" / "taxonomy-additions.yml"
    additions.write(path, energy())
    assert path.read_text(encoding="utf-8").startswith("# Taxonomy additions")
    assert additions.read(path) == energy()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    taxonomy = load_taxonomy_with_additions(SHIPPED, path)
    shipped = load_taxonomy(SHIPPED)
    assert taxonomy.codes() == [*shipped.codes(), "energy"]
    assert taxonomy.get("energy").subcategory("ev_charging").terms == ("充电桩",)  # type: ignore[union-attr]
    urban = taxonomy.get("urban_construction")
    assert urban is not None and urban.subcategories[-1].code == "street_signs"
    assert load_taxonomy(SHIPPED) == shipped  # the shipped taxonomy is not changed in memory


def test_additions_for_an_unknown_category_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy-additions.yml"
    additions.write(path, {**energy(), "subcategories": {"nowhere": [sub("x_y", "某", [])]}})
    with pytest.raises(TaxonomyError, match="nowhere"):
        load_taxonomy_with_additions(SHIPPED, path)
    path.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(TaxonomyError):
        additions.read(path)


def test_the_domain_gets_the_intent_and_a_category_button() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    merged = additions.rasa_domain(domain, energy())
    assert merged["intents"][-1] == "report_energy"
    buttons = merged["responses"][additions.CATEGORY_QUESTION][0]["buttons"]
    assert buttons[-1] == {"title": "能源服务", "payload": "能源服务"}
    assert "report_energy" not in domain["intents"]  # the project's domain is left alone
    assert additions.rasa_domain(merged, energy())["intents"].count("report_energy") == 1


def test_the_new_intent_starts_the_form_like_the_others() -> None:
    rules = yaml.safe_load((ROOT / "data/rules/petition.yml").read_text(encoding="utf-8"))
    start = additions.start_rule(rules["rules"])
    data = additions.rasa_training_data(energy(), start)
    [rule] = data["rules"]
    assert rule["steps"][0] == {"intent": "report_energy"}
    assert rule["steps"][1:] == start["steps"][1:]
    [block] = data["nlu"]
    assert block["intent"] == "report_energy"
    assert block["metadata"] == {"subcategory": "ev_charging"}
    assert block["examples"] == "- 小区充电桩坏了\n- 充电桩［3号］不能用\n"  # no entity markup
    with pytest.raises(TaxonomyError):
        additions.start_rule([{"rule": "greeting", "steps": [{"intent": "greet"}]}])


def test_dictionary_terms_cover_every_added_name_and_word() -> None:
    terms = additions.dictionary_terms(energy())
    assert {"能源服务", "充电设施", "充电桩", "路牌", "起火"} <= set(terms)
