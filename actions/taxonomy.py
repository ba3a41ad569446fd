"""The 12345 taxonomy as the actions need it, read from data/taxonomy.yml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

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


def load(path: Path) -> dict[str, CategoryInfo]:
    """The taxonomy, read again when the file changes (admins extend it from the console)."""
    return _load(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> dict[str, CategoryInfo]:
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
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
