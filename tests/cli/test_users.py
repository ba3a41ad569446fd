"""``petition users create``: the first admin account, with the password from stdin."""

from __future__ import annotations

import io

import pytest

from cli.main import main
from core.settings import Settings


def test_users_create_first_admin(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["users", "create", "--username", "admin", "--role", "admin", "--password-stdin"]
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main(args) == 0
    assert (
        f"已创建管理员账号 admin，请在 http://localhost:{cli_settings.app_port}/login 登录"
        in capsys.readouterr().out
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main(args) == 2
    assert "已存在" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main([*args[:3], "wang", "--role", "grid_worker", "--password-stdin"]) == 2
    assert "密码至少" in capsys.readouterr().err
