"""Registry files in three formats: YAML (the source of truth), GeoJSON and CSV.

All conversions go through the YAML structure (a list of ``district`` dicts), so
YAML → GeoJSON → YAML and YAML → CSV → YAML give back the same registry.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from shapely import wkt
from shapely.geometry import Polygon, mapping, shape

HIERARCHY = ("district", "street", "community")
CSV_COLUMNS = [
    "district_code", "district_name", "city", "province", "district_aliases",
    "street_code", "street_name", "street_aliases",
    "community_code", "community_name", "community_kind", "community_aliases",
    "grid_code", "grid_name", "grid_aliases", "worker_name", "worker_phone", "households",
    "boundary_wkt",
    "place_name", "place_kind", "place_aliases", "numbers", "buildings", "lon", "lat",
]  # fmt: skip
LIST_SEPARATOR = "|"


class FormatError(ValueError):
    """A file cannot be read as a grid registry."""


def read_yaml_dir(folder: Path) -> list[dict[str, Any]]:
    return [
        yaml.safe_load(path.read_text(encoding="utf-8"))["district"]
        for path in sorted(folder.glob("*.yml"))
    ]


def to_yaml(district: dict[str, Any]) -> str:
    return yaml.safe_dump({"district": district}, allow_unicode=True, sort_keys=False, width=120)


def _grid_records(districts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat record per grid, with its parents' fields."""
    records = []
    for d in districts:
        for s in d.get("streets") or []:
            for c in s.get("communities") or []:
                for g in c.get("grids") or []:
                    records.append({"district": d, "street": s, "community": c, "grid": g})
    return records


def _unit_props(unit: dict[str, Any], level: str) -> dict[str, Any]:
    props = {f"{level}_code": str(unit["code"]), f"{level}_name": unit["name"]}
    props[f"{level}_aliases"] = list(unit.get("aliases") or [])
    if level == "district":
        props.update(city=unit.get("city", ""), province=unit.get("province", ""))
    if level == "community":
        props["community_kind"] = unit.get("kind", "community")
    return props


