"""Grid resolution on tests/data/addresses.csv: top-1 accuracy, clarification rate, latency.

.venv/bin/python -m bench.grids [--show-errors]
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from datetime import date
from pathlib import Path

from grids.registry import load_registry
from grids.resolver import Resolver

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    resolver = Resolver(load_registry(ROOT / "data" / "grids"), ROOT / "data/jieba/userdict.txt")
    with (ROOT / "tests" / "data" / "addresses.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    determinable = [r for r in rows if r["expected_grid"] != "none"]
    correct = asked = wrong = first = 0
    none_ok = 0
    latencies = []
    errors = []
    for row in rows:
        started = time.perf_counter()
        result = resolver.resolve_text(row["text"])
        latencies.append((time.perf_counter() - started) * 1000)
        top = result.candidates[0].grid.code if result.candidates else "none"
        expected = row["expected_grid"]
        if expected == "none":
            # Asking which grid is a fine answer to a vague place; filing silently is not.
            none_ok += result.status != "confident"
            if result.status == "confident":
                errors.append((row["text"], expected, result.status, top))
            continue
        first += top == expected
        if result.status == "confident":
            if top == expected:
                correct += 1
            else:
                wrong += 1
                errors.append((row["text"], expected, result.status, top))
        else:
            asked += 1
            offered = [c.grid.code for c in result.candidates]
            if expected not in offered:
                errors.append((row["text"], expected, result.status, top))
    latencies.sort()
    filed = correct + wrong
    print(f"grid resolution — {date.today()} — {platform.node()} ({platform.machine()})")
    print(f"{len(rows)} phrasings, {len(determinable)} with a determinable grid")
    print(
        f"  top-1 accuracy where filed silently: {correct / max(1, filed):.3f} ({correct}/{filed})"
    )
    print(f"  top-1 candidate correct (determinable): {first / len(determinable):.3f}")
    print(f"  filed silently and correct (determinable): {correct / len(determinable):.3f}")
    print(f"  clarification rate (determinable, asked): {asked / len(determinable):.1%}")
    print(f"  no determinable grid, not filed silently: {none_ok}/{len(rows) - len(determinable)}")
    print(
        f"  latency p50 {latencies[len(latencies) // 2]:.2f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)]:.2f} ms, max {latencies[-1]:.2f} ms"
    )
    if args.show_errors:
        for text, expected, status, top in errors:
            print(f"    {text} | expected {expected} | {status} {top}")


if __name__ == "__main__":
    main()
