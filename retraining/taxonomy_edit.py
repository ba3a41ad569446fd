"""Extending the 12345 taxonomy from the console: a subcategory, or a new top-level category.

The files stay hand-readable (comments kept): entries are appended as text in the existing
layout, then everything is parsed again; on any problem every file is restored. A new
category also becomes a Rasa intent (domain, the rule that starts the form, NLU examples);
the jieba dictionary follows. The model learns it at the next training.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.taxonomy import TIERS, Taxonomy, parse_taxonomy
from retraining.lexicon import build_user_dictionary

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
MIN_EXAMPLES = 10


class TaxonomyEditError(ValueError):
    """The new entry is not acceptable (message in Chinese)."""


@dataclass(frozen=True)
class NewEntry:
    code: str
    name: str
    department: str
    sla_days: int
    tier: str
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


def _flow(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _sub_text(entry: NewEntry) -> str:
    return (
        f"      - code: {entry.code}\n"
        f"        name: {json.dumps(entry.name, ensure_ascii=False)}\n"
        f"        department: {json.dumps(entry.department, ensure_ascii=False)}\n"
        f"        sla_days: {entry.sla_days}\n"
        f"        tier: {entry.tier}\n"
        f"        terms: {_flow(entry.terms)}\n"
        "        urgent: []\n"
    )


class _Files:
    """Remembers the original text of every file it writes, to restore on failure."""

    def __init__(self) -> None:
        self.originals: dict[Path, str | None] = {}

    def write(self, path: Path, text: str) -> None:
        if path not in self.originals:
            self.originals[path] = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")

    def restore(self) -> None:
        for path, text in self.originals.items():
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text, encoding="utf-8")


def _reparse(project: Path) -> Taxonomy:
    raw = yaml.safe_load((project / "data/taxonomy.yml").read_text(encoding="utf-8"))
    return parse_taxonomy(raw)


def _refresh_dictionary(project: Path, taxonomy: Taxonomy, files: _Files) -> None:
    path = project / "data/jieba/userdict.txt"
    files.write(path, build_user_dictionary(project / "data", taxonomy))


def add_subcategory(
    project: Path, taxonomy: Taxonomy, category_code: str, entry: NewEntry
) -> Taxonomy:
    category = taxonomy.get(category_code)
    if category is None:
        raise TaxonomyEditError(f"未知的一级分类：{category_code}")
    _check(entry, taxonomy)
    path = project / "data/taxonomy.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if line.rstrip() == f"  - code: {category_code}"), None
    )
    if start is None:
        raise TaxonomyEditError("分类表格式与预期不同，请在文件中手工添加")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("  - code: ")), len(lines)
    )
    while end > start and not lines[end - 1].strip():
        end -= 1
    files = _Files()
    try:
        text = "".join(lines[:end]) + _sub_text(entry) + "".join(lines[end:])
        files.write(path, text)
        updated = _reparse(project)
        sub = updated.get(category_code)
        if sub is None or sub.subcategory(entry.code) is None:
            raise TaxonomyEditError("写入后未能读到新的二级分类")
        _refresh_dictionary(project, updated, files)
    except Exception:
        files.restore()
        raise
    return updated


def add_category(
    project: Path,
    taxonomy: Taxonomy,
    entry: NewEntry,
    first_sub: NewEntry,
    examples: list[str],
) -> Taxonomy:
    """A new top-level category (and Rasa intent) with its first subcategory and examples."""
    _check(entry, taxonomy)
    _check(first_sub, taxonomy)
    if first_sub.code == entry.code:
        raise TaxonomyEditError("二级分类编码不能与一级分类相同")
    examples = list(dict.fromkeys(" ".join(e.split()) for e in examples if e.strip()))
    if len(examples) < MIN_EXAMPLES:
        raise TaxonomyEditError(f"请至少提供 {MIN_EXAMPLES} 条不同的市民说法作为训练样本")
    intent = f"report_{entry.code}"
    files = _Files()
    try:
        tax_path = project / "data/taxonomy.yml"
        text = tax_path.read_text(encoding="utf-8").rstrip("\n") + "\n"
        text += (
            f"  - code: {entry.code}\n"
            f"    name: {json.dumps(entry.name, ensure_ascii=False)}\n"
            f"    department: {json.dumps(entry.department, ensure_ascii=False)}\n"
            f"    sla_days: {entry.sla_days}\n"
            f"    tier: {entry.tier}\n"
            "    subcategories:\n" + _sub_text(first_sub)
        )
        files.write(tax_path, text)
        _insert_after_last(files, project / "domain.yml", "  - report_", f"  - {intent}\n")
        _insert_after_last(
            files, project / "data/rules/petition.yml", "    - intent: report_",
            f"    - intent: {intent}\n",
        )  # fmt: skip
        nlu = {
            "version": "3.1",
            "nlu": [
                {
                    "intent": intent,
                    "metadata": {"subcategory": first_sub.code},
                    "examples": "".join(
                        f"- {e.replace('[', '［').replace(']', '］')}\n" for e in examples
                    ),
                }
            ],
        }
        files.write(
            project / f"data/nlu/{intent}.yml",
            yaml.safe_dump(nlu, allow_unicode=True, sort_keys=False, width=10_000),
        )
        updated = _reparse(project)
        domain = yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8"))
        if intent not in domain["intents"] or updated.get(entry.code) is None:
            raise TaxonomyEditError("写入后未能读到新的分类")
        _refresh_dictionary(project, updated, files)
    except Exception:
        files.restore()
        raise
    return updated


def _insert_after_last(files: _Files, path: Path, prefix: str, line: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    last = max((i for i, text in enumerate(lines) if text.startswith(prefix)), default=None)
    if last is None:
        raise TaxonomyEditError(f"{path.name} 的格式与预期不同，请手工添加")
    lines.insert(last + 1, line)
    files.write(path, "".join(lines))
