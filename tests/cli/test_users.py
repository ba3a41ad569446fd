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


def test_users_create_a_volunteer_of_a_grid(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["users", "create", "--username", "zhang", "--name", "张阿姨", "--role", "volunteer"]
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main([*args, "--password-stdin"]) == 2
    assert "民情专递员账号需要指定所在的网格编码" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main([*args, "--grid", "999", "--password-stdin"]) == 2
    assert "未知的网格编码：999" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main([*args, "--grid", "510107001001001", "--password-stdin"]) == 0
    assert "已创建民情专递员账号 zhang" in capsys.readouterr().out
