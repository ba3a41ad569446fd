from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cli.main import main
from core.db import make_engine, make_sessionmaker
from core.settings import get_settings
from retraining.models import TrainingExample
from webapp.migrate import upgrade


def test_grids_validate_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grids", "validate"]) == 0
    assert "网格登记无误" in capsys.readouterr().out
    out = tmp_path / "grids.geojson"
    assert main(["grids", "export", "--format", "geojson", "--out", str(out)]) == 0
    assert main(["grids", "import", str(out), "--out-dir", str(tmp_path)]) == 0
    assert "0 个问题" in capsys.readouterr().out


def test_user_errors_exit_2_with_a_chinese_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gbk = tmp_path / "old.csv"
    gbk.write_bytes("内容,分类\n路灯坏了,城乡建设\n".encode("gbk"))
    code = main(["nlu", "import", "--csv", str(gbk), "--text-col", "内容", "--label-col", "分类"])
    assert code == 2
    assert "UTF-8" in capsys.readouterr().err
    assert main(["grids", "import", str(gbk), "--out-dir", str(tmp_path)]) == 2


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database that the CLI's settings point to."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CASESTORE_API_TOKEN", "cli-token-0123456789")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_users_create_first_admin(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["users", "create", "--username", "admin", "--role", "admin", "--password-stdin"]
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main(args) == 0
    assert "已创建管理员账号 admin" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert main(args) == 2
    assert "已存在" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main([*args[:3], "wang", "--role", "grid_worker", "--password-stdin"]) == 2
    assert "密码至少" in capsys.readouterr().err


def test_import_to_the_inbox_waits_for_review(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "history.csv"
    table.write_text("内容,分类\n楼下新开的烧烤店油烟直冲我家窗户,环境保护\n", encoding="utf-8")
    args = ["nlu", "import", "--csv", str(table), "--text-col", "内容", "--label-col", "分类"]
    assert main([*args, "--inbox"]) == 0
    assert "收件箱" in capsys.readouterr().out
    assert main([*args, "--inbox"]) == 2  # the second time it is a duplicate
    engine = make_engine(cli_db)
    with make_sessionmaker(engine)() as session:
        rows = session.scalars(select(TrainingExample)).all()
        assert [(r.source, r.status, r.intent) for r in rows] == [
            ("import", "pending", "report_environmental_protection")
        ]
    engine.dispose()
