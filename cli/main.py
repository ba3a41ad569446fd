"""``petition`` — command-line tools of the app environment: the parser and the dispatch.

petition classify --csv IN --text-col C --out OUT
petition nlu eval --csv FILE --text-col C --label-col L [--json]
petition nlu import --csv|--xlsx FILE --text-col C --label-col L [--map MAP.yml]
petition nlu dict
petition train [--config C] | petition train --out DIR
petition models list | eval V | activate V [--reason R] | rollback [V]
petition users create --username U --role admin|staff|grid_worker [--grid CODE]
petition apikeys create NAME | list | revoke NAME
petition analytics once | watch [--every 60]
petition report --period 2026-11|2026-W47 [--street CODE] [--out PATH]

The commands live with their group: ``nlu.py`` (classify, nlu), ``models.py`` (train, models),
``grids.py`` and ``users.py``; ``context.py`` has what they share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from accounts.models import Role
from cli import analytics, apikeys, backup, demo, grids, models, nlu, report, users
from cli.context import CommandError
from retraining.history import MAX_CHARS
from retraining.rasa_client import RasaUnavailable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petition", description="市民诉求平台命令行工具")
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="classify every row of a CSV/XLSX")
    classify.add_argument("--csv", required=True, help="input CSV (UTF-8) or XLSX")
    classify.add_argument("--text-col", required=True)
    classify.add_argument("--out", required=True)
    classify.set_defaults(func=nlu.cmd_classify)

    nlu_group = commands.add_parser("nlu", help="NLU data and evaluation")
    nlu_commands = nlu_group.add_subparsers(dest="nlu_command", required=True)
    evaluate = nlu_commands.add_parser("eval", help="evaluate the active model on labelled rows")
    evaluate.add_argument("--csv", required=True, help="labelled CSV (UTF-8) or XLSX")
    evaluate.add_argument("--text-col", required=True)
    evaluate.add_argument("--label-col", required=True)
    evaluate.add_argument("--sub-label-col")
    evaluate.add_argument("--map", help="YAML mapping of the file's labels to category codes")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=nlu.cmd_eval)

    imp = nlu_commands.add_parser("import", help="add historical tickets as training examples")
    source = imp.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv")
    source.add_argument("--xlsx")
    imp.add_argument("--text-col", required=True)
    imp.add_argument("--label-col", required=True)
    imp.add_argument("--sub-label-col")
    imp.add_argument("--map", help="YAML mapping of the file's labels to category codes")
    imp.add_argument("--name", help="name of the data file (default: the input file's name)")
    imp.add_argument("--holdout", type=float, default=0.0, help="fraction kept for evaluation")
    imp.add_argument("--max-chars", type=int, default=MAX_CHARS)
    imp.add_argument(
        "--inbox", action="store_true", help="send rows to the console's inbox for review"
    )
    imp.set_defaults(func=nlu.cmd_import)

    dictionary = nlu_commands.add_parser("dict", help="regenerate the jieba user dictionary")
    dictionary.set_defaults(func=nlu.cmd_dict)

    grid_group = commands.add_parser("grids", help="the grid registry (网格登记)")
    grid_commands = grid_group.add_subparsers(dest="grids_command", required=True)
    validate = grid_commands.add_parser("validate", help="overlaps, gaps, duplicates, orphans")
    validate.set_defaults(func=grids.cmd_validate)
    export = grid_commands.add_parser("export", help="write the registry as GeoJSON or CSV")
    export.add_argument("--format", choices=["geojson", "csv"], required=True)
    export.add_argument("--out", required=True)
    export.set_defaults(func=grids.cmd_export)
    grid_import = grid_commands.add_parser("import", help="GeoJSON or CSV → YAML files")
    grid_import.add_argument("file")
    grid_import.add_argument("--out-dir", help="default: the grid registry, DATA_DIR/grids")
    grid_import.set_defaults(func=grids.cmd_import)

    train = commands.add_parser(
        "train", help="train a candidate model (registered, compared with the active one)"
    )
    train.add_argument("--config", help="pipeline config (default: config.yml)")
    train.add_argument("--out", help="only write a model file into this folder (no registry)")
    train.add_argument("--name", default="petition", help="file name with --out")
    train.add_argument("--force", action="store_true", help="with --out: retrain even if unchanged")
    train.set_defaults(func=models.cmd_train)

    model_group = commands.add_parser("models", help="model versions (模型版本)")
    model_commands = model_group.add_subparsers(dest="models_command", required=True)
    model_commands.add_parser("list", help="all versions").set_defaults(func=models.cmd_list)
    evaluate_model = model_commands.add_parser("eval", help="compare with the active model")
    evaluate_model.add_argument("version", help="id or name")
    evaluate_model.set_defaults(func=models.cmd_eval)
    activate = model_commands.add_parser("activate", help="switch every Rasa worker to it")
    activate.add_argument("version", help="id or name")
    activate.add_argument("--reason", help="needed when macro-F1 drops more than the margin")
    activate.set_defaults(func=models.cmd_activate)
    rollback = model_commands.add_parser("rollback", help="back to an earlier version")
    rollback.add_argument("version", nargs="?", help="id or name (default: the previous one)")
    rollback.set_defaults(func=models.cmd_rollback)

    user_group = commands.add_parser("users", help="console accounts (坐席账号)")
    user_commands = user_group.add_subparsers(dest="users_command", required=True)
    create = user_commands.add_parser("create", help="create a console account")
    create.add_argument("--username", required=True)
    create.add_argument("--name", help="display name, e.g. 张敏")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.STAFF.value)
    create.add_argument("--grid", action="append", help="grid code (grid workers; repeatable)")
    create.add_argument(
        "--unit", help="street (community, district) code of a staff member: they see its grids"
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(func=users.cmd_create)

    key_group = commands.add_parser("apikeys", help="API keys of Open311 clients (接口密钥)")
    key_commands = key_group.add_subparsers(dest="apikeys_command", required=True)
    new_key = key_commands.add_parser("create", help="a new key; printed once")
    new_key.add_argument("name", help="the client, e.g. fixmystreet")
    new_key.set_defaults(func=apikeys.cmd_create)
    key_commands.add_parser("list", help="all keys").set_defaults(func=apikeys.cmd_list)
    revoke = key_commands.add_parser("revoke", help="refuse the key from now on")
    revoke.add_argument("name")
    revoke.set_defaults(func=apikeys.cmd_revoke)
    backup.register(commands)
    demo.register(commands)
    analytics.register(commands)
    report.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CommandError, RasaUnavailable) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
