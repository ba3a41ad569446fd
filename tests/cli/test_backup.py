"""``petition backup`` / ``petition restore``: what the operator types and reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from core.settings import Settings, get_settings


@pytest.fixture
def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI reads its settings from the environment: the test's database and folders."""
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "CASESTORE_API_TOKEN": settings.casestore_api_token,
        "VAR_DIR": settings.var_dir,
        "MODEL_DIR": settings.model_dir,
    }.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_backup_then_restore_with_yes(
    env_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_settings.model_dir.mkdir(parents=True, exist_ok=True)
    (env_settings.model_dir / "petition.tar.gz").write_bytes(b"model")
    out = tmp_path / "backups"
    out.mkdir()

    assert main(["backup", "--to", str(out)]) == 0
    (archive,) = out.glob("petition-*.tar.gz")
    assert f"已备份到 {archive}" in capsys.readouterr().out

    assert main(["restore", str(archive)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["restore", str(archive), "--yes"]) == 0
    assert f"已从 {archive} 恢复" in capsys.readouterr().out


def test_backup_defaults_to_var_backups(
    env_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup"]) == 0
    (archive,) = (env_settings.var_dir / "backups").glob("petition-*.tar.gz")
    assert str(archive) in capsys.readouterr().out


def test_restore_of_a_missing_file_says_so(
    env_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["restore", str(tmp_path / "nope.tar.gz"), "--yes"]) == 2
    assert "找不到备份文件" in capsys.readouterr().err
