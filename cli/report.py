"""``petition report --period 2026-11 [--street CODE] [--out PATH]``: a street's (or the whole
city's) monthly or weekly report as an Excel workbook, with its headline figures printed."""

from __future__ import annotations

import argparse
from pathlib import Path

from casestore.services import reports
from cli.context import CommandError, session, settings, taxonomy
from grids.registry import load_registry


def cmd_report(args: argparse.Namespace) -> None:
    try:
        since, until, label = reports.parse_period(args.period)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    current = settings()
    registry = load_registry(current.data_dir / "grids")
    street = args.street or None
    if street is not None and (
        street not in registry.units or registry.units[street].tier != "street"
    ):
        raise CommandError(f"未知的街道编码：{street}（请用街道的编码，如 510107001）")
    title = reports.report_title(registry, street, label)
    with session() as db:
        report = reports.build(db, registry, taxonomy(current), street=street, since=since,
                               until=until, title=title)  # fmt: skip
        body = reports.to_xlsx(report)
    name = reports.file_name(args.period.strip(), report.street_name)
    target = Path(args.out) if args.out else Path(name)
    if target.is_dir():
        target = target / name
    try:
        target.write_bytes(body)
    except OSError as exc:
        raise CommandError(f"无法写入 {target}：{exc.strerror or exc}") from exc
    print(f"已生成{report.title}：{target}")
    for item in report.indicators:
        print(f"  {item.name}：{item.text}（上期 {item.previous_text}，变化 {item.change_text}）")
    if report.monthly:
        red = sum(1 for _, item in report.assessed if item.level == "red")
        print(f"  考评：红牌 {red} 个，黄牌 {len(report.assessed) - red} 个")
    print(f"  预警：{len(report.alerts)} 条")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``report`` in ``petition``'s parser."""
    report = commands.add_parser("report", help="a street's monthly or weekly report (XLSX)")
    report.add_argument("--period", required=True, help="2026-11 (month) or 2026-W47 (ISO week)")
    report.add_argument("--street", help="street code (default: the whole city)")
    report.add_argument("--out", help="file or folder (default: 报告-<period>-<street>.xlsx here)")
    report.set_defaults(func=cmd_report)
