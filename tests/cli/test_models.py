"""``petition train`` and ``petition models``: the pipeline and the registry from the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli.main import main
from core.settings import Settings
from retraining import versions
from tests.retraining.fake_rasa import FakeRasaServer, calls


def holdout_answers(settings: Settings) -> dict[str, str]:
    rows = versions.holdout_rows([settings.project_dir / "tests/data/nlu_holdout"])
    return {r["text"]: f"report_{r['category']}" for r in rows}


def test_train_list_activate_and_roll_back(
    cli_settings: Settings, fake_rasa: FakeRasaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    initial = cli_settings.model_dir / versions.ACTIVE_FILE
    initial.write_text(json.dumps({"examples": {}}), encoding="utf-8")  # `make train` built it
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "开始训练：项目数据 + 0 条已采纳样本（约3分钟）…"
    assert re.fullmatch(r"已登记模型版本 \S+（#1，训练 \d+ 秒）", lines[1])
    assert lines[2] == "在保留测试集上与当前模型对比（加载两个模型，约1分钟）…"
    assert lines[3].startswith("保留测试集 ") and lines[3].endswith("（当前模型：initial）")
    assert "宏平均F1" in out and "预测变化的样本：0 条" in out
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "initial" in listed and "active" in listed and "candidate" in listed
    candidate = next(line.split()[1] for line in listed.splitlines() if "candidate" in line)

    assert main(["models", "activate", candidate]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"已启用模型 {candidate}（Rasa 各服务进程均已加载，无需重启）"
    )
    assert fake_rasa.runs(cli_settings.model_dir / "versions" / f"{candidate}.tar.gz")
    assert main(["models", "activate", candidate]) == 2
    assert "已在使用中" in capsys.readouterr().err
    assert main(["models", "rollback"]) == 0
    assert capsys.readouterr().out.strip() == "已回滚到模型 initial"
    assert fake_rasa.runs(cli_settings.model_dir / "versions" / "initial.tar.gz")
    assert main(["models", "activate", "no-such-version"]) == 2
    assert "未找到模型版本 no-such-version" in capsys.readouterr().err


def test_a_worse_candidate_needs_a_reason(
    cli_settings: Settings, fake_rasa: FakeRasaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    initial = cli_settings.model_dir / versions.ACTIVE_FILE
    initial.write_text(json.dumps({"examples": holdout_answers(cli_settings)}), "utf-8")
    assert main(["train", "--config", str(cli_settings.project_dir / "config.yml")]) == 0
    out = capsys.readouterr().out
    assert "F1 下降的分类：" in out
    name = re.search(r"已登记模型版本 (\S+)（", out).group(1)  # type: ignore[union-attr]
    assert main(["models", "eval", name]) == 0
    assert capsys.readouterr().out.startswith("在保留测试集上与当前模型对比")
    assert main(["models", "activate", "1"]) == 2
    assert "已拒绝启用" in capsys.readouterr().err
    assert main(["models", "activate", "1", "--reason", "测试用的小模型"]) == 0
    assert fake_rasa.runs(cli_settings.model_dir / versions.ACTIVE_FILE)
    assert fake_rasa.runs(cli_settings.model_dir / "versions" / f"{name}.tar.gz")


def test_train_out_writes_a_model_file_only(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["train", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "开始训练 Rasa 模型（数据未变化时 Rasa 会直接复用已有结果）…"
    assert lines[1].startswith(f"模型已保存：{out / 'petition.tar.gz'}（")
    [call] = calls(cli_settings.rasa_env_dir)
    argv = call["argv"]
    assert "--force" not in argv and argv[argv.index("--fixed-model-name") + 1] == "petition"
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.strip() == "还没有模型版本"


def test_training_failures_exit_2(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_settings.rasa_env_dir / "exit").write_text("1")
    assert main(["train"]) == 2
    assert "训练失败（rasa train 退出码 1）" in capsys.readouterr().err
    assert main(["train", "--out", str(cli_settings.var_dir)]) == 2
