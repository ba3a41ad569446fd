"""The 12345 taxonomy read from data/taxonomy.yml (shared with the Rasa side as data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from core import labels
from core.labels import TIERS


@dataclass(frozen=True)
class Entry:
    """What every taxonomy entry has: who handles it, in how many working days, at what tier."""

    code: str
    name: str
    department: str
    sla_days: int
    tier: str


@dataclass(frozen=True)
class Subcategory(Entry):  # 二级分类
    terms: tuple[str, ...] = ()
    urgent: tuple[str, ...] = ()


# A top-level category ``x`` is the Rasa intent ``report_x`` (domain.yml, data/nlu/).
INTENT_PREFIX = "report_"


def intent_of(category_code: str) -> str:
    """The Rasa intent of a category: ``environment`` → ``report_environment``."""
    return f"{INTENT_PREFIX}{category_code}"


def category_of(intent: str | None) -> str | None:
    """The category code of a report intent; None for any other intent (greet, nlu_fallback)."""
    if intent and intent.startswith(INTENT_PREFIX):
        return intent[len(INTENT_PREFIX) :]
    return None


@dataclass(frozen=True)
class Category(Entry):  # 一级分类
    subcategories: tuple[Subcategory, ...] = field(default_factory=tuple)

    @property
    def intent(self) -> str:
        return intent_of(self.code)

    def subcategory(self, code: str | None) -> Subcategory | None:
        return next((s for s in self.subcategories if s.code == code), None)


# 待分类: the resident named no category (the bot's menu was answered with "none of these" or
# left unclear twice); staff classify the ticket before it is dispatched. Not a taxonomy
# entry: the bot (actions/taxonomy.py) sends the same code.
UNCLASSIFIED = "unclassified"
UNCLASSIFIED_SLA_DAYS = 1  # the hotline classifies it within a working day


class TaxonomyError(ValueError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]

    def get(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def name_of(self, code: str) -> str:
        """The Chinese name of a category code; 待分类 for UNCLASSIFIED; an unknown code as is."""
        if code == UNCLASSIFIED:
            return labels.UNCLASSIFIED
        category = self.get(code)
        return category.name if category else code

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


def merge_additions(base: dict, additions: dict) -> dict:
    """The raw taxonomy with the additions made from the console; neither input is changed.

    ``additions`` has the layout of data/taxonomy.yml: new top-level ``categories`` follow
    the shipped ones, and ``subcategories`` (a mapping from a top-level code to a list)
    follow their category's own.
    """
    if not isinstance(additions, dict):
        raise TaxonomyError("taxonomy additions must be a mapping")
    new_subs = additions.get("subcategories") or {}
    if not isinstance(new_subs, dict):
        raise TaxonomyError("taxonomy additions: subcategories must map category codes to lists")
    categories = [
        {**c, "subcategories": list(c.get("subcategories") or [])}
        for c in [*(base.get("categories") or []), *(additions.get("categories") or [])]
        if isinstance(c, dict)
    ]
    by_code = {str(c.get("code")): c for c in categories}
    for code, subs in new_subs.items():
        if str(code) not in by_code:
            raise TaxonomyError(f"taxonomy additions name an unknown category: {code}")
        by_code[str(code)]["subcategories"].extend(subs or [])
    return {**base, "categories": categories}


def load_taxonomy_with_additions(base: Path, additions: Path) -> Taxonomy:
    """data/taxonomy.yml plus the console's additions under var/ (a missing file adds nothing).

    Not cached: the additions change while the app runs (the console keeps the result).
    """
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    if additions.exists():
        raw = merge_additions(raw, yaml.safe_load(additions.read_text(encoding="utf-8")) or {})
    return parse_taxonomy(raw)
