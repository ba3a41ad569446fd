"""The 12345 taxonomy as the actions need it, read from data/taxonomy.yml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from actions.settings import ActionSettings

# A top-level category ``x`` is the Rasa intent ``report_x`` (domain.yml, data/nlu/).
INTENT_PREFIX = "report_"


def intent_of(code: str) -> str:
    return f"{INTENT_PREFIX}{code}"


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    department: str
    sla_days: int
    subcategories: dict[str, str]  # code -> name

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
        )
        for c in raw["categories"]
    }


def category_for_intent(categories: dict[str, CategoryInfo], intent: str) -> str | None:
    if intent.startswith(INTENT_PREFIX) and intent[len(INTENT_PREFIX) :] in categories:
        return intent[len(INTENT_PREFIX) :]
    return None


def category_from_text(categories: dict[str, CategoryInfo], text: str) -> str | None:
    """Map a resident's answer (a button title or typed name) to a category code."""
    cleaned = text.strip().strip("。.！!")
    for info in categories.values():
        if cleaned in (info.name, info.code):
            return info.code
    matches: list[str] = [info.code for info in categories.values() if info.name in cleaned]
    return matches[0] if len(matches) == 1 else None
