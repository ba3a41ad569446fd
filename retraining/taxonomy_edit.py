"""Extending the 12345 taxonomy from the console: a subcategory, or a new top-level category.

Additions are runtime state: they go to ``var/taxonomy-additions.yml`` (``additions.py``), never
into the checkout. An entry is checked against the taxonomy as it is now (data/taxonomy.yml
plus earlier additions), the merged result is parsed again, and only then is the file
replaced in one step, so a refused entry changes nothing. A new category becomes a Rasa
intent at the next training: the trainer generates its domain entry, rule and NLU examples,
and the new words join that training's jieba dictionary.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from core import audit
from core.labels import TIERS
from core.taxonomy import Entry, Taxonomy, TaxonomyError, merge_additions, parse_taxonomy
from retraining import additions

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
MIN_EXAMPLES = 10
_write_lock = threading.Lock()  # one edit of the additions file at a time (``extend``)


class TaxonomyEditError(ValueError):
    """The new entry is not acceptable (message in Chinese)."""


@dataclass(frozen=True)
class NewEntry(Entry):
    """A category or subcategory an admin adds, with words that help jieba and the lexicon."""

    terms: tuple[str, ...] = ()


def _check(entry: NewEntry, taxonomy: Taxonomy) -> None:
    if not CODE_RE.match(entry.code):
        raise TaxonomyEditError("编码只能用小写英文字母、数字和下划线，3到41位，以字母开头")
    codes = {c.code for c in taxonomy.categories} | {
        s.code for c in taxonomy.categories for s in c.subcategories
    }
    if entry.code in codes:
        raise TaxonomyEditError(f"编码 {entry.code} 已存在")
    names = {c.name for c in taxonomy.categories} | {
        s.name for c in taxonomy.categories for s in c.subcategories
    }
    if not entry.name.strip() or entry.name in names:
        raise TaxonomyEditError(f"名称「{entry.name}」为空或已存在")
    if not entry.department.strip():
        raise TaxonomyEditError("请填写承办部门")
    if not 1 <= entry.sla_days <= 60:
        raise TaxonomyEditError("办理时限应为1到60个工作日")
    if entry.tier not in TIERS:
        raise TaxonomyEditError("办理层级应为 网格、社区、街道 或 区")


def _fields(entry: NewEntry) -> dict[str, Any]:
    return {
        "code": entry.code,
        "name": entry.name,
        "department": entry.department,
        "sla_days": entry.sla_days,
        "tier": entry.tier,
    }


def _sub(entry: NewEntry) -> dict[str, Any]:
    return {**_fields(entry), "terms": list(entry.terms), "urgent": []}


def _distinct(examples: Sequence[str]) -> list[str]:
    """Residents' sayings without blanks and repeats (spaces normalised)."""
    return list(dict.fromkeys(" ".join(e.split()) for e in examples if e.strip()))


def _merged(taxonomy_file: Path, raw: dict[str, Any]) -> Taxonomy:
    base = yaml.safe_load(taxonomy_file.read_text(encoding="utf-8"))
    return parse_taxonomy(merge_additions(base, raw))


def _save(taxonomy_file: Path, additions_file: Path, raw: dict[str, Any]) -> Taxonomy:
    try:
        updated = _merged(taxonomy_file, raw)
    except TaxonomyError as exc:
        raise TaxonomyEditError(f"新分类与分类表不一致：{exc}") from exc
    additions.write(additions_file, raw)
    return updated


def add_subcategory(
    *, taxonomy_file: Path, additions_file: Path, category_code: str, entry: NewEntry
) -> Taxonomy:
    """A new subcategory of a shipped or added category; returns the updated taxonomy."""
    raw = additions.read(additions_file)
    taxonomy = _merged(taxonomy_file, raw)
    if taxonomy.get(category_code) is None:
        raise TaxonomyEditError(f"未知的一级分类：{category_code}")
    _check(entry, taxonomy)
    raw["subcategories"].setdefault(category_code, []).append(_sub(entry))
    return _save(taxonomy_file, additions_file, raw)


def add_category(
    *,
    taxonomy_file: Path,
    additions_file: Path,
    entry: NewEntry,
    first_sub: NewEntry,
    examples: list[str],
) -> Taxonomy:
    """A new top-level category (a Rasa intent) with its first subcategory and examples."""
    raw = additions.read(additions_file)
    taxonomy = _merged(taxonomy_file, raw)
    _check(entry, taxonomy)
    _check(first_sub, taxonomy)
    if first_sub.code == entry.code:
        raise TaxonomyEditError("二级分类编码不能与一级分类相同")
    examples = _distinct(examples)
    if len(examples) < MIN_EXAMPLES:
        raise TaxonomyEditError(f"请至少提供 {MIN_EXAMPLES} 条不同的市民说法作为训练样本")
    raw["categories"].append(
        {**_fields(entry), "subcategories": [_sub(first_sub)], "examples": examples}
    )
    return _save(taxonomy_file, additions_file, raw)


def extend(
    *,
    session: Session,
    taxonomy_file: Path,
    additions_file: Path,
    actor: str,
    entry: NewEntry,
    category_code: str | None = None,
    first_sub: NewEntry | None = None,
    examples: Sequence[str] = (),
) -> Taxonomy:
    """Add a subcategory of ``category_code``, or else a new category (with ``first_sub`` and
    ``examples``); audited (``taxonomy_add``). Returns the updated taxonomy.

    Edits of this app process are serialised, each reading the file the one before wrote.
    """
    with _write_lock:
        if category_code is not None:
            updated = add_subcategory(
                taxonomy_file=taxonomy_file,
                additions_file=additions_file,
                category_code=category_code,
                entry=entry,
            )
            data: dict[str, Any] = {"category": category_code, **_fields(entry)}
        else:
            if first_sub is None:
                raise TaxonomyEditError("新的一级分类需要第一个二级分类")
            updated = add_category(
                taxonomy_file=taxonomy_file,
                additions_file=additions_file,
                entry=entry,
                first_sub=first_sub,
                examples=list(examples),
            )
            data = {**_fields(entry), "subcategory": first_sub.code,
                    "examples": len(_distinct(examples))}  # fmt: skip
        data["terms"] = list(entry.terms)
    audit.record(session, actor=actor, action="taxonomy_add", object_type="taxonomy",
                 object_id=entry.code, data=data)  # fmt: skip
    return updated
