"""``petition classify`` and ``petition nlu``: imports land under var/, never in the checkout."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from core.settings import Settings
from retraining import taxonomy_edit
from retraining.models import TrainingExample
from tests.retraining.fake_rasa import FakeRasaServer
from tests.retraining.fixtures import add_energy_category

ROWS = [
    ("楼下新开的烧烤店油烟直冲我家窗户", "环境保护"),
    ("小区门口路灯坏了一个星期", "城乡建设"),
    ("", "城乡建设"),
    ("楼下新开的烧烤店油烟直冲我家窗户", "环境保护"),
]


def table(path: Path, rows: list[tuple[str, str]] = ROWS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["内容", "分类"])
        writer.writerows(rows)
    return path


def snapshot(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


def test_import_writes_training_data_and_holdout_under_var(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = table(tmp_path / "history.csv")
    before = snapshot(cli_settings.project_dir)
    args = ["nlu", "import", "--csv", str(source), "--text-col", "内容", "--label-col", "分类"]
    assert main([*args, "--holdout", "0.4", "--name", "history"]) == 0
    out = capsys.readouterr().out
    target = cli_settings.var_dir / "nlu" / "imported" / "history.yml"
    holdout = cli_settings.var_dir / "holdout" / "history.csv"
    assert f"导入 1 条训练样本 → {target}" in out
    assert f"留出 1 条作为评估集 → {holdout}" in out  # a stable hash decides which
    assert "跳过 1 条：空文本" in out and "跳过 1 条：重复" in out
    assert snapshot(cli_settings.project_dir) == before
    trained = yaml.safe_load(target.read_text("utf-8"))["nlu"][0]
    assert trained["intent"] == "report_environmental_protection"
    assert trained["examples"] == f"- {ROWS[0][0]}\n"
    assert [r["text"] for r in csv.DictReader(holdout.open(encoding="utf-8"))] == [ROWS[1][0]]
    assert main([*args, "--holdout", "0.4", "--name", "again"]) == 2  # known or held back
    assert "没有可导入的新样本" in capsys.readouterr().err


def test_import_to_the_inbox_waits_for_review(
    cli_settings: Settings,
    factory: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = table(tmp_path / "history.csv", ROWS[:1])
    args = ["nlu", "import", "--csv", str(source), "--text-col", "内容", "--label-col", "分类"]
    assert main([*args, "--inbox"]) == 0
    assert "收件箱" in capsys.readouterr().out
    assert main([*args, "--inbox"]) == 2  # the second time it is a duplicate
    with factory() as session:
        rows = session.scalars(select(TrainingExample)).all()
        assert [(r.source, r.status, r.intent) for r in rows] == [
            ("import", "pending", "report_environmental_protection")
        ]
    assert not (cli_settings.var_dir / "nlu").exists()


def test_bad_files_and_names_exit_2(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gbk = tmp_path / "old.csv"
    gbk.write_bytes("内容,分类\n路灯坏了,城乡建设\n".encode("gbk"))
    args = ["nlu", "import", "--csv", str(gbk), "--text-col", "内容", "--label-col", "分类"]
    assert main(args) == 2
    assert "UTF-8" in capsys.readouterr().err
    source = table(tmp_path / "history.csv")
    assert main([*args[:3], str(source), *args[4:], "--name", "a b"]) == 2
    assert "--name 只能包含" in capsys.readouterr().err
    assert main([*args[:3], str(source), "--text-col", "文本", "--label-col", "分类"]) == 2
    assert "找不到列：文本" in capsys.readouterr().err


def test_imports_may_use_categories_added_from_the_console(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_energy_category(
        cli_settings.data_dir / "taxonomy.yml",
        cli_settings.taxonomy_additions_path,
        [f"充电桩坏了第{i}次" for i in range(10)],
    )
    source = table(tmp_path / "h.csv", [("小区充电桩全坏了", "能源服务")])
    args = ["nlu", "import", "--csv", str(source), "--text-col", "内容", "--label-col", "分类"]
    assert main(args) == 0
    written = (cli_settings.imported_nlu_dir / "h.yml").read_text(encoding="utf-8")
    assert "report_energy" in written


def test_dict_is_made_from_the_checked_in_taxonomy(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = taxonomy_edit.NewEntry("zz_new", "新词分类", "局", 5, "street", ("奇特新词",))
    taxonomy_edit.add_subcategory(
        taxonomy_file=cli_settings.data_dir / "taxonomy.yml",
        additions_file=cli_settings.taxonomy_additions_path,
        category_code="urban_construction",
        entry=entry,
    )
    assert main(["nlu", "dict"]) == 0
    userdict = cli_settings.data_dir / "jieba" / "userdict.txt"
    assert f"jieba 用户词典已生成：{userdict}" in capsys.readouterr().out
    content = userdict.read_text(encoding="utf-8")
    assert "路灯 20000 n" in content and "奇特新词" not in content  # added at training time


def test_classify_and_eval_against_the_running_model(
    cli_settings: Settings,
    fake_rasa: FakeRasaServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_rasa.parse.update(
        {"小区门口路灯坏了一个星期": "report_urban_construction",
         "楼下新开的烧烤店油烟直冲我家窗户": "report_urban_construction"}
    )  # fmt: skip
    source = table(tmp_path / "history.csv", ROWS[:2])
    out = tmp_path / "out.csv"
    assert main(["classify", "--csv", str(source), "--text-col", "内容", "--out", str(out)]) == 0
    assert f"已分类 2 条，结果写入 {out}" in capsys.readouterr().out
    first = next(csv.DictReader(out.open(encoding="utf-8")))
    assert (first["category"], first["category_name"]) == ("urban_construction", "城乡建设")
    assert len(first["top3"].split(";")) == 3
    args = ["nlu", "eval", "--csv", str(source), "--text-col", "内容", "--label-col", "分类"]
    assert main(args) == 0
    report = capsys.readouterr().out
    assert "macro-F1" in report and "混淆矩阵" in report
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 2 and result["accuracy"] == 0.5
    unknown = table(tmp_path / "u.csv", [("路灯坏了", "外星事务")])
    assert main([*args[:3], str(unknown), *args[4:]]) == 2
    assert "外星事务" in capsys.readouterr().err
