from __future__ import annotations

from pathlib import Path

import pytest

from casestore.cli import main


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
