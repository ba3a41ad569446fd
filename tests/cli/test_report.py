"""``petition report``: the workbook written, its headline printed, bad input refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from cli.main import main
from core.settings import Settings, get_settings
from tests.console.test_assessment import seed


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command reads its settings from the environment: the test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASESTORE_API_TOKEN", settings.casestore_api_token)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_street_report_is_written_and_summarised(
    env: None,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(session)  # October 2026 in 玉林街道
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--period", "2026-10", "--street", "510107001"]) == 0
    out = capsys.readouterr().out
    written = tmp_path / "报告-2026-10-玉林街道.xlsx"
    assert f"已生成玉林街道 2026年10月 市民诉求分析报告：{written.name}" in out
    assert "受理量：24 件（上期 0 件，变化 新增）" in out
    assert "考评：红牌 1 个，黄牌 1 个" in out and "预警：0 条" in out
    book = load_workbook(written)
    assert book.sheetnames == ["概览", "热点诉求", "分社区", "预警", "考评"]
    assert book["考评"]["B2"].value == "乔丽（黉门街社区第二网格）"

    target = tmp_path / "week.xlsx"
    assert main(["report", "--period", "2026-W42", "--out", str(target)]) == 0
    assert "已生成全市 2026年第42周 市民诉求分析报告" in capsys.readouterr().out
    assert load_workbook(target)["概览"]["A2"].value == "受理量"


def test_bad_input_exits_with_2_and_a_chinese_message(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--period", "2026-13"]) == 2
    assert "错误：统计期间格式应为 年-月" in capsys.readouterr().err
    assert main(["report", "--period", "2026-10", "--street", "510107001001001"]) == 2
    assert "未知的街道编码" in capsys.readouterr().err
    missing = tmp_path / "no" / "such" / "dir" / "x.xlsx"
    assert main(["report", "--period", "2026-10", "--out", str(missing)]) == 2
    assert "无法写入" in capsys.readouterr().err
