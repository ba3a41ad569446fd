"""The parser and the dispatch: every command is there; user errors exit 2 in Chinese."""

from __future__ import annotations

import pytest

from cli import grids, models, nlu, users
from cli.main import build_parser, main
from core.settings import Settings, get_settings

COMMANDS = {
    ("classify", "--csv", "a.csv", "--text-col", "t", "--out", "o.csv"): nlu.cmd_classify,
    ("nlu", "eval", "--csv", "a.csv", "--text-col", "t", "--label-col", "l"): nlu.cmd_eval,
    ("nlu", "import", "--xlsx", "a.xlsx", "--text-col", "t", "--label-col", "l"): nlu.cmd_import,
    ("nlu", "dict"): nlu.cmd_dict,
    ("grids", "validate"): grids.cmd_validate,
    ("grids", "export", "--format", "csv", "--out", "g.csv"): grids.cmd_export,
    ("grids", "import", "g.csv"): grids.cmd_import,
    ("train",): models.cmd_train,
    ("train", "--out", "models", "--force"): models.cmd_train,
    ("models", "list"): models.cmd_list,
    ("models", "eval", "3"): models.cmd_eval,
    ("models", "activate", "3", "--reason", "r"): models.cmd_activate,
    ("models", "rollback"): models.cmd_rollback,
    ("users", "create", "--username", "u", "--password-stdin"): users.cmd_create,
}


def test_every_command_reaches_its_module() -> None:
    parser = build_parser()
    for argv, func in COMMANDS.items():
        assert parser.parse_args(argv).func is func, argv
    defaults = parser.parse_args(["nlu", "import", "--csv", "a", "--text-col", "t",
                                  "--label-col", "l"])  # fmt: skip
    assert (defaults.holdout, defaults.max_chars, defaults.inbox) == (0.0, 500, False)
    assert parser.parse_args(["train", "--out", "m"]).name == "petition"
    assert parser.parse_args(["users", "create", "--username", "u"]).role == "staff"


def test_usage_errors_exit_like_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["models"])
    assert exited.value.code == 2


def test_unreachable_rasa_exits_2_with_a_message(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    table = cli_settings.var_dir / "in.csv"
    table.parent.mkdir(parents=True)
    table.write_text("内容\n路灯坏了\n", encoding="utf-8")
    out = cli_settings.var_dir / "out.csv"
    assert main(["classify", "--csv", str(table), "--text-col", "内容", "--out", str(out)]) == 2
    assert "无法连接Rasa服务器" in capsys.readouterr().err


def test_incomplete_settings_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASESTORE_API_TOKEN", "changeme")
    get_settings.cache_clear()
    try:
        assert main(["models", "list"]) == 2
    finally:
        get_settings.cache_clear()
    assert "配置不完整（.env）" in capsys.readouterr().err
