"""Classification metrics: accuracy, macro-F1, per-class P/R/F1 and a confusion matrix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClassReport:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    accuracy: float
    macro_f1: float
    n: int
    per_class: list[ClassReport]
    labels: list[str]
    confusion: list[list[int]]  # rows: gold, columns: predicted (same order as labels)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": [
                {
                    "label": c.label,
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.per_class
            ],
            "labels": self.labels,
            "confusion": self.confusion,
            **self.extra,
        }


def evaluate(gold: list[str], predicted: list[str]) -> Evaluation:
    """Macro averages run over the gold labels (a class never predicted scores 0)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        raise ValueError("nothing to evaluate")
    gold_labels = sorted(set(gold))
    labels = gold_labels + sorted(set(predicted) - set(gold))
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    support = Counter(gold)
    predicted_count = Counter(predicted)
    per_class = []
    for label in gold_labels:
        tp = confusion[index[label]][index[label]]
        precision = tp / predicted_count[label] if predicted_count[label] else 0.0
        recall = tp / support[label]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(ClassReport(label, precision, recall, f1, support[label]))
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    macro_f1 = sum(c.f1 for c in per_class) / len(per_class)
    return Evaluation(accuracy, macro_f1, len(gold), per_class, labels, confusion)


def render(evaluation: Evaluation, names: dict[str, str] | None = None) -> str:
    """A readable table for the terminal."""
    names = names or {}
    width = max(8, *(len(names.get(c.label, c.label)) * 2 for c in evaluation.per_class))
    lines = [
        f"样本数 n={evaluation.n}   准确率 accuracy={evaluation.accuracy:.3f}   "
        f"宏平均F1 macro-F1={evaluation.macro_f1:.3f}",
        "",
        f"{'类别 class':<{width}} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>7}",
    ]
    for c in evaluation.per_class:
        label = names.get(c.label, c.label)
        pad = width - len(label)  # CJK characters are two columns wide
        lines.append(
            f"{label}{' ' * max(1, pad - len(label) + 1)}{c.precision:>9.3f} {c.recall:>7.3f} "
            f"{c.f1:>6.3f} {c.support:>7d}"
        )
    lines += ["", "混淆矩阵 confusion (rows: gold, columns: predicted, in this order):"]
    for i, label in enumerate(evaluation.labels):
        lines.append(f"  {i:>2} {names.get(label, label)}")
    header = "     " + "".join(f"{i:>5}" for i in range(len(evaluation.labels)))
    lines.append(header)
    for i, row in enumerate(evaluation.confusion):
        lines.append(f"  {i:>2} " + "".join(f"{v:>5}" for v in row))
    return "\n".join(lines)
