"""Grid resolution: the project's own phrasings and an independently written set.

.venv/bin/python -m bench.grids [--show-errors]

tests/data/addresses.csv was written with the registry and the resolver in view: top-1
accuracy, clarification rate, latency. tests/data/places_eval.csv was written by someone who
saw only the registry (never the resolver or its tests); each row names the level a message
determines (grid, community, street, district) or ``ask`` (a road through several grids,
named without a door number: the bot must ask for it). There: resolved without giving up,
right, and asked.
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from collections import Counter
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
    independent(resolver, args.show_errors)


def outcome(resolver: Resolver, level: str, expected: str, text: str) -> tuple[str, str]:
    """(right | asked_right | wrong | gave_up, what the resolver said) for one row."""
    result = resolver.resolve_text(text)
    codes = [c.grid.code for c in result.candidates]
    said = f"{result.status} {result.area.code if result.area else (codes[:1] or [''])[0]}"
    if result.status == "none":
        return "gave_up", said
    if level == "ask":
        wanted = set(expected.split("|"))
        ok = result.status == "needs_detail" and set(codes) <= wanted
        return ("asked_right" if ok else "wrong"), said
    if level == "grid":
        if result.status == "confident":
            return ("right" if codes[0] == expected else "wrong"), said
        if result.status in ("ambiguous", "needs_detail"):
            return ("asked_right" if expected in codes else "wrong"), said
        return "wrong", said
    if result.status == "area":
        return ("right" if result.area and result.area.code == expected else "wrong"), said
    if result.status == "confident" and len(resolver.registry.grids_within(expected)) == 1:
        return ("right" if resolver.registry.grids_within(expected)[0].code == codes[0]
                else "wrong"), said  # fmt: skip
    return "wrong", said


def independent(resolver: Resolver, show_errors: bool) -> None:
    path = ROOT / "tests" / "data" / "places_eval.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_level: dict[str, Counter[str]] = {}
    errors = []
    for row in rows:
        result, said = outcome(resolver, row["expected_level"], row["expected_code"], row["text"])
        by_level.setdefault(row["expected_level"], Counter())[result] += 1
        if result in ("wrong", "gave_up"):
            errors.append((row["text"], row["expected_level"], row["expected_code"], said))
    total = Counter[str]()
    for counts in by_level.values():
        total.update(counts)
    asking_not_expected = [r for r in rows if r["expected_level"] != "ask"]
    asked = sum(c["asked_right"] for lvl, c in by_level.items() if lvl != "ask")
    print(f"\nindependent place phrasings ({path.name}): {len(rows)}")
    print("  level      rows  right  asked→right  wrong  gave up")
    for level in ("grid", "community", "street", "district", "ask"):
        c = by_level.get(level, Counter())
        print(f"  {level:<9}{sum(c.values()):>6}{c['right']:>7}{c['asked_right']:>13}"
              f"{c['wrong']:>7}{c['gave_up']:>9}")  # fmt: skip
    n = len(rows)
    print(f"  resolved without giving up: {(n - total['gave_up']) / n:.1%}")
    print(f"  right (silently, or by the expected question): "
          f"{(total['right'] + total['asked_right']) / n:.1%}")  # fmt: skip
    print(f"  asked where no question was needed: {asked / len(asking_not_expected):.1%}")
    if show_errors:
        for text, level, code, said in errors:
            print(f"    {text} | expected {level} {code} | {said}")


if __name__ == "__main__":
    main()
