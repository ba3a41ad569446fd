"""The early-warning job over a whole history: its time, and the planted bursts it finds.

.venv/bin/python -m bench.warnings PATH [--today YYYY-MM-DD] [--keep-alerts]
.venv/bin/python -m bench.warnings PATH --synthetic [--tickets 1000000] [--days 730]

PATH is a SQLite database made by ``bench/analytics.py --keep PATH``; the bursts planted in
it are listed in ``PATH.bursts.json`` ([{day, grid_code, community, category, extra}, …]).
``--synthetic`` first builds such a database itself: daily counts only (``ticket_day``),
Poisson counts per grid × category (λ spread so the total is ``--tickets`` over ``--days``)
and 40 planted bursts of +8 … +30 tickets, with their JSON file.

Runs ``warnings.run`` once over every day (``since`` = the first day of the counts, ``today``
= the last) and prints the job's time, the recall of the planted bursts (found when a burst
alert names the same grid, or its community, and category within ±1 day) and the false
alarms (burst alerts that match no planted burst), also per 1M tickets. The alerts are rolled
back unless ``--keep-alerts``, so the bench can run again on the same database.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from casestore.models import Alert, Ticket, TicketDay
from casestore.services import warnings
from core.db import make_engine, make_sessionmaker
from core.settings import ROOT
from core.taxonomy import load_taxonomy
from grids.registry import Registry, load_registry
from webapp.migrate import upgrade


def bursts_path(database: Path) -> Path:
    return database.with_name(database.name + ".bursts.json")


def synthesize(database: Path, registry: Registry, tickets: int, days: int, seed: int = 1) -> None:
    """Daily counts of ``tickets`` over ``days`` and 40 planted bursts (see the docstring)."""
    url = f"sqlite:///{database}"
    upgrade(url)
    taxonomy = load_taxonomy(ROOT / "data" / "taxonomy.yml")
    series = [(g, c) for g in sorted(registry.grids) for c in taxonomy.codes()]
    rng = np.random.default_rng(seed)
    weights = rng.gamma(1.0, 1.0, size=len(series))
    rates = weights / weights.sum() * tickets / days
    counts = rng.poisson(rates[:, None], size=(len(series), days))
    first = date(2025, 1, 1)
    planted = []
    for _ in range(40):
        s, d = int(rng.integers(len(series))), int(rng.integers(60, days))
        extra = int(rng.integers(8, 31))
        counts[s, d] += extra
        grid, category = series[s]
        planted.append({"day": (first + timedelta(days=d)).isoformat(), "grid_code": grid,
                        "community": registry.grids[grid].community, "category": category,
                        "extra": extra})  # fmt: skip
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = [
            {"day": first + timedelta(days=int(d)), "grid_code": grid, "category": category,
             "subcategory": "", "channel": "webchat", "department": "", "assignee": "",
             "filed": int(counts[s, d])}
            for s, (grid, category) in enumerate(series)
            for d in np.nonzero(counts[s])[0]
        ]  # fmt: skip
        for start in range(0, len(rows), 50_000):
            session.execute(insert(TicketDay), rows[start : start + 50_000])
        session.commit()
    engine.dispose()
    bursts_path(database).write_text(json.dumps(planted, ensure_ascii=False), encoding="utf-8")


def matches(alert: Alert, burst: dict[str, Any]) -> bool:
    day = date.fromisoformat(burst["day"])
    place = alert.grid_code or alert.unit_code
    return (
        alert.category == burst["category"]
        and place in (burst["grid_code"], burst.get("community"))
        and abs((alert.day - day).days) <= 1
    )


def evaluate(alerts: list[Alert], planted: list[dict[str, Any]]) -> dict[str, Any]:
    bursts = [a for a in alerts if a.kind == "burst"]
    found = [b for b in planted if any(matches(a, b) for a in bursts)]
    false = [a for a in bursts if not any(matches(a, b) for b in planted)]
    return {
        "planted": len(planted),
        "found": len(found),
        "recall": len(found) / len(planted) if planted else None,
        "burst_alerts": len(bursts),
        "false_alarms": len(false),
        "missed": [b for b in planted if b not in found],
        "false_alarm_titles": [a.title for a in false[:20]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--today", type=date.fromisoformat)
    parser.add_argument("--synthetic", action="store_true", help="build the database first")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--keep-alerts", action="store_true")
    args = parser.parse_args()
    registry = load_registry(ROOT / "data" / "grids")
    if args.synthetic:
        if args.database.exists():
            raise SystemExit(f"{args.database} exists; --synthetic builds a new database")
        started = time.perf_counter()
        synthesize(args.database, registry, args.tickets, args.days)
        print(f"built {args.database} in {time.perf_counter() - started:.1f} s")
    planted = json.loads(bursts_path(args.database).read_text(encoding="utf-8"))
    engine = make_engine(f"sqlite:///{args.database}")
    with make_sessionmaker(engine)() as session:
        first, last = session.execute(
            select(func.min(TicketDay.day), func.max(TicketDay.day))
        ).one()
        filed = int(session.scalar(select(func.sum(TicketDay.filed))) or 0)
        tickets = int(session.scalar(select(func.count()).select_from(Ticket)) or 0)
        today = args.today or last
        started = time.perf_counter()
        alerts = warnings.run(session, registry, today=today, since=first)
        seconds = time.perf_counter() - started
        result = evaluate(alerts, planted)
        if args.keep_alerts:
            session.commit()
        else:
            session.rollback()
    engine.dispose()
    per_million = 1_000_000 / filed if filed else 0.0
    kinds: dict[str, int] = {}
    for alert in alerts:
        kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
    print(
        f"days {first} … {today}; tickets filed (daily counts) {filed:,}; ticket rows {tickets:,}"
    )
    print(f"job time {seconds:.2f} s ({seconds * per_million:.2f} s per 1M tickets)")
    print(f"alerts by kind {kinds}")
    print(
        f"planted bursts {result['planted']}, found {result['found']} "
        f"(recall {result['recall']:.1%})"
        if result["recall"] is not None
        else "no planted bursts"
    )
    print(
        f"burst alerts {result['burst_alerts']}, false alarms {result['false_alarms']} "
        f"({result['false_alarms'] * per_million:.1f} per 1M tickets)"
    )
    for burst in result["missed"]:
        print(f"  missed: {burst}")
    for title in result["false_alarm_titles"]:
        print(f"  false alarm: {title}")


if __name__ == "__main__":
    main()
