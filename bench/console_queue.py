"""Server time to render the staff console's queue with 10,000 tickets in the case store.

.venv/bin/python -m bench.console_queue [--tickets 10000] [--rounds 30] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder unless --database-url names an empty
PostgreSQL database), signs in as a staff member and times full page renders in-process
(routing, queries, templates), which is the server's share of a page view.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from accounts import service
from accounts.models import Role
from casestore.models import Ticket, TicketEvent, TicketStatus
from casestore.services import search
from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from core.taxonomy import load_taxonomy
from grids.registry import load_registry
from webapp.app import create_app
from webapp.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
STATUSES = [TicketStatus.SUBMITTED] * 4 + [
    TicketStatus.DISPATCHED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.CLOSED,
    TicketStatus.REOPENED,
]
PLACES = ["玉林北路18号", "长寿苑小区3栋", "白佛村三组", "芳草街12号", "丰台路口"]
PROBLEMS = ["路灯不亮", "下水道堵了", "垃圾没人清运", "楼上装修噪音", "井盖松动", "拖欠工资"]


def insert_tickets(session: Session, count: int, descriptions: list[str] | None = None) -> None:
    """``count`` tickets over the seed's categories, grids and a spread of statuses, each with
    its "created" event; ``descriptions`` (cycled) replace the short generated ones."""
    taxonomy = load_taxonomy(ROOT / "data" / "taxonomy.yml")
    grids = list(load_registry(ROOT / "data" / "grids").grids)
    rng = random.Random(7)
    now = utcnow()
    rows = []
    for i in range(count):
        category = rng.choice(taxonomy.categories)
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 20))
        short = f"{rng.choice(PLACES)}{rng.choice(PROBLEMS)}，已经{i % 9 + 1}天了"
        rows.append(
            {
                "number": f"20261101{i:05d}",
                "submission_key": f"bench-{i:08d}",
                "status": rng.choice(STATUSES).value,
                "category": category.code,
                "grid_code": rng.choice(grids),
                "location_text": rng.choice(PLACES),
                "description": descriptions[i % len(descriptions)] if descriptions else short,
                "contact_phone": f"138{i:08d}",
                "anonymous": False,
                "channel": rng.choice(["webchat", "telegram", "hotline"]),
                "conversation_id": f"bench-{i}",
                "nlu_confidence": round(rng.random(), 3),
                "nlu_candidates": [{"category": category.code, "confidence": 0.8}],
                "transcript": [{"role": "resident", "text": "路灯不亮"}],
                "handoff_requested": i % 97 == 0,
                "department": category.department,
                "due_at": created + timedelta(days=category.sla_days),
                "created_at": created,
                "updated_at": created,
                "version": 1,
                "tier": category.tier,
            }
        )
    for start in range(0, count, 1000):
        session.execute(insert(Ticket), rows[start : start + 1000])
    session.flush()
    ids = session.scalars(Ticket.__table__.select().with_only_columns(Ticket.id)).all()
    session.execute(
        insert(TicketEvent),
        [
            {"ticket_id": i, "kind": "created", "actor": "bench", "data": {}, "created_at": now}
            for i in ids
        ],
    )
    # Bulk inserts bypass the session hook that keeps the search index.
    search.reindex(session.connection())


def fill(url: str, count: int) -> None:
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        insert_tickets(session, count)
        service.create_user(
            session=session,
            username="bench",
            display_name="压测",
            password="bench-password",
            role=Role.STAFF,
        )
    engine.dispose()


def timed(client: TestClient, path: str, rounds: int, warm_up: bool = True) -> list[float]:
    if warm_up:
        client.get(path)  # templates compiled, caches filled
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.tickets)
        print(f"filled {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        settings = Settings(
            database_url=url,
            casestore_api_token=os.environ.get("CASESTORE_API_TOKEN", "bench-token-0123456789"),
            rasa_url="http://127.0.0.1:9",
            _env_file=None,  # type: ignore[call-arg]
        )
        with TestClient(create_app(settings)) as client:
            client.post("/login", data={"username": "bench", "password": "bench-password"})
            pages = {
                "review queue (default)": "/",
                "all tickets, page 1": "/?view=all",
                "all tickets, page 100": "/?view=all&page=100",
                "overdue only": "/?view=open&overdue=true",
                "search 下水道": "/?view=all&q=%E4%B8%8B%E6%B0%B4%E9%81%93",
                "category + date filter": f"/?view=all&category=urban_construction&since={date.today() - timedelta(days=7)}",  # noqa: E501
            }
            print(f"{platform.node()} · {os.cpu_count()} cores · {url.split(':')[0]}")
            print(f"{'page':28} {'p50 ms':>8} {'p95 ms':>8}")
            for name, path in pages.items():
                samples = sorted(timed(client, path, args.rounds))
                p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
                print(f"{name:28} {statistics.median(samples):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
