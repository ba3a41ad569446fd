"""What the model learns from: counts, imbalance, near-duplicates and contradictions.

The console's data view must answer at once with tens of thousands of examples (imported
history is thousands of long letters). Counts are cheap: accepted examples are counted in
SQL, data files are parsed once per change (``file_items``). The quality check —
contradictions and near-duplicates over every example — is not: it runs in the background
(``QualityChecks``) whenever the data changed, and the page shows the latest result. Its
near-duplicate search compares only pairs that share rare character pairs (a prefix filter),
not every pair: all pairs of 20,000 letters would take minutes and gigabytes.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from core.clock import utcnow
from retraining import additions
from retraining.workspace import Workspace

log = logging.getLogger(__name__)

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")
NEAR_DUPLICATE = 92  # rapidfuzz ratio
MAX_PAIRS = 50
MAX_CONTRADICTIONS = 50
CHECK_SECONDS = 30.0  # the near-duplicate search stops there (texts alike in bulk: letters)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10× faster


@dataclass(frozen=True)
class Item:
    text: str
    intent: str
    subcategory: str | None
    origin: str  # file name, or "#<id>" for a collected example


@dataclass(frozen=True)
class Shortage:
    """An intent (or subcategory) with fewer than half the median number of examples."""

    intent: str
    subcategory: str | None
    count: int
    median: float


@dataclass(frozen=True)
class Counts:
    total: int
    intent_counts: list[tuple[str, int]]
    sub_counts: list[tuple[str, str, int]]  # fewest first
    shortages: list[Shortage] = field(default_factory=list)


@dataclass(frozen=True)
class Quality:
    """The result of one quality check of the whole training data."""

    item_count: int
    contradictions: list[tuple[str, list[Item]]]  # same text, different labels
    near_duplicates: list[tuple[Item, Item, int]]  # different labels first
    checked_at: datetime
    complete: bool = True  # False: the near-duplicate search ran out of time (CHECK_SECONDS)


# ---------------------------------------------------------------- reading the data


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


_FILES: dict[Path, tuple[tuple[int, int], list[Item]]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def file_items(path: Path) -> list[Item]:
    """The examples of one NLU file, parsed again only when the file changed."""
    stamp = _stamp(path)
    cached = _FILES.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}  # noqa: S506
    items = nlu_items(data, path.name)
    _FILES[path] = (stamp, items)
    return items


def _data_files(workspace: Workspace) -> list[Path]:
    return [
        *sorted((workspace.project / "data" / "nlu").rglob("*.yml")),
        *(sorted(workspace.imported_dir.rglob("*.yml")) if workspace.imported_dir.is_dir() else []),
    ]


def seed_items(seed_dir: Path) -> list[Item]:
    return [item for path in sorted(seed_dir.rglob("*.yml")) for item in file_items(path)]


def training_items(workspace: Workspace) -> list[Item]:
    """What training reads besides accepted examples: project data, imports, added categories."""
    added = additions.nlu_data(additions.read(workspace.taxonomy_additions))
    return [
        *(item for path in _data_files(workspace) for item in file_items(path)),
        *nlu_items(added, workspace.taxonomy_additions.name),
    ]


def data_stamp(workspace: Workspace) -> tuple[Hashable, ...]:
    """Changes whenever a data file that ``training_items`` reads changes."""
    files = [*_data_files(workspace), workspace.taxonomy_additions]
    return tuple((str(p), _stamp(p)) for p in files if p.is_file())


# ---------------------------------------------------------------- counts


def count(*, seed: Sequence[Item], accepted: Iterable[tuple[str, str | None, int]]) -> Counts:
    """Examples per intent and per subcategory, and the classes with too few of them.

    ``accepted``: (intent, subcategory, count) of the accepted examples, counted in SQL.
    """
    intents: Counter[str] = Counter(i.intent for i in seed)
    subs: Counter[tuple[str, str]] = Counter(
        (i.intent, i.subcategory) for i in seed if i.subcategory
    )
    total = len(seed)
    for intent, sub, n in accepted:
        intents[intent] += n
        total += n
        if sub:
            subs[(intent, sub)] += n
    shortages = []
    reports = [n for name, n in intents.items() if name.startswith("report_")]
    if reports:
        median = statistics.median(reports)
        shortages += [
            Shortage(name, None, n, median)
            for name, n in sorted(intents.items())
            if name.startswith("report_") and n < median / 2
        ]
    if subs:
        median = statistics.median(subs.values())
        shortages += [
            Shortage(intent, sub, n, median)
            for (intent, sub), n in sorted(subs.items(), key=lambda kv: kv[1])
            if n < median / 2
        ]
    return Counts(
        total=total,
        intent_counts=sorted(intents.items(), key=lambda kv: (-kv[1], kv[0])),
        sub_counts=sorted(((k[0], k[1], n) for k, n in subs.items()), key=lambda t: t[2]),
        shortages=shortages,
    )


# ---------------------------------------------------------------- quality


def _key(text: str) -> str:
    return re.sub(r"[\s，。！？,.!?、；;：:]", "", text).lower()


def check(items: Sequence[Item]) -> Quality:
    """Contradictions (same text, different labels) and near-duplicates of all items."""
    by_key: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_key[_key(item.text)].append(item)
    contradictions = [
        (group[0].text, group)
        for group in by_key.values()
        if len({(i.intent, i.subcategory) for i in group}) > 1
    ]
    deadline = time.monotonic() + CHECK_SECONDS
    pairs = near_duplicates(by_key, deadline=deadline)
    return Quality(
        item_count=len(items),
        contradictions=contradictions[:MAX_CONTRADICTIONS],
        near_duplicates=pairs,
        checked_at=utcnow(),
        complete=time.monotonic() < deadline,
    )


def near_duplicates(
    by_key: dict[str, list[Item]],
    *,
    cutoff: int = NEAR_DUPLICATE,
    limit: int = MAX_PAIRS,
    deadline: float | None = None,
) -> list[tuple[Item, Item, int]]:
    """Pairs of items whose texts differ but are at least ``cutoff`` alike (fuzz.ratio).

    Different labels first, then the most alike. Only key pairs that pass a prefix filter
    are compared: for a ratio r the Indel distance of texts of lengths a and b is at most
    (1 - r)(a + b), each insertion or deletion removes at most 2 of a text's distinct
    character pairs, so two texts alike enough share all but 2·d_max of them, and then one
    of the 2·d_max + 1 rarest of either text's (the prefix).
    """
    keys = sorted((k for k in by_key if len(k) > 1), key=len)
    r = cutoff / 100
    grams = [set(map(str.__add__, k, k[1:])) for k in keys]
    frequency: Counter[str] = Counter()
    for g in grams:
        frequency.update(g)
    index: dict[str, list[int]] = defaultdict(list)
    unfiltered: list[int] = []  # too short for the filter: compared with every shorter key
    found: list[tuple[int, int, float]] = []
    for a, key in enumerate(keys):
        if deadline is not None and a % 64 == 0 and time.monotonic() > deadline:
            break  # the pairs found so far (shorter texts first)
        size = len(key)
        allowed = int(2 * (1 - r) * size / r + 1e-9)  # Indel distance to any partner
        prefix_len = 2 * allowed + 1
        shortest = size * r / (2 - r)
        if prefix_len > len(grams[a]):
            candidates: Iterable[int] = range(a)
            unfiltered.append(a)
        else:
            prefix = sorted(grams[a], key=lambda g: (frequency[g], g))[:prefix_len]
            seen: set[int] = set(unfiltered)
            for gram in prefix:
                seen.update(index[gram])
            candidates = seen
            for gram in prefix:
                index[gram].append(a)
        for b in candidates:
            if len(keys[b]) < shortest:
                continue
            score = fuzz.ratio(key, keys[b], score_cutoff=cutoff)
            if score:
                found.append((b, a, score))
    pairs = [
        (x, y, round(score))
        for b, a, score in found
        for x in by_key[keys[b]]
        for y in by_key[keys[a]]
    ]
    pairs.sort(key=lambda p: (p[0].intent == p[1].intent, -p[2]))
    return pairs[:limit]


class QualityChecks:
    """The latest quality check of the training data, and at most one running in the
    background when the data changed since (a page view never waits for one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[Hashable, tuple[Hashable, Quality]] = {}
        self._thread: threading.Thread | None = None

    def latest(
        self, scope: Hashable, stamp: Hashable, load: Callable[[], list[Item]]
    ) -> tuple[Quality | None, bool]:
        """The latest result for ``scope`` (a database) and whether it is of the data
        ``stamp`` names. When it is not, a check of ``load()`` starts in the background
        (unless one runs already)."""
        with self._lock:
            latest = self._latest.get(scope)
            current = latest is not None and latest[0] == stamp
            if not current and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, args=(scope, stamp, load), name="training-data-check",
                    daemon=True,
                )  # fmt: skip
                self._thread.start()
        return (latest[1] if latest else None), current

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, scope: Hashable, stamp: Hashable, load: Callable[[], list[Item]]) -> None:
        try:
            result = check(load())
        except Exception:  # the page keeps showing the previous result
            log.exception("training data check failed")
            return
        with self._lock:
            self._latest[scope] = (stamp, result)


QUALITY = QualityChecks()
