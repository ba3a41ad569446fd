"""``petition analytics once|watch [--every 60]``: refresh the daily counts, run the warnings
and the overdue steps' reminders and escalations.

``once`` refreshes the daily counts (``casestore.services.rollup.refresh``), runs the
early-warning job (``casestore.services.warnings.run``) for the last days, then the escalation
job (``casestore.services.escalation.run``: reminders before a step's deadline, automatic
escalation up the tier chain after it); ``watch`` does that every ``--every`` seconds until
SIGTERM or Ctrl-C (the Procfile's ``analytics`` process).
A failed round is reported and the next one tried: the console keeps working meanwhile.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from types import FrameType

from sqlalchemy.orm import Session

from casestore.services import escalation, fieldwork, warnings
from casestore.services.lifecycle import Context
from cli import context
from cli.context import CommandError
from core.clock import LOCAL_TZ, utcnow
from core.taxonomy import Taxonomy
from grids.registry import Registry, RegistryError, load_registry

MIN_EVERY = 5  # seconds between rounds, at least


def refresh_counts(session: Session) -> int:
    """Bring the daily counts up to date; how many days were rebuilt."""
    from casestore.services import rollup  # written alongside; imported when the job runs

    return int(rollup.refresh(session) or 0)


def one_round(
    session: Session, registry: Registry, taxonomy: Taxonomy, today: date | None = None
) -> tuple[int, list[str]]:
    """Refresh, then warn: (days refreshed, titles of the new alerts)."""
    days = refresh_counts(session)
    session.flush()
    today = today or utcnow().astimezone(LOCAL_TZ).date()
    telegram = fieldwork.alert_sender(
        Context(session=session, taxonomy=taxonomy, registry=registry)
    )  # linked staff also hear of new alerts on Telegram
    alerts = warnings.run(session, registry, today=today, taxonomy=taxonomy, senders=[telegram])
    return days, [alert.title for alert in alerts]


def escalate(
    session: Session, registry: Registry, taxonomy: Taxonomy
) -> escalation.EscalationResult:
    """Remind the handlers of steps nearly due, escalate the overdue ones (one pass)."""
    return escalation.run(Context(session=session, taxonomy=taxonomy, registry=registry))


def _report(days: int, titles: list[str], steps: escalation.EscalationResult) -> None:
    stamp = utcnow().astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    print(
        f"{stamp} 统计日表更新 {days} 天，新预警 {len(titles)} 条，"
        f"超期提醒 {steps.reminded} 件，超期自动上报 {steps.escalated} 件",
        flush=True,
    )
    for title in titles:
        print(f"  · {title}", flush=True)


def _load() -> tuple[Registry, Taxonomy]:
    current = context.settings()
    try:
        registry = load_registry(current.data_dir / "grids")
    except RegistryError as exc:
        raise CommandError(f"网格登记文件有误：{exc}") from exc
    return registry, context.taxonomy(current)


def cmd_once(args: argparse.Namespace) -> None:
    registry, taxonomy = _load()
    with context.session() as session:
        days, titles = one_round(session, registry, taxonomy)
    with context.session() as session:  # its own transaction: the counts stay if it fails
        steps = escalate(session, registry, taxonomy)
    _report(days, titles, steps)


def watch(
    every: float,
    round_: Callable[[], None],
    stop: threading.Event,
    sleep: Callable[[float], object] | None = None,
) -> int:
    """Run ``round_`` every ``every`` seconds until ``stop`` is set; rounds run."""
    wait = sleep or stop.wait
    rounds = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            round_()
        except Exception as exc:  # noqa: BLE001 — a bad round must not end the process
            print(
                f"本轮统计失败：{type(exc).__name__}: {exc}（稍后重试）",
                file=sys.stderr,
                flush=True,
            )
        rounds += 1
        if stop.is_set():
            break
        wait(max(every - (time.monotonic() - started), 0.0))
    return rounds


def cmd_watch(args: argparse.Namespace) -> None:
    if args.every < MIN_EVERY:
        raise CommandError(f"--every 至少为 {MIN_EVERY} 秒")
    registry, taxonomy = _load()
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)

    def round_() -> None:
        with context.session() as session:
            days, titles = one_round(session, registry, taxonomy)
        with context.session() as session:
            steps = escalate(session, registry, taxonomy)
        _report(days, titles, steps)

    print(f"统计与预警任务已启动，每 {args.every:g} 秒运行一次", flush=True)
    watch(args.every, round_, stop)
    print("统计与预警任务已停止", flush=True)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``analytics once`` and ``analytics watch`` in ``petition``'s parser."""
    group = commands.add_parser("analytics", help="daily counts and early warnings (统计与预警)")
    sub = group.add_subparsers(dest="analytics_command", required=True)
    sub.add_parser("once", help="refresh the counts and run the warnings once").set_defaults(
        func=cmd_once
    )
    loop = sub.add_parser("watch", help="the same every --every seconds until stopped")
    loop.add_argument("--every", type=float, default=60.0, help="seconds between rounds")
    loop.set_defaults(func=cmd_watch)