def to_geojson(districts: list[dict[str, Any]]) -> dict[str, Any]:
    features = []
    for record in _grid_records(districts):
        grid = record["grid"]
        props: dict[str, Any] = {}
        for level in HIERARCHY:
            props.update(_unit_props(record[level], level))
        worker = grid.get("worker") or {}
        props.update(
            grid_code=str(grid["code"]), grid_name=grid["name"],
            grid_aliases=list(grid.get("aliases") or []),
            worker_name=worker.get("name", ""), worker_phone=worker.get("phone", ""),
            households=grid.get("households", 0), places=grid.get("places") or [],
        )  # fmt: skip
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(Polygon(grid["boundary"])),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _nest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rebuild district → street → community → grid from flat grid records."""
    districts: dict[str, dict[str, Any]] = {}
    for r in records:
        d = districts.setdefault(
            r["district_code"],
            {"code": r["district_code"], "name": r["district_name"], "city": r.get("city", ""),
             "province": r.get("province", ""), "aliases": r.get("district_aliases") or [],
             "streets": []},
        )  # fmt: skip
        s = _child(d["streets"], r["street_code"], r["street_name"], r.get("street_aliases"))
        c = _child(
            s.setdefault("communities", []), r["community_code"], r["community_name"],
            r.get("community_aliases"), kind=r.get("community_kind") or "community",
        )  # fmt: skip
        c.setdefault("grids", []).append(r["grid"])
    result = []
    for d in districts.values():
        if not d["aliases"]:
            del d["aliases"]
        result.append(d)
    return result


def _child(
    items: list[dict[str, Any]], code: str, name: str, aliases: list[str] | None, **extra: Any
) -> dict[str, Any]:
    for item in items:
        if item["code"] == code:
            return item
    item = {"code": code, "name": name, **({"aliases": aliases} if aliases else {}), **extra}
    items.append(item)
    return item


def from_geojson(collection: dict[str, Any]) -> list[dict[str, Any]]:
    if collection.get("type") != "FeatureCollection":
        raise FormatError("GeoJSON 应为 FeatureCollection")
    records = []
    for feature in collection.get("features") or []:
        props = dict(feature.get("properties") or {})
        try:
            ring = [list(p) for p in shape(feature["geometry"]).exterior.coords]
            grid = {
                "code": str(props["grid_code"]),
                "name": props["grid_name"],
                **({"aliases": props["grid_aliases"]} if props.get("grid_aliases") else {}),
                "worker": {
                    "name": props.get("worker_name", ""),
                    "phone": props.get("worker_phone", ""),
                },
                "households": int(props.get("households") or 0),
                "boundary": ring,
                "places": props.get("places") or [],
            }  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError(f"GeoJSON 要素缺少网格字段：{exc!r}") from exc
        records.append({**props, "grid": grid})
    return _nest(records)


def _join(values: Any) -> str:
    return LIST_SEPARATOR.join(str(v) for v in values or [])


def _split(value: str) -> list[str]:
    return [v for v in (value or "").split(LIST_SEPARATOR) if v]


def to_csv(districts: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for record in _grid_records(districts):
        grid = record["grid"]
        base: dict[str, Any] = {}
        for level in HIERARCHY:
            props = _unit_props(record[level], level)
            props[f"{level}_aliases"] = _join(props[f"{level}_aliases"])
            base.update(props)
        worker = grid.get("worker") or {}
        base.update(
            grid_code=grid["code"], grid_name=grid["name"], grid_aliases=_join(grid.get("aliases")),
            worker_name=worker.get("name", ""), worker_phone=worker.get("phone", ""),
            households=grid.get("households", 0), boundary_wkt=Polygon(grid["boundary"]).wkt,
        )  # fmt: skip
        places = grid.get("places") or [{}]
        for place in places:
            row = dict(base)
            if place:
                numbers = place.get("numbers")
                row.update(
                    place_name=place["name"], place_kind=place["kind"],
                    place_aliases=_join(place.get("aliases")),
                    numbers=f"{numbers[0]}-{numbers[1]}" if numbers else "",
                    buildings=_join(place.get("buildings")),
                    lon=place["point"][0], lat=place["point"][1],
                )  # fmt: skip
            writer.writerow(row)
    return buffer.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise FormatError(f"CSV 缺少列：{'、'.join(sorted(missing))}")
    grids: dict[str, dict[str, Any]] = {}
    for row in reader:
        code = row["grid_code"]
        if code not in grids:
            polygon = wkt.loads(row["boundary_wkt"])
            grid: dict[str, Any] = {"code": code, "name": row["grid_name"]}
            if row["grid_aliases"]:
                grid["aliases"] = _split(row["grid_aliases"])
            grid.update(
                worker={"name": row["worker_name"], "phone": row["worker_phone"]},
                households=int(row["households"] or 0),
                boundary=[list(p) for p in polygon.exterior.coords],
                places=[],
            )
            record = {k: row[k] for k in row}
            for level in HIERARCHY:
                record[f"{level}_aliases"] = _split(row[f"{level}_aliases"])
            grids[code] = {**record, "grid": grid}
        if row["place_name"]:
            place: dict[str, Any] = {"name": row["place_name"], "kind": row["place_kind"]}
            place["aliases"] = _split(row["place_aliases"])
            if row["numbers"]:
                low, high = row["numbers"].split("-")
                place["numbers"] = [int(low), int(high)]
            if row["buildings"]:
                place["buildings"] = _split(row["buildings"])
            place["point"] = [float(row["lon"]), float(row["lat"])]
            grids[code]["grid"]["places"].append(place)
    return _nest(list(grids.values()))


def dumps_geojson(districts: list[dict[str, Any]]) -> str:
    return json.dumps(to_geojson(districts), ensure_ascii=False, indent=1)
