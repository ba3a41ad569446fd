"""What the model learns from: counts, imbalance, near-duplicates and contradictions."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rapidfuzz import fuzz, process

from retraining import additions
from retraining.models import TrainingExample
from retraining.workspace import Workspace

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")
NEAR_DUPLICATE = 92  # rapidfuzz ratio
MAX_PAIRS = 50


@dataclass(frozen=True)
class Item:
    text: str
    intent: str
    subcategory: str | None
    origin: str  # file name, or "#<id>" for a collected example


@dataclass
class Report:
    items: list[Item]
    intent_counts: list[tuple[str, int]]
    sub_counts: list[tuple[str, str, int]]
    warnings: list[str] = field(default_factory=list)
    contradictions: list[tuple[str, list[Item]]] = field(default_factory=list)
    near_duplicates: list[tuple[Item, Item, int]] = field(default_factory=list)
    collected: list[TrainingExample] = field(default_factory=list)


def nlu_items(data: dict[str, Any], origin: str) -> list[Item]:
    """The examples of Rasa NLU data (``{"nlu": [...]}``), one item per example."""
    items = []
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue
        sub = (block.get("metadata") or {}).get("subcategory")
        examples = block.get("examples") or ""
        if isinstance(examples, list):  # imported history: text and metadata per example
            lines = [
                (str(e.get("text", "")), (e.get("metadata") or {}).get("subcategory") or sub)
                for e in examples
                if isinstance(e, dict)
            ]
        else:
            lines = [(line, sub) for line in str(examples).splitlines()]
        for line, line_sub in lines:
            text = ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
            if text:
                items.append(Item(text, str(block["intent"]), line_sub, origin))
    return items


def seed_items(seed_dir: Path) -> list[Item]:
    items = []
    for path in sorted(seed_dir.rglob("*.yml")):
        items += nlu_items(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.name)
    return items


def training_items(workspace: Workspace) -> list[Item]:
    """What training reads besides accepted examples: project data, imports, added categories."""
    added = additions.nlu_data(additions.read(workspace.taxonomy_additions))
    return [
        *seed_items(workspace.project / "data" / "nlu"),
        *seed_items(workspace.imported_dir),
        *nlu_items(added, workspace.taxonomy_additions.name),
    ]


def _key(text: str) -> str:
    return re.sub(r"[\s，。！？,.!?、；;：:]", "", text).lower()


def analyse(*, seed: Sequence[Item], accepted: list[TrainingExample]) -> Report:
    items = list(seed) + [Item(e.text, str(e.intent), e.subcategory, f"#{e.id}") for e in accepted]
    intents = Counter(i.intent for i in items)
    subs = Counter((i.intent, i.subcategory) for i in items if i.subcategory)
    report = Report(
        items=items,
        intent_counts=sorted(intents.items(), key=lambda kv: (-kv[1], kv[0])),
        sub_counts=sorted(((k[0], str(k[1]), n) for k, n in subs.items()), key=lambda t: t[2]),
        collected=accepted,
    )
    reports = [n for name, n in intents.items() if name.startswith("report_")]
    if reports:
        median = statistics.median(reports)
        for name, n in sorted(intents.items()):
            if name.startswith("report_") and n < median / 2:
                report.warnings.append(
                    f"{name} 只有 {n} 条样本（诉求分类中位数 {median:.0f}），容易被误判"
                )
    if subs:
        median = statistics.median(subs.values())
        for (intent, sub), n in sorted(subs.items(), key=lambda kv: kv[1]):
            if n < median / 2:
                report.warnings.append(f"{intent} / {sub} 只有 {n} 条样本（中位数 {median:.0f}）")
    by_key: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_key[_key(item.text)].append(item)
    report.contradictions = [
        (group[0].text, group)
        for group in by_key.values()
        if len({(i.intent, i.subcategory) for i in group}) > 1
    ]
    texts = [_key(i.text) for i in items]
    scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE,
                           dtype=np.uint8, workers=1)  # fmt: skip
    rows, cols = np.nonzero(np.triu(scores, k=1))
    pairs = [
        (items[a], items[b], int(scores[a, b]))
        for a, b in zip(rows.tolist(), cols.tolist(), strict=True)
        if texts[a] != texts[b]
    ]
    pairs.sort(key=lambda p: (p[0].intent == p[1].intent, -p[2]))  # different labels first
    report.near_duplicates = pairs[:MAX_PAIRS]
    return report
