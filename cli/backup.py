"""``petition backup`` / ``petition restore``: the case store, models/ and var/ in one file."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.context import CommandError, settings
from webapp import backup


def cmd_backup(args: argparse.Namespace) -> None:
    current = settings()
    target = Path(args.to) if args.to else backup.default_target(current)
    if target.is_dir():
        target = target / backup.default_target(current).name
    try:
        manifest = backup.create_backup(settings=current, target=target)
    except backup.BackupError as exc:
        raise CommandError(str(exc)) from exc
    database = "PostgreSQL" if manifest.backend == "postgresql" else "SQLite"
    print(f"已备份到 {target}（数据库 {database}，共 {len(manifest.files)} 个文件）")


def cmd_restore(args: argparse.Namespace) -> None:
    current = settings()
    try:
        result = backup.restore_backup(
            settings=current, archive=Path(args.archive), overwrite=args.yes
        )
    except backup.BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(f"已从 {args.archive} 恢复（备份时间 {result.manifest.created_at}）")
    if result.migrated_from is not None:
        print(f"备份的数据库版本较旧（{result.migrated_from}），已升级到当前版本")
    print("请重新启动服务（make run）")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``backup`` and ``restore`` in ``petition``'s parser."""
    make = commands.add_parser("backup", help="back up the database, models/ and var/ (备份)")
    make.add_argument("--to", help="file or folder (default: var/backups/petition-<time>.tar.gz)")
    make.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="restore a backup (恢复); stop make run first")
    restore.add_argument("archive", help="a .tar.gz written by petition backup")
    restore.add_argument("--yes", action="store_true", help="overwrite the current data")
    restore.set_defaults(func=cmd_restore)
