"""The 12345 taxonomy read from data/taxonomy.yml (shared with the Rasa side as data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

TIERS = ("grid", "community", "street", "district")


@dataclass(frozen=True)
class Subcategory:  # 二级分类
    code: str
    name: str
    department: str
    sla_days: int
    tier: str
    terms: tuple[str, ...] = ()
    urgent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:  # 一级分类
    code: str
    name: str
    department: str
    sla_days: int
    tier: str
    subcategories: tuple[Subcategory, ...] = field(default_factory=tuple)

    @property
    def intent(self) -> str:
        return f"report_{self.code}"

    def subcategory(self, code: str | None) -> Subcategory | None:
        return next((s for s in self.subcategories if s.code == code), None)


class TaxonomyError(ValueError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]

    def get(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def by_name(self, name: str) -> Category | None:
        return next((c for c in self.categories if c.name == name), None)

    def codes(self) -> list[str]:
        return [c.code for c in self.categories]


def _sub(raw: dict) -> Subcategory:
    return Subcategory(
        code=str(raw["code"]),
        name=str(raw["name"]),
        department=str(raw["department"]),
        sla_days=int(raw["sla_days"]),
        tier=str(raw["tier"]),
        terms=tuple(raw.get("terms") or ()),
        urgent=tuple(raw.get("urgent") or ()),
    )


def parse_taxonomy(raw: dict) -> Taxonomy:
    """Build and check a taxonomy from its YAML structure."""
    try:
        categories = tuple(
            Category(
                code=str(c["code"]),
                name=str(c["name"]),
                department=str(c["department"]),
                sla_days=int(c["sla_days"]),
                tier=str(c["tier"]),
                subcategories=tuple(_sub(s) for s in c.get("subcategories") or ()),
            )
            for c in raw["categories"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TaxonomyError(f"taxonomy entry is incomplete: {exc!r}") from exc
    codes = [c.code for c in categories]
    if len(set(codes)) != len(codes):
        raise TaxonomyError("duplicate top-level category codes")
    for cat in categories:
        sub_codes = [s.code for s in cat.subcategories]
        if len(set(sub_codes)) != len(sub_codes):
            raise TaxonomyError(f"duplicate subcategory codes in {cat.code}")
        for tier in [cat.tier, *(s.tier for s in cat.subcategories)]:
            if tier not in TIERS:
                raise TaxonomyError(f"unknown tier {tier!r} in {cat.code}")
    return Taxonomy(categories=categories)


@lru_cache
def load_taxonomy(path: Path) -> Taxonomy:
    with path.open(encoding="utf-8") as fh:
        return parse_taxonomy(yaml.safe_load(fh))
