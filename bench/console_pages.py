"""Server time of console pages with 20,000 training examples and 100,000 tickets.

.venv/bin/python -m bench.console_pages [--examples 20000] [--tickets 100000] [--rounds 10]
    [--database-url URL]

Fills a fresh database (SQLite in a temporary folder unless --database-url names an empty
PostgreSQL database) with accepted training examples — generated letters of 200–800
characters, as imported history is (``bench.import_scale.generate``) — signs in as an admin
and times full page renders in-process (routing, queries, templates): the server's share of
a page view. The first view of the data page is timed on its own ("cold"): its quality
check (contradictions, near-duplicates) then starts in the background. The tickets are
``bench.console_queue``'s (one history event each), with generated letters as descriptions;
the queue's views, its last page, a ticket page and the intake form are timed, each without
a warm-up (a page's first view counts).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from accounts import service
from accounts.models import Role
from bench.console_queue import insert_tickets, timed
from bench.import_scale import generate
from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from core.taxonomy import load_taxonomy
from retraining import datasets
from retraining.models import TrainingExample
from webapp.app import create_app
from webapp.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


def fill(url: str, count: int) -> None:
    """``count`` accepted examples (bulk insert) and an admin account."""
    codes = {c.name: c.code for c in load_taxonomy(ROOT / "data" / "taxonomy.yml").categories}
    now = utcnow()
    rows = [
        {
            "text": text,
            "intent": f"report_{codes[name]}",
            "subcategory": None,
            "source": "import",
            "status": "accepted",
            "created_by": "import:bench.csv",
            "created_at": now,
            "reviewed_by": "admin:bench",
            "reviewed_at": now,
        }
        for text, name in generate(count)
    ]
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        for start in range(0, count, 2000):
            session.execute(insert(TrainingExample), rows[start : start + 2000])
        service.create_user(
            session=session,
            username="bench",
            display_name="压测",
            password="bench-password",
            role=Role.ADMIN,
        )
    engine.dispose()


def fill_tickets(url: str, count: int) -> str:
    """``count`` tickets (``bench.console_queue``) with letters of up to 500 characters as
    descriptions; the number of one in the middle."""
    letters = [text[:500] for text, _ in generate(min(count, 2000))]
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        insert_tickets(session, count, descriptions=letters)
    engine.dispose()
    return f"20261101{count // 2:05d}"


def bench_settings(url: str, tmp: Path) -> Settings:
    """The app's settings for an in-process benchmark: this database, no Rasa, files in tmp."""
    return Settings(
        database_url=url,
        casestore_api_token=os.environ.get("CASESTORE_API_TOKEN", "bench-token-0123456789"),
        rasa_url="http://127.0.0.1:9",
        var_dir=tmp / "var",
        model_dir=tmp / "models",
        training_log_dir=tmp / "training",
        _env_file=None,  # type: ignore[call-arg]
    )


def login(client: TestClient) -> None:
    form = client.get("/login").text
    match = re.search(r'name="login_token" value="([^"]+)"', form)
    response = client.post(
        "/login",
        data={"username": "bench", "password": "bench-password",
              "login_token": match.group(1) if match else ""},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.examples)
        print(f"filled {args.examples:,} examples in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        one = fill_tickets(url, args.tickets) if args.tickets else None
        print(f"filled {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        settings = bench_settings(url, Path(tmp))
        with TestClient(create_app(settings)) as client:
            login(client)
            # Start-up builds the place resolver in the background (jieba's dictionary, about
            # a second of CPU; bench/start.py times start-up): pages are timed after it.
            started = time.perf_counter()
            client.app.state.warming.join()  # type: ignore[attr-defined]
            print(f"{'place resolver built at start-up':34} {time.perf_counter() - started:8.1f} s")
            print(f"{platform.node()} · {os.cpu_count()} cores · {url.split(':')[0]}")
            cold = timed(client, "/admin/training/data", 1, warm_up=False)[0]
            print(f"{'data page, first view (cold)':34} {cold:8.1f} ms")
            started = time.perf_counter()
            datasets.QUALITY.wait(600)
            print(f"{'quality check in the background':34} {time.perf_counter() - started:8.1f} s")
            pages = {
                "data page": "/admin/training/data",
                "data page, collected page 50": "/admin/training/data?page=50",
                "inbox (accepted)": "/admin/training?status=accepted",
                "models": "/admin/models",
            }
            if one:
                last = (args.tickets + 49) // 50
                pages |= {
                    "queue (review, default)": "/",
                    "queue, tasks": "/?view=tasks",
                    "queue, all, last page": f"/?view=all&page={last}",
                    "queue, text search": "/?view=all&q=下水道",
                    "queue, text search, two characters": "/?view=all&q=井盖",
                    "queue, text search, one character": "/?view=all&q=灯",
                    "queue, my tickets": "/?view=mine",
                    "ticket page": f"/tickets/{one}",
                    "民生档案, resident": f"/tickets/{one}/records/resident",
                    "民生档案, place": f"/tickets/{one}/records/place",
                    "hotline intake": "/intake",
                }
            print(f"{'page':44} {'p50 ms':>8} {'p95 ms':>8}")
            for name, path in pages.items():
                samples = sorted(timed(client, path, args.rounds, warm_up=False))
                p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
                print(f"{name:44} {statistics.median(samples):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
