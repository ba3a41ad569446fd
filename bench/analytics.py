"""Server time of the analytics (daily counts and the stats service) over an invented history.

.venv/bin/python -m bench.analytics [--tickets 1000000] [--days 730] [--bursts 40]
    [--database-url URL] [--keep PATH | --reuse PATH]

Migrates a fresh database (SQLite in a temporary folder unless --database-url names an
empty PostgreSQL database, or --keep names the SQLite file to keep), writes an invented
history (``casestore.services.history.generate``: ``--tickets`` over ``--days`` days ending
yesterday, ``--bursts`` planted bursts, saved as JSON in ``<db>.bursts.json`` for the
warnings benchmark), and prints the time of the generation, of the search index and of the
daily counts' full rebuild. Then times the stats service in-process (median of 5 calls, no
warm-up but the first call): ``figures``, ``breakdown`` by each key, ``series`` by month over
a year and by day over a month, and ``overdue_open``, over the last year for the whole city
and for one street's grids, and their sums for a dashboard page; and an incremental
``refresh`` after 100 tickets changed. Prints figures; asserts nothing about timings.

``--reuse PATH`` skips the generation: it migrates a kept SQLite file (or the database of
a URL) to the head, creates the monthly counts' table and the overdue
index if the database was migrated before they were added to its revision, builds the monthly
counts from the daily ones (timed), and times the same calls over the year up to the last day
with tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Index, func, select, update
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketDay, TicketMonth
from casestore.services import history, rollup, search, stats
from core.clock import LOCAL_TZ, utcnow
from core.db import make_engine, make_sessionmaker
from core.taxonomy import load_taxonomy
from grids.registry import load_registry
from webapp.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


def median_ms(call: Callable[[], Any], rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--bursts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", help="SQLite file to write and keep (for other benchmarks)")
    parser.add_argument("--reuse", help="SQLite file written with --keep, or a database URL")
    args = parser.parse_args()
    if args.reuse:
        url = args.reuse if "://" in args.reuse else f"sqlite:///{Path(args.reuse).resolve()}"
        upgrade(url)
        reuse(url)
        return
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        db_file = Path(args.keep).resolve() if args.keep else Path(tmp) / "bench.db"
        url = args.database_url or f"sqlite:///{db_file}"
        upgrade(url)
        run(url, args, db_file if not args.database_url else Path(tmp) / "postgresql")


def run(url: str, args: argparse.Namespace, db_file: Path) -> None:
    registry = load_registry(ROOT / "data" / "grids")
    taxonomy = load_taxonomy(ROOT / "data" / "taxonomy.yml")
    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    now = utcnow()
    end = now.astimezone(LOCAL_TZ).date() - timedelta(days=1)
    phases: dict[str, float] = {}
    real_reindex, real_rebuild = search.reindex, rollup.rebuild

    def reindex(connection: Any, batch: int = 2000) -> int:
        started = time.perf_counter()
        done = real_reindex(connection, batch)
        phases["search index"] = time.perf_counter() - started
        return done

    def rebuild(current: Any, now: Any = None) -> int:
        started = time.perf_counter()
        done = real_rebuild(current, now)
        phases["daily counts, full rebuild"] = time.perf_counter() - started
        return done

    search.reindex, rollup.rebuild = reindex, rebuild  # type: ignore[assignment]
    started = time.perf_counter()
    try:
        bursts = history.generate(session, registry, taxonomy, tickets=args.tickets,
                                  days=args.days, end=end, seed=args.seed, bursts=args.bursts,
                                  now=now)  # fmt: skip
    finally:
        search.reindex, rollup.rebuild = real_reindex, real_rebuild  # type: ignore[assignment]
    total = time.perf_counter() - started
    phases = {"tickets and events written": total - sum(phases.values()), **phases}
    target = Path(f"{db_file}.bursts.json")
    target.write_text(json.dumps([{**asdict(b), "day": b.day.isoformat()} for b in bursts],
                                 ensure_ascii=False, indent=1), encoding="utf-8")  # fmt: skip
    count = session.scalar(select(func.count()).select_from(Ticket))
    rows = session.scalar(select(func.count()).select_from(rollup.TicketDay))
    print(f"{platform.node()} · {os.cpu_count()} cores · {url.split(':')[0]} · "
          f"{count:,} tickets over {args.days} days · {rows:,} daily-count rows")  # fmt: skip
    print(f"bursts saved to {target}")
    print("\n| phase | seconds |\n|---|---:|")
    for name, seconds in phases.items():
        print(f"| {name} | {seconds:.1f} |")
    print(f"| total | {total:.1f} |")
    time_calls(session, registry, end, now)
    session.close()
    engine.dispose()


def reuse(url: str) -> None:
    engine = make_engine(url)
    # The revision gained these after some databases were migrated: made here if missing.
    TicketMonth.__table__.create(engine, checkfirst=True)
    overdue = next(i for i in Ticket.__table__.indexes if i.name == "ix_ticket_status_grid_due")
    assert isinstance(overdue, Index)
    overdue.create(engine, checkfirst=True)
    session = make_sessionmaker(engine)()
    started = time.perf_counter()
    months = rollup.rebuild_months(session)
    built = time.perf_counter() - started
    count = session.scalar(select(func.count()).select_from(Ticket))
    rows = session.scalar(select(func.count()).select_from(TicketDay))
    month_rows = session.scalar(select(func.count()).select_from(TicketMonth))
    end = session.scalar(select(func.max(TicketDay.day)))
    assert end is not None, "no daily counts to time"
    print(f"{platform.node()} · {os.cpu_count()} cores · {url.split(':')[0]} · {count:,} "
          f"tickets · {rows:,} daily-count rows · {month_rows:,} monthly-count rows")  # fmt: skip
    print(f"\nmonthly counts built from the daily counts: {months} months in {built:.1f} s")
    time_calls(session, load_registry(ROOT / "data" / "grids"), end, utcnow())
    session.close()
    engine.dispose()


def time_calls(session: Session, registry: Any, end: Any, now: Any) -> None:
    street = sorted({g.street for g in registry.grids.values()})[0]
    street_grids = tuple(g.code for g in registry.grids_within(street))
    year = stats.Scope(since=end - timedelta(days=364), until=end)
    month = stats.Scope(since=end - timedelta(days=29), until=end)
    street_year = stats.Scope(year.since, year.until, street_grids)
    cases: dict[str, Callable[[stats.Scope, tuple[str, ...] | None], Any]] = {
        "figures": lambda s, g: stats.figures(session, s),
        **{f"breakdown by {by}": (lambda s, g, by=by: stats.breakdown(session, s, by))
           for by in stats.BREAKDOWNS},
        "series by month, a year": lambda s, g: stats.series(session, s, "month"),
        "series by day, a month": lambda s, g: stats.series(
            session, stats.Scope(month.since, month.until, s.grids), "day"),
        "daily counts (grid × category), 60 days": lambda s, g: stats.daily_counts(
            session, end - timedelta(days=59), end),
        "overdue open (live)": lambda s, g: stats.overdue_open(session, now, g),
    }  # fmt: skip
    print(
        f"\n| call (a year's scope) | whole city, ms | one street ({len(street_grids)} grids), ms |"
    )
    print("|---|---:|---:|")
    timed: dict[str, tuple[float, float]] = {}
    for name, call in cases.items():
        city = median_ms(lambda call=call: call(year, None))
        one = median_ms(lambda call=call: call(street_year, street_grids))
        timed[name] = (city, one)
        print(f"| {name} | {city:.1f} | {one:.1f} |")
    # What the console's dashboard reads for its page (its figures are the sum by grid), and
    # the brief's page: figures, every breakdown, the series by month and the overdue map.
    pages = {
        "dashboard page (by grid, category, subcategory, channel; overdue open)": [
            "breakdown by grid_code", "breakdown by category", "breakdown by subcategory",
            "breakdown by channel", "overdue open (live)"],
        "figures + 6 breakdowns + series by month + overdue open": [
            "figures", *(f"breakdown by {by}" for by in stats.BREAKDOWNS),
            "series by month, a year", "overdue open (live)"],
    }  # fmt: skip
    for page, names in pages.items():
        city, one = (sum(timed[name][i] for name in names) for i in (0, 1))
        print(f"| **{page}** | **{city:.1f}** | **{one:.1f}** |")
    session.rollback()

    ids = session.scalars(select(Ticket.id).order_by(func.random()).limit(100)).all()
    changed = {"urge_count": Ticket.urge_count + 1, "updated_at": utcnow()}
    session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(**changed))
    session.commit()
    started = time.perf_counter()
    days = rollup.refresh(session)
    print(f"\nincremental refresh after 100 tickets changed: {days} days rebuilt in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
