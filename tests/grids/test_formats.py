from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from core.settings import ROOT
from grids import formats
from grids.registry import Registry, RegistryError, load_registry, load_registry_files


def canonical(districts: list[dict[str, Any]]) -> str:
    """Compare registries independent of list order inside places."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items()) if v not in ([], None, "")}
        if isinstance(value, list):
            return [norm(v) for v in value]
        if isinstance(value, float):
            return round(value, 7)
        return value

    return json.dumps(norm(districts), ensure_ascii=False, sort_keys=True)


@pytest.fixture(scope="module")
def districts() -> list[dict[str, Any]]:
    return formats.read_yaml_dir(ROOT / "data" / "grids")


def test_geojson_round_trip(districts: list[dict[str, Any]]) -> None:
    collection = json.loads(formats.dumps_geojson(districts))
    assert collection["features"][0]["geometry"]["type"] == "Polygon"
    assert canonical(formats.from_geojson(collection)) == canonical(districts)


def test_csv_round_trip(districts: list[dict[str, Any]]) -> None:
    assert canonical(formats.from_csv(formats.to_csv(districts))) == canonical(districts)


def test_bad_files_are_refused() -> None:
    with pytest.raises(formats.FormatError):
        formats.from_geojson({"type": "Feature"})
    with pytest.raises(formats.FormatError, match="缺少列"):
        formats.from_csv("grid_code,grid_name\n1,a\n")


def write(tmp_path: Any, districts: list[dict[str, Any]]) -> Registry:
    path = tmp_path / "d.yml"
    path.write_text(formats.to_yaml(districts[0]), encoding="utf-8")
    return load_registry_files([path])


def test_validation_finds_overlaps_outside_points_and_duplicates(
    tmp_path: Any, districts: list[dict[str, Any]]
) -> None:
    assert write(tmp_path, districts).validate() == []
    broken = copy.deepcopy(districts)
    community = broken[0]["streets"][0]["communities"][0]
    first, second = community["grids"][0], community["grids"][1]
    second["boundary"] = first["boundary"]  # overlap
    first["places"][0]["point"] = [0.0, 0.0]  # outside its grid
    first["worker"] = {"name": "", "phone": ""}
    problems = write(tmp_path, broken).validate()
    assert any("重叠" in p for p in problems)
    assert any("不在网格" in p for p in problems)
    assert any("网格员" in p for p in problems)
    duplicate = copy.deepcopy(districts)
    grids = duplicate[0]["streets"][0]["communities"][0]["grids"]
    grids[1]["code"] = grids[0]["code"]
    with pytest.raises(RegistryError, match="重复"):
        write(tmp_path, duplicate)


def test_a_units_own_units_are_found_below_it() -> None:
    registry = load_registry(ROOT / "data" / "grids")
    street = registry.units_within("510107001")  # 玉林街道 and its communities
    assert "510107001" in street and "510107001001" in street
    assert "510107002" not in street and "510107" not in street
    assert registry.units_within("510107001001") == ("510107001001",)
