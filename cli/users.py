"""``petition users create``: console accounts (坐席账号)."""

from __future__ import annotations

import argparse
import getpass
import sys

from accounts import service as user_service
from accounts.models import Role
from cli.context import CommandError, session, settings
from core import labels
from grids.registry import load_registry


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码（至少10位）：")
    if first != getpass.getpass("再输入一次："):
        raise CommandError("两次输入的密码不一致")
    return first


def cmd_create(args: argparse.Namespace) -> None:
    current = settings()
    password = _read_password(args)
    try:
        with session() as db:
            user = user_service.create_user(
                session=db,
                username=args.username,
                display_name=args.name or args.username,
                password=password,
                role=Role(args.role),
                grid_codes=args.grid or [],
                unit_code=args.unit,
                registry=load_registry(current.data_dir / "grids"),
            )
            label = labels.ROLE[Role(user.role)]
    except user_service.UserError as exc:
        raise CommandError(str(exc)) from exc
    print(f"已创建{label}账号 {args.username}，请在 http://localhost:{current.app_port}/login 登录")
