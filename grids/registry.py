"""The grid registry: district → street → community/village → grid, with their places.

Loaded from ``data/grids/*.yml`` (schema in docs and in the files' headers) and checked with
shapely: duplicate codes, overlapping grids, gaps inside a community, places outside their
grid, missing workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union


class RegistryError(ValueError):
    """The registry files are malformed."""


# Endings residents drop ("玉林街道" → "玉林", "丰台区" → "丰台", "白佛村" → "白佛"). Places
# are not shortened automatically: "倪家桥" for 倪家桥小区 would take the road's and the
# station's name; their short forms are written into the registry as aliases.
SHORT_FORM_ENDINGS: dict[str, tuple[str, ...]] = {
    "district": ("区", "县"),
    "street": ("街道办事处", "街道办", "街道", "乡", "镇"),
    "community": ("社区居委会", "社区", "村委会", "村"),
}


def short_form(name: str, kind: str) -> str | None:
    """The common short form of a registry name, if its kind has one (at least 2 characters)."""
    for ending in SHORT_FORM_ENDINGS.get(kind, ()):
        if name.endswith(ending) and len(name) - len(ending) >= 2:
            return name[: -len(ending)]
    return None


@dataclass(frozen=True)
class Unit:
    """A district, street or community (村/社区)."""

    code: str
    name: str
    tier: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    kind: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # road | compound | building | landmark | village_group
    grid_code: str
    point: tuple[float, float]
    aliases: tuple[str, ...] = ()
    numbers: tuple[int, int] | None = None
    buildings: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Grid:  # 网格
    code: str
    name: str
    community: str
    street: str
    district: str
    worker_name: str
    worker_phone: str
    households: int
    boundary: tuple[tuple[float, float], ...]
    aliases: tuple[str, ...] = ()

    def within(self, unit_code: str) -> bool:
        """Whether the grid lies in that community, street or district."""
        return unit_code in (self.community, self.street, self.district)

    @property
    def polygon(self) -> Polygon:
        return Polygon(self.boundary)


@dataclass
class Registry:
    grids: dict[str, Grid] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    places: list[Place] = field(default_factory=list)

    def chain(self, grid_code: str) -> list[dict[str, str]]:
        """The tier chain for escalation: grid → community → street → district.

        A unit's code gives the chain from that unit up.
        """
        if grid_code in self.units:
            chain: list[dict[str, str]] = []
            code: str | None = grid_code
        else:
            grid = self.grids[grid_code]
            chain = [{"tier": "grid", "code": grid.code, "name": grid.name}]
            code = grid.community
        while code:
            unit = self.units[code]
            chain.append({"tier": unit.tier, "code": unit.code, "name": unit.name})
            code = unit.parent
        return chain

    def grids_within(self, unit_code: str) -> list[Grid]:
        """The grids of a district, street or community."""
        return [g for g in self.grids.values() if g.within(unit_code)]

    def units_within(self, unit_code: str) -> tuple[str, ...]:
        """The unit and every unit below it (a street's communities and villages)."""
        found = []
        for unit in self.units.values():
            code: str | None = unit.code
            while code is not None and code != unit_code:
                code = self.units[code].parent if code in self.units else None
            if code == unit_code:
                found.append(unit.code)
        return tuple(sorted(found))

    def lowest_common_unit(self, grid_codes: list[str]) -> Unit | None:
        """The smallest unit holding every one of the grids (None when they share none)."""
        chains = [[step["code"] for step in self.chain(code)[1:]] for code in grid_codes]
        for code in chains[0] if chains else []:
            if all(code in chain for chain in chains):
                return self.units[code]
        return None

    def all_names(self) -> list[str]:
        """Every name and alias of every unit, grid and place (for dictionaries)."""
        names = [n for unit in self.units.values() for n in unit.names]
        names += [n for grid in self.grids.values() for n in (grid.name, *grid.aliases)]
        return names + [n for place in self.places for n in place.names]

    def add_short_forms(self) -> None:
        """Add each unit's short form as an alias, unless it names something else."""
        taken = set(self.all_names())
        owners: dict[str, list[str]] = {}
        for unit in self.units.values():
            form = short_form(unit.name, unit.tier)
            if form and form not in taken:
                owners.setdefault(form, []).append(unit.code)
        for form, codes in owners.items():
            if len(codes) != 1:
                continue  # two units would share it: a short form that says nothing
            unit = self.units[codes[0]]
            self.units[unit.code] = replace(unit, aliases=(*unit.aliases, form))

    def full_name(self, code: str) -> str:
        """ "武侯区 玉林街道 黉门街社区 …" for a grid's or a unit's code."""
        names = [step["name"] for step in reversed(self.chain(code))]
        return " ".join(names)

    def validate(self) -> list[str]:
        """Problems found, in Chinese (empty when the registry is consistent)."""
        problems: list[str] = []
        by_community: dict[str, list[Grid]] = {}
        for grid in self.grids.values():
            by_community.setdefault(grid.community, []).append(grid)
            if not grid.polygon.is_valid:
                problems.append(f"网格 {grid.code} 的边界不是有效多边形")
            if not grid.worker_name or not grid.worker_phone:
                problems.append(f"网格 {grid.code} 缺少网格员姓名或电话")
            if grid.community not in self.units:
                problems.append(f"网格 {grid.code} 的上级 {grid.community} 不存在（孤立网格）")
        grids = list(self.grids.values())
        for i, a in enumerate(grids):
            for b in grids[i + 1 :]:
                if a.polygon.intersection(b.polygon).area > 1e-12:
                    problems.append(f"网格 {a.code} 与 {b.code} 的边界重叠")
        for community, members in by_community.items():
            union = unary_union([g.polygon for g in members])
            # Grids of a community tile its outline: holes inside the union are gaps.
            holes = sum(Polygon(ring).area for ring in getattr(union, "interiors", []))
            if union.geom_type != "Polygon" or holes > 1e-12:
                problems.append(f"社区（村）{community} 的网格之间有空隙或不相连")
        for place in self.places:
            owner = self.grids.get(place.grid_code)
            if owner is None:
                problems.append(f"地点 {place.name} 属于不存在的网格 {place.grid_code}")
            elif not owner.polygon.covers(Point(place.point)):
                problems.append(f"地点 {place.name} 的坐标不在网格 {owner.code} 范围内")
        for unit in self.units.values():
            if unit.parent and unit.parent not in self.units:
                problems.append(f"{unit.name} 的上级 {unit.parent} 不存在")
        return problems


def _tuple(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (values or ()))


def _add_unit(registry: Registry, unit: Unit) -> None:
    if unit.code in registry.units or unit.code in registry.grids:
        raise RegistryError(f"重复的编码：{unit.code}")
    registry.units[unit.code] = unit


def load_registry_files(paths: list[Path]) -> Registry:
    registry = Registry()
    for path in paths:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            district = raw["district"]
            _load_district(registry, district)
        except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
            if isinstance(exc, RegistryError):
                raise
            raise RegistryError(f"{path.name}: 格式错误：{exc!r}") from exc
    registry.add_short_forms()
    return registry


def _load_district(registry: Registry, district: dict[str, Any]) -> None:
    _add_unit(
        registry,
        Unit(
            str(district["code"]),
            str(district["name"]),
            "district",
            _tuple(district.get("aliases")),
        ),
    )
    for street in district.get("streets") or []:
        _add_unit(
            registry,
            Unit(
                str(street["code"]), str(street["name"]), "street",
                _tuple(street.get("aliases")), str(district["code"]),
            ),
        )  # fmt: skip
        for community in street.get("communities") or []:
            _add_unit(
                registry,
                Unit(
                    str(community["code"]), str(community["name"]), "community",
                    _tuple(community.get("aliases")), str(street["code"]),
                    str(community.get("kind", "community")),
                ),
            )  # fmt: skip
            for grid in community.get("grids") or []:
                _load_grid(registry, grid, community, street, district)


def _load_grid(
    registry: Registry,
    grid: dict[str, Any],
    community: dict[str, Any],
    street: dict[str, Any],
    district: dict[str, Any],
) -> None:
    code = str(grid["code"])
    if code in registry.grids or code in registry.units:
        raise RegistryError(f"重复的网格编码：{code}")
    worker = grid.get("worker") or {}
    registry.grids[code] = Grid(
        code=code,
        name=str(grid["name"]),
        community=str(community["code"]),
        street=str(street["code"]),
        district=str(district["code"]),
        worker_name=str(worker.get("name", "")),
        worker_phone=str(worker.get("phone", "")),
        households=int(grid.get("households", 0)),
        boundary=tuple((float(x), float(y)) for x, y in grid["boundary"]),
        aliases=_tuple(grid.get("aliases")),
    )
    for place in grid.get("places") or []:
        numbers = place.get("numbers")
        registry.places.append(
            Place(
                name=str(place["name"]),
                kind=str(place["kind"]),
                grid_code=code,
                point=(float(place["point"][0]), float(place["point"][1])),
                aliases=_tuple(place.get("aliases")),
                numbers=(int(numbers[0]), int(numbers[1])) if numbers else None,
                buildings=_tuple(place.get("buildings")),
            )
        )


@lru_cache
def load_registry(grids_dir: Path) -> Registry:
    return load_registry_files(sorted(grids_dir.glob("*.yml")))
