"""``petition apikeys create|list|revoke``: the keys of Open311 clients (Open311 接口密钥)."""

from __future__ import annotations

import argparse
from datetime import datetime

from accounts import apikeys
from cli.context import CommandError, actor, session
from core.clock import LOCAL_TZ


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else "—"


def cmd_create(args: argparse.Namespace) -> None:
    """Print the new key once: only its hash is kept, so it cannot be shown again."""
    try:
        with session() as db:
            _, key = apikeys.create_key(session=db, name=args.name, actor=actor())
    except apikeys.ApiKeyError as exc:
        raise CommandError(str(exc)) from exc
    print(f"已创建 Open311 密钥 {args.name}。密钥只显示这一次，请交给对方妥善保存：")
    print(key)


def cmd_list(args: argparse.Namespace) -> None:
    with session() as db:
        rows = [
            (k.name, "已吊销" if k.revoked_at else "有效", k.created_at, k.last_used_at)
            for k in apikeys.list_keys(session=db)
        ]
    if not rows:
        print("还没有 Open311 密钥（petition apikeys create 名称）")
        return
    width = max(len(name) for name, *_ in rows)
    print(f"{'名称'.ljust(width)}  状态    创建时间          最近使用")
    for name, state, created, used in rows:
        print(f"{name.ljust(width)}  {state:<6}  {_local(created):<16}  {_local(used)}")


def cmd_revoke(args: argparse.Namespace) -> None:
    try:
        with session() as db:
            key = apikeys.revoke_key(session=db, name=args.name, actor=actor())
            revoked = _local(key.revoked_at)
    except apikeys.ApiKeyError as exc:
        raise CommandError(str(exc)) from exc
    print(f"密钥 {args.name} 已吊销（{revoked}），此后用它的请求一律拒绝")
