"""Extending the taxonomy: additions go to var/, the checkout stays as it is."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.db import session_scope
from core.taxonomy import load_taxonomy, load_taxonomy_with_additions
from retraining import additions
from retraining import taxonomy_edit as edit

EXAMPLES = [f"小区第{i}号充电桩坏了，电动车没法充电" for i in range(1, 12)]


def entry(code: str, name: str) -> edit.NewEntry:
    return edit.NewEntry(code, name, "发展和改革局", 5, "street", ("充电桩", "充电"))


def snapshot(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


@pytest.fixture
def files(project: Path, tmp_path: Path) -> dict[str, Path]:
    return {
        "taxonomy_file": project / "data" / "taxonomy.yml",
        "additions_file": tmp_path / "var" / "taxonomy-additions.yml",
    }


def test_subcategory_is_kept_in_the_additions_file(project: Path, files: dict[str, Path]) -> None:
    before = snapshot(project)
    updated = edit.add_subcategory(
        **files, category_code="urban_construction", entry=entry("ev_charging", "充电设施")
    )
    sub = updated.get("urban_construction").subcategory("ev_charging")  # type: ignore[union-attr]
    assert sub is not None and sub.terms == ("充电桩", "充电") and sub.tier == "street"
    assert snapshot(project) == before
    assert load_taxonomy_with_additions(files["taxonomy_file"], files["additions_file"]) == updated
    shipped = load_taxonomy(files["taxonomy_file"])
    assert [c.code for c in updated.categories] == [c.code for c in shipped.categories]


def test_category_with_examples_then_a_subcategory_of_it(
    project: Path, files: dict[str, Path]
) -> None:
    before = snapshot(project)
    updated = edit.add_category(**files, entry=entry("energy", "能源服务"),
                                first_sub=entry("ev_charging", "充电设施"),
                                examples=[*EXAMPLES, EXAMPLES[0], "  "])  # fmt: skip
    energy = updated.get("energy")
    assert energy is not None and energy.intent == "report_energy"
    assert [s.code for s in energy.subcategories] == ["ev_charging"]
    [added] = additions.read(files["additions_file"])["categories"]
    assert added["examples"] == EXAMPLES  # blanks and repeats dropped
    again = edit.add_subcategory(**files, category_code="energy", entry=entry("gas_supply", "燃气"))
    assert [s.code for s in again.get("energy").subcategories] == ["ev_charging", "gas_supply"]  # type: ignore[union-attr]
    assert snapshot(project) == before


def test_bad_entries_change_nothing(project: Path, files: dict[str, Path]) -> None:
    edit.add_subcategory(**files, category_code="urban_construction",
                         entry=entry("ev_charging", "充电设施"))  # fmt: skip
    written = files["additions_file"].read_bytes()
    cases = [
        (entry("Bad Code", "x"), "编码只能用"),
        (entry("waste_sanitation", "新名称"), "已存在"),
        (entry("ev_charging", "新名称"), "已存在"),  # added earlier
        (entry("new_one", "城乡建设"), "已存在"),
        (entry("new_one", "充电设施"), "已存在"),
        (edit.NewEntry("new_one", "新分类", "局", 0, "street"), "1到60"),
        (edit.NewEntry("new_one", "新分类", "局", 5, "planet"), "办理层级"),
    ]
    for bad, message in cases:
        with pytest.raises(edit.TaxonomyEditError, match=message):
            edit.add_subcategory(**files, category_code="urban_construction", entry=bad)
    with pytest.raises(edit.TaxonomyEditError, match="未知的一级分类"):
        edit.add_subcategory(**files, category_code="nowhere", entry=entry("new_one", "新分类"))
    with pytest.raises(edit.TaxonomyEditError, match="至少提供 10 条"):
        edit.add_category(**files, entry=entry("energy", "能源服务"),
                          first_sub=entry("gas_supply", "燃气"),
                          examples=EXAMPLES[:3] * 4)  # fmt: skip
    with pytest.raises(edit.TaxonomyEditError, match="不能与一级分类相同"):
        edit.add_category(**files, entry=entry("energy", "能源服务"),
                          first_sub=entry("energy", "燃气"), examples=EXAMPLES)  # fmt: skip
    assert files["additions_file"].read_bytes() == written


def test_extensions_are_audited_and_made_one_at_a_time(
    files: dict[str, Path], factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        edit.extend(session=session, **files, actor="admin:boss",
                    entry=entry("energy", "能源服务"), first_sub=entry("ev_charging", "充电设施"),
                    examples=[*EXAMPLES, EXAMPLES[0]])  # fmt: skip
        with pytest.raises(edit.TaxonomyEditError, match="已存在"):  # refused: not audited
            edit.extend(session=session, **files, actor="admin:boss",
                        entry=entry("energy", "能源"), category_code="energy")  # fmt: skip
    with session_scope(factory) as session:
        [event] = audit.recent(session, object_type="taxonomy")
    assert (event.action, event.actor, event.object_id) == ("taxonomy_add", "admin:boss", "energy")
    assert event.data["subcategory"] == "ev_charging" and event.data["examples"] == len(EXAMPLES)

    def add(i: int) -> None:
        with session_scope(factory) as session:
            edit.extend(session=session, **files, actor="admin:boss", category_code="energy",
                        entry=entry(f"gas_{i}", f"燃气{i}"))  # fmt: skip

    threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    [energy] = additions.read(files["additions_file"])["categories"]
    added = additions.read(files["additions_file"])["subcategories"].get("energy", [])
    codes = {s["code"] for s in energy["subcategories"] + added}
    assert codes == {"ev_charging", *(f"gas_{i}" for i in range(6))}  # none lost
    with session_scope(factory) as session:
        assert len(audit.recent(session, object_type="taxonomy")) == 7
