"""The 12345 taxonomy as the actions need it, read from data/taxonomy.yml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from actions.settings import ROOT, ActionSettings

# A top-level category ``x`` is the Rasa intent ``report_x`` (domain.yml, data/nlu/).
INTENT_PREFIX = "report_"


# A petition whose category the resident did not choose: staff classify it (待分类). The
# case store knows the same code (core.taxonomy.UNCLASSIFIED).
UNCLASSIFIED = "unclassified"
# Typed answers to a category question that mean "none of these".
NONE_ANSWERS = ("都不是", "都不对", "都没有", "没有合适的", "不知道", "不清楚", "不确定", "说不清")


@lru_cache
def confident_category() -> float:
    """The confidence below which a category is the resident's to choose, not the bot's.

    Read from the NLU pipeline (config.yml, SubcategoryClassifier's fallback_threshold),
    where a report below it goes to the category menu: one figure for both paths.
    """
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        if str(component.get("name", "")).endswith("SubcategoryClassifier"):
            return float(component.get("fallback_threshold", 0.0))
    return 0.0


def intent_of(code: str) -> str:
    return f"{INTENT_PREFIX}{code}"


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    department: str
    sla_days: int
    subcategories: dict[str, str]  # code -> name
    short_names: tuple[str, ...] = ()  # what residents type for it ("环保")

    @property
    def intent(self) -> str:
        return intent_of(self.code)


def load(path: Path, additions: Path | None = None) -> dict[str, CategoryInfo]:
    """data/taxonomy.yml plus the console's additions under var/, read again when either
    file changes (admins extend the taxonomy while the bot runs)."""
    extra = additions if additions is not None and additions.exists() else None
    return _load(path, path.stat().st_mtime_ns, extra, extra.stat().st_mtime_ns if extra else 0)


def for_settings(settings: ActionSettings) -> dict[str, CategoryInfo]:
    return load(settings.taxonomy_path, settings.taxonomy_additions_path)


def _merged(path: Path, additions: Path | None) -> dict[str, Any]:
    """The app's ``core.taxonomy.merge_additions``, for this environment: new categories
    follow the shipped ones; ``subcategories`` maps a category code to more subcategories."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if additions is None:
        return raw
    extra = yaml.safe_load(additions.read_text(encoding="utf-8")) or {}
    categories = [
        {**c, "subcategories": list(c.get("subcategories") or [])}
        for c in [*raw["categories"], *(extra.get("categories") or [])]
    ]
    by_code = {c["code"]: c for c in categories}
    for code, subs in (extra.get("subcategories") or {}).items():
        if code in by_code:
            by_code[code]["subcategories"].extend(subs or [])
    return {**raw, "categories": categories}


@lru_cache(maxsize=4)
def _load(
    path: Path, mtime_ns: int, additions: Path | None, additions_mtime_ns: int
) -> dict[str, CategoryInfo]:
    raw = _merged(path, additions)
    return {
        c["code"]: CategoryInfo(
            code=c["code"],
            name=c["name"],
            department=c["department"],
            sla_days=int(c["sla_days"]),
            subcategories={s["code"]: s["name"] for s in c.get("subcategories") or []},
            short_names=tuple(str(n) for n in c.get("short_names") or ()),
        )
        for c in raw["categories"]
    }


def category_for_intent(categories: dict[str, CategoryInfo], intent: str) -> str | None:
    if intent.startswith(INTENT_PREFIX) and intent[len(INTENT_PREFIX) :] in categories:
        return intent[len(INTENT_PREFIX) :]
    return None


def category_from_text(categories: dict[str, CategoryInfo], text: str) -> str | None:
    """Map a resident's answer (a button title or a typed name) to a category code.

    A category's name, code or short name ("环保"), or a subcategory's name ("噪声污染"),
    alone or inside a short answer ("是环保方面的"); None when it names none or several.
    """
    cleaned = text.strip().strip("。.！!？?").lower()
    for info in categories.values():
        if cleaned in (info.name, info.code, *info.short_names):
            return info.code
    for names in (
        lambda i: (i.name,),
        lambda i: i.short_names,
        lambda i: tuple(i.subcategories.values()),
    ):
        found = {i.code for i in categories.values() if any(n and n in cleaned for n in names(i))}
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None


def means_none(text: str) -> bool:
    """Whether a typed answer to a category question means "none of these"."""
    cleaned = text.strip().strip("。.！!？?")
    return any(word in cleaned for word in NONE_ANSWERS) and len(cleaned) <= 12
