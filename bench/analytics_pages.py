"""The analytics pages at scale, as staff open them: server time of each page (in-process).

.venv/bin/python -m bench.analytics_pages DATABASE [--rounds 5]

DATABASE is a SQLite file or database URL made by ``bench/analytics.py --keep PATH`` (or any
database with its daily counts refreshed): two accounts are added if missing (an admin, who
sees the city, and a street office's operator), then each page is requested ``--rounds``
times through the real app (FastAPI's TestClient: the whole request, no network) for a year
ending on the last day with tickets. Prints the median and the slowest request per page.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accounts import service as user_service
from accounts.models import Role, User
from bench.console_pages import bench_settings
from casestore.models import TicketDay
from core.db import make_engine, make_sessionmaker, session_scope
from webapp.app import create_app
from webapp.migrate import upgrade

PASSWORD = "bench-password-01"
STREET = "510107001"  # 玉林街道


def accounts(url: str) -> str:
    """The two accounts (made once); the last day with tickets."""
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        for username, role, unit in (("bench-admin", Role.ADMIN, None),
                                     ("bench-street", Role.STAFF, STREET)):  # fmt: skip
            if session.scalar(select(User).where(User.username == username)) is None:
                user_service.create_user(session=session, username=username,
                                         display_name=username, password=PASSWORD, role=role,
                                         unit_code=unit)  # fmt: skip
        last = session.scalar(select(func.max(TicketDay.day)))
    engine.dispose()
    assert last is not None, "no daily counts: run bench/analytics.py first"
    return last.isoformat()


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    form = client.get("/login").text
    match = re.search(r'name="login_token" value="([^"]+)"', form)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD,
              "login_token": match.group(1) if match else ""},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text[:300]


def timed(client: TestClient, path: str, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="SQLite file or database URL")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = args.database if "://" in args.database else f"sqlite:///{Path(args.database)}"
    upgrade(url)
    last = accounts(url)
    first = date.fromisoformat(last) - timedelta(days=364)
    year = f"since={first.isoformat()}&until={last}"
    month = f"since={last[:8]}01&until={last}"
    with tempfile.TemporaryDirectory(prefix="bench-analytics-pages-") as tmp:
        settings = bench_settings(url, Path(tmp))
        with TestClient(create_app(settings)) as client:
            client.app.state.warming.join()  # type: ignore[attr-defined]
            print(f"{platform.node()} · {os.cpu_count()} cores · {url.split(':')[0]}")
            print(f"{'who':8} {'page':48} {'median ms':>10} {'max ms':>8}")
            pages = {
                "dashboard, a year": f"/dashboard?{year}",
                "dashboard, a year, by volume": f"/dashboard?{year}&shade=volume",
                "dashboard, this month": f"/dashboard?{month}",
                "dashboard, a year, one category": f"/dashboard?{year}&category=urban_construction",
                "chart: volume by month, a year": f"/dashboard/chart.svg?{year}&step=month",
                "chart: by category, a year": f"/dashboard/chart.svg?{year}&chart=category",
                "export: by grid, a year (Excel)": f"/dashboard/export.xlsx?{year}&table=grid",
                "alerts": "/alerts?state=all",
                "assessment, workers": f"/assessment?month={last[:7]}&by=worker",
                "assessment, departments": f"/assessment?month={last[:7]}&by=department",
                "report, month (page)": f"/reports?period={last[:7]}",
                "report, month (Excel)": f"/reports/download?period={last[:7]}",
            }
            for who in ("bench-admin", "bench-street"):
                login(client, who)
                for name, path in pages.items():
                    samples = timed(client, path, args.rounds)
                    label = "city" if who == "bench-admin" else "street"
                    print(f"{label:8} {name:48} {statistics.median(samples):10.0f} "
                          f"{max(samples):8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
