"""``petition grids``: validate, export and import the grid registry of the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from core.settings import Settings


def test_validate_export_and_import(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grids", "validate"]) == 0
    assert "网格登记无误" in capsys.readouterr().out
    out = tmp_path / "grids.geojson"
    assert main(["grids", "export", "--format", "geojson", "--out", str(out)]) == 0
    assert f"已导出 geojson → {out}" in capsys.readouterr().out
    imported = tmp_path / "imported"
    imported.mkdir()
    assert main(["grids", "import", str(out), "--out-dir", str(imported)]) == 0
    assert "0 个问题" in capsys.readouterr().out
    assert len(list(imported.iterdir())) == len(list((cli_settings.data_dir / "grids").iterdir()))
    assert main(["grids", "import", str(out)]) == 0  # default: the registry of the settings
    assert f"到 {cli_settings.data_dir / 'grids'}" in capsys.readouterr().out


def test_unreadable_files_exit_2(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gbk = tmp_path / "old.csv"
    gbk.write_bytes("code,name\n1,路灯\n".encode("gbk"))
    assert main(["grids", "import", str(gbk), "--out-dir", str(tmp_path)]) == 2
    assert "无法读取" in capsys.readouterr().err
    assert main(["grids", "import", str(tmp_path / "x.txt"), "--out-dir", str(tmp_path)]) == 2
