"""``petition demo-data``: an invented ticket history in the configured database, for a
demonstration of the dashboard, the early warnings and the assessment (演示数据，均为虚构).

The history ends now: a few months of tickets over the registry's grids, with one clear
burst of blocked drains (下水道堵塞) in one community over the last two days and a backlog of
overdue open tickets in one grid. Invented tickets are numbered ``YS…``
(``casestore.services.history``). The command refuses a database that holds real tickets,
unless ``--force``.
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta

from sqlalchemy import func, not_, select

from casestore.models import Ticket
from casestore.services import history, stats
from cli import analytics
from cli.context import CommandError, session, settings, taxonomy
from core.clock import LOCAL_TZ, utcnow
from grids.registry import load_registry

BURST_CATEGORY = "urban_construction"  # its burst topic: 下水道堵塞 (市政设施)
BACKLOG_CATEGORY = "environmental_protection"  # the backlog's topic: uncollected rubbish


def cmd_demo_data(args: argparse.Namespace) -> None:
    if args.tickets < 0 or args.days < 2:
        raise CommandError("工单数不能为负数，天数至少为2天")
    current = settings()
    registry = load_registry(current.data_dir / "grids")
    if not registry.grids:
        raise CommandError("网格登记为空，无法生成演示数据")
    now = utcnow()
    today = now.astimezone(LOCAL_TZ).date()
    pick = random.Random(args.seed)
    codes = sorted(registry.grids)
    # The burst and the backlog in one street: its staff sees both on their dashboard.
    burst_grid = pick.choice(codes)
    community = registry.grids[burst_grid].community
    street = registry.grids[burst_grid].street
    neighbours = [g.code for g in registry.grids_within(street) if g.community != community]
    neighbours = neighbours or [g.code for g in registry.grids_within(street)]
    backlog_grid = pick.choice(sorted(neighbours))
    planted = [
        history.PlantedBurst(day=today - timedelta(days=1), grid_code=burst_grid,
                             community=community, category=BURST_CATEGORY, extra=7),
        history.PlantedBurst(day=today, grid_code=burst_grid, community=community,
                             category=BURST_CATEGORY, extra=6),
    ]  # fmt: skip
    # The backlog: a ticket every other day over the last month (too few a day for a burst),
    # which the generator leaves open past its deadline in that grid, like the rest there.
    backlog = registry.grids[backlog_grid]
    planted += [
        history.PlantedBurst(day=today - timedelta(days=d), grid_code=backlog_grid,
                             community=backlog.community, category=BACKLOG_CATEGORY, extra=1)
        for d in range(6, 28, 2)
    ]  # fmt: skip
    with session() as db:
        real = db.scalar(select(func.count()).select_from(Ticket).where(not_(history.DEMO_NUMBERS)))
        if real and not args.force:
            raise CommandError(
                f"数据库中已有 {real} 条真实工单，为免与演示数据混在一起，未写入任何数据；"
                "确需写入请加 --force"
            )
        before = db.scalar(select(func.count()).select_from(Ticket).where(history.DEMO_NUMBERS))
        history.generate(
            db, registry, taxonomy(current), tickets=args.tickets, days=args.days, end=today,
            seed=args.seed, planted=planted, backlog_grid=backlog_grid, now=now,
        )  # fmt: skip
        made = db.scalar(select(func.count()).select_from(Ticket).where(history.DEMO_NUMBERS))
        overdue = stats.overdue_open(db, utcnow(), (backlog_grid,)).get(backlog_grid, 0)
        _, titles = analytics.one_round(db, registry, taxonomy(current))
    first = today - timedelta(days=args.days - 1)
    print("已写入演示数据（演示数据，均为虚构）：")
    print(f"  工单 {(made or 0) - (before or 0)} 条，受理日期 {first} 至 {today}，"
          f"分布在 {len(registry.grids)} 个网格；演示工单号以 YS 开头")  # fmt: skip
    print(f"  下水道堵塞集中反映：{registry.full_name(burst_grid)}，"
          f"近2天多出 {sum(b.extra for b in planted[:2])} 条")  # fmt: skip
    print(f"  超期未办结集中：{registry.full_name(backlog_grid)}，现有 {overdue} 条")
    print(
        f"  以上均在 {registry.full_name(street)}（街道编码 {street}），可用该街道的话务员账号查看"
    )
    if before:
        print(f"  数据库中原有 {before} 条演示工单，已保留")
    print(f"统计数据已更新，生成预警 {len(titles)} 条：")
    for title in titles:
        print(f"  · {title}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``demo-data`` in ``petition``'s parser."""
    demo = commands.add_parser("demo-data", help="fill the database with an invented history")
    demo.add_argument("--tickets", type=int, default=3000, help="tickets (default 3000)")
    demo.add_argument("--days", type=int, default=120, help="days of history ending today")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--force", action="store_true", help="even if real tickets exist")
    demo.set_defaults(func=cmd_demo_data)
