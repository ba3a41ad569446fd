"""``petition`` — command-line tools of the app environment.

petition classify --csv IN --text-col C --out OUT
petition nlu eval --csv FILE --text-col C --label-col L [--json]
petition nlu import --csv|--xlsx FILE --text-col C --label-col L [--map MAP.yml]
petition nlu dict
petition train [--config C] | petition train --out DIR
petition models list | eval V | activate V [--reason R] | rollback [V]
petition users create --username U --role admin|staff|grid_worker [--grid CODE]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError
from retraining.schemas import TrainingExampleIn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as user_service
from accounts.models import Role
from core import labels
from core.clock import LOCAL_TZ
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import ROOT, Settings, get_settings
from core.taxonomy import Taxonomy, load_taxonomy
from grids import formats
from grids.registry import RegistryError, load_registry, load_registry_files
from retraining import examples as examples
from retraining import history, metrics, trainer, versions
from retraining.lexicon import build_user_dictionary
from retraining.models import ExampleSource, ModelVersion, TrainingExample
from retraining.rasa_client import RasaParser, RasaUnavailable

# A project folder with config.yml, domain.yml and data/ (tests point this elsewhere).
PROJECT = Path(os.environ.get("PETITION_PROJECT", ROOT))
DATA = PROJECT / "data"
USERDICT = DATA / "jieba" / "userdict.txt"


class CommandError(RuntimeError):
    """A user-facing failure: printed without a traceback, exit status 2."""


def _taxonomy() -> Taxonomy:
    return load_taxonomy(DATA / "taxonomy.yml")


def _parser() -> RasaParser:
    settings = _settings()
    return RasaParser(settings.rasa_url, settings.rasa_token)


def _rows(path: Path, text_col: str, label_col: str | None = None) -> list[dict[str, str]]:
    try:
        rows = history.read_table(path)
        history.require_columns(rows, text_col, label_col)
    except history.ImportProblem as exc:
        raise CommandError(str(exc)) from exc
    return rows


def cmd_classify(args: argparse.Namespace) -> None:
    rows = _rows(Path(args.csv), args.text_col)
    texts = [r[args.text_col] for r in rows]
    predictions = _parser().parse_many(texts)
    taxonomy = _taxonomy()
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category", "category_name", "subcategory", "confidence", "top3"])
        for text, p in zip(texts, predictions, strict=True):
            category = taxonomy.get(p.category) if p.category else None
            top3 = ";".join(f"{code}:{conf:.3f}" for code, conf in p.top3)
            writer.writerow(
                [
                    text,
                    p.category or p.intent,
                    category.name if category else "",
                    p.subcategory or "",
                    f"{p.confidence:.4f}",
                    top3,
                ]
            )
    print(f"已分类 {len(texts)} 条，结果写入 {args.out}")


def cmd_eval(args: argparse.Namespace) -> None:
    rows = [
        r
        for r in _rows(Path(args.csv), args.text_col, args.label_col)
        if r[args.text_col].strip() and r[args.label_col].strip()
    ]
    if not rows:
        raise CommandError("没有可评估的行（文本和标签都不能为空）")
    taxonomy = _taxonomy()
    mapper = history.LabelMapper(taxonomy, history.load_mapping(_path(args.map)))
    gold = []
    for row in rows:
        mapped = mapper.category(row[args.label_col])
        if mapped is None:
            raise CommandError(f"标签无法对应到分类体系：{row[args.label_col]}（可用 --map）")
        gold.append(mapped[0])
    predictions = _parser().parse_many([r[args.text_col] for r in rows])
    predicted = [p.category or p.intent for p in predictions]
    result = metrics.evaluate(gold, predicted)
    names = {c.code: c.name for c in taxonomy.categories}
    if args.sub_label_col:
        sub_gold = [
            f"{g}/{mapper.subcategory(g, r.get(args.sub_label_col, '')) or '?'}"
            for g, r in zip(gold, rows, strict=True)
        ]
        sub_pred = [f"{p.category}/{p.subcategory}" for p in predictions]
        sub = metrics.evaluate(sub_gold, sub_pred)
        result.extra["subcategory"] = {"accuracy": sub.accuracy, "macro_f1": sub.macro_f1}
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    print(metrics.render(result, names))
    if "subcategory" in result.extra:
        s = result.extra["subcategory"]
        print(f"\n二级分类 subcategory: accuracy={s['accuracy']:.3f} macro-F1={s['macro_f1']:.3f}")


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def cmd_import(args: argparse.Namespace) -> None:
    source_path = Path(args.csv or args.xlsx)
    name = args.name or source_path.stem
    if not name.replace("-", "").replace("_", "").isalnum():
        raise CommandError("--name 只能包含字母、数字、-、_")
    rows = _rows(source_path, args.text_col, args.label_col)
    try:
        result = history.import_history(
            rows=rows,
            text_col=args.text_col,
            label_col=args.label_col,
            sub_col=args.sub_label_col,
            taxonomy=_taxonomy(),
            source=f"import:{source_path.name}",
            mapping=history.load_mapping(_path(args.map)),
            known=history.existing_texts(DATA / "nlu") | (_inbox_texts() if args.inbox else set()),
            holdout_fraction=args.holdout,
            max_chars=args.max_chars,
        )
    except history.ImportProblem as exc:
        raise CommandError(str(exc)) from exc
    if not result.examples:
        raise CommandError("没有可导入的新样本（全部为空、重复或被留作评估集）")
    if args.inbox:
        _to_inbox(result.examples, source_path.name)
    else:
        target = DATA / "nlu" / "imported" / f"{name}.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(history.to_rasa_yaml(result.examples), encoding="utf-8")
        print(f"导入 {len(result.examples)} 条训练样本 → {target}")
    if result.holdout:
        holdout = DATA / "holdout" / f"{name}.csv"
        holdout.parent.mkdir(parents=True, exist_ok=True)
        holdout.write_text(history.to_csv(result.holdout), encoding="utf-8")
        print(f"留出 {len(result.holdout)} 条作为评估集 → {holdout}")
    if result.truncated:
        print(f"截断 {result.truncated} 条超过 {args.max_chars} 字的长文本")
    for reason, count in result.skipped.most_common():
        print(f"跳过 {count} 条：{reason}")


def _inbox_texts() -> set[str]:
    with _session() as session:
        texts = session.scalars(select(TrainingExample.text)).all()
    return {history.dedup_key(t) for t in texts}


def _to_inbox(rows: list[history.Example], file_name: str) -> None:
    """Imported rows wait in the console's training inbox for an admin's review."""
    with _session() as session:
        for row in rows:
            examples.add_example(
                session=session,
                example=TrainingExampleIn(
                    text=row.text.replace("［", "[").replace("］", "]"),
                    intent=f"report_{row.category}",
                    subcategory=row.subcategory,
                    source=ExampleSource.IMPORT,
                ),
                actor=f"import:{file_name}"[:64],
            )
    print(f"导入 {len(rows)} 条样本到训练样本收件箱（待审核），请在控制台「模型训练」中审核")


def cmd_dict(args: argparse.Namespace) -> None:
    content = build_user_dictionary(DATA, _taxonomy())
    USERDICT.write_text(content, encoding="utf-8")
    print(f"jieba 用户词典已生成：{USERDICT}（{content.count(chr(10))} 词）")


def cmd_grids_validate(args: argparse.Namespace) -> None:
    try:
        registry = load_registry_files(sorted((DATA / "grids").glob("*.yml")))
    except RegistryError as exc:
        raise CommandError(str(exc)) from exc
    problems = registry.validate()
    for problem in problems:
        print(f"问题：{problem}")
    if problems:
        raise CommandError(f"网格登记有 {len(problems)} 个问题")
    print(f"网格登记无误：{len(registry.grids)} 个网格，{len(registry.places)} 个地点")


def cmd_grids_export(args: argparse.Namespace) -> None:
    districts = formats.read_yaml_dir(DATA / "grids")
    if args.format == "geojson":
        content = formats.dumps_geojson(districts)
    else:
        content = formats.to_csv(districts)
    Path(args.out).write_text(content, encoding="utf-8")
    print(f"已导出 {args.format} → {args.out}")


def cmd_grids_import(args: argparse.Namespace) -> None:
    source = Path(args.file)
    try:
        text = source.read_text(encoding="utf-8")
        if source.suffix.lower() in (".geojson", ".json"):
            districts = formats.from_geojson(json.loads(text))
        elif source.suffix.lower() == ".csv":
            districts = formats.from_csv(text)
        else:
            raise CommandError("只支持 .geojson/.json 或 .csv 文件")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, formats.FormatError) as exc:
        raise CommandError(f"无法读取 {source}：{exc}") from exc
    out_dir = Path(args.out_dir)
    written = []
    for district in districts:
        path = out_dir / f"{district['code']}.yml"
        path.write_text(formats.to_yaml(district), encoding="utf-8")
        written.append(path)
    try:
        problems = load_registry_files(written).validate()
    except RegistryError as exc:
        raise CommandError(str(exc)) from exc
    print(f"已写入 {len(written)} 个区县文件到 {out_dir}；检查发现 {len(problems)} 个问题")
    for problem in problems:
        print(f"问题：{problem}")


def cmd_train(args: argparse.Namespace) -> None:
    config = Path(args.config) if args.config else None
    if args.out:  # a plain model file, outside the registry (e.g. a project copy)
        print("开始训练 Rasa 模型（数据未变化时 Rasa 会直接复用已有结果）…", flush=True)
        try:
            result = trainer.train(project=PROJECT, out_dir=Path(args.out), name=args.name,
                                   force=args.force, config=config)  # fmt: skip
        except trainer.TrainingFailed as exc:
            raise CommandError(str(exc)) from exc
        size = result.model.stat().st_size / 1e6
        print(f"模型已保存：{result.model}（{size:.1f} MB，用时 {result.seconds:.0f} 秒）")
        return
    settings = _settings()
    with tempfile.TemporaryDirectory(prefix="petition-train-") as tmp:
        extra = Path(tmp) / "accepted.yml"
        with _session() as session:  # short transactions: the console keeps working
            accepted = examples.accepted(session)
            extra.write_text(examples.to_nlu_yaml(accepted), encoding="utf-8")
        print(f"开始训练：项目数据 + {len(accepted)} 条已采纳样本（约3分钟）…", flush=True)
        try:
            result = trainer.train(project=PROJECT, out_dir=Path(tmp), name="candidate",
                                   force=True, extra_data=[extra], config=config)  # fmt: skip
        except trainer.TrainingFailed as exc:
            raise CommandError(str(exc)) from exc
        with _session() as session:
            version = versions.register(
                session,
                model_file=result.model,
                created_by=_actor(),
                train_seconds=result.seconds,
                fingerprint=versions.data_fingerprint(PROJECT, [extra]),
                example_count=len(accepted),
                models_dir=settings.model_dir,
            )
            name, version_id = version.name, version.id
    print(f"已登记模型版本 {name}（#{version_id}，训练 {result.seconds:.0f} 秒）")
    _evaluate(version_id)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@contextlib.contextmanager
def _factory() -> Iterator[sessionmaker[Session]]:
    engine = make_engine(_settings().database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _session() -> Iterator[Session]:
    with _factory() as factory, session_scope(factory) as session:
        yield session


def _version(session: Session, ref: str) -> ModelVersion:
    version = versions.find_version(session, ref)
    if version is None:
        raise CommandError(f"未找到模型版本 {ref}（用 petition models list 查看）")
    return version


def _evaluate(version_id: int) -> None:
    settings = _settings()
    print("在保留测试集上与当前模型对比（加载两个模型，约1分钟）…", flush=True)
    try:
        with _factory() as factory:
            c = versions.evaluate_version(
                factory, version_id=version_id, project=PROJECT, models_dir=settings.model_dir
            )
    except versions.RegistryError as exc:
        raise CommandError(str(exc)) from exc
    print(f"保留测试集 {c['n']} 条（当前模型：{c.get('active_name') or '无'}）")
    for key, label in (("accuracy", "准确率"), ("macro_f1", "宏平均F1")):
        print(f"  {label}: 当前 {c['active'][key]:.3f} → 新版本 {c['candidate'][key]:.3f}"
              f"（{c['delta'][key]:+.3f}）")  # fmt: skip
    worse = [p for p in c["per_class"] if p["delta"] < 0]
    if worse:
        print("  F1 下降的分类：" + "，".join(f"{p['label']} {p['delta']:+.2f}" for p in worse))
    print(f"  预测变化的样本：{len(c['changed'])} 条")


def cmd_models_list(args: argparse.Namespace) -> None:
    with _session() as session:
        versions.ensure_baseline(session, models_dir=_settings().model_dir, project=PROJECT)
        found = versions.list_versions(session)
        if not found:
            print("还没有模型版本")
        for v in found:
            scores = ""
            if "accuracy" in (v.metrics or {}):
                scores = f"准确率 {v.metrics['accuracy']:.3f} 宏F1 {v.metrics['macro_f1']:.3f}"
            created = v.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
            print(f"#{v.id:<4} {v.name:<24} {v.status:<9} {created} {v.created_by:<16} {scores}")


def cmd_models_eval(args: argparse.Namespace) -> None:
    with _session() as session:
        version_id = _version(session, args.version).id
    _evaluate(version_id)


def cmd_models_activate(args: argparse.Namespace) -> None:
    settings = _settings()
    with _session() as session:
        version = _version(session, args.version)
        try:
            versions.activate(
                session,
                version,
                actor=_actor(),
                rasa_url=settings.rasa_url,
                rasa_token=settings.rasa_token,
                models_dir=settings.model_dir,
                margin=settings.model_activation_margin,
                override_reason=args.reason,
            )
        except versions.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        print(f"已启用模型 {version.name}（Rasa 已热切换，无需重启）")


def cmd_models_rollback(args: argparse.Namespace) -> None:
    settings = _settings()
    with _session() as session:
        target = _version(session, args.version) if args.version else None
        try:
            version = versions.rollback(
                session,
                actor=_actor(),
                rasa_url=settings.rasa_url,
                rasa_token=settings.rasa_token,
                models_dir=settings.model_dir,
                to_version=target,
            )
        except versions.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        print(f"已回滚到模型 {version.name}")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码（至少10位）：")
    if first != getpass.getpass("再输入一次："):
        raise CommandError("两次输入的密码不一致")
    return first


def cmd_users_create(args: argparse.Namespace) -> None:
    settings = _settings()
    password = _read_password(args)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = user_service.create_user(
                session=session,
                username=args.username,
                display_name=args.name or args.username,
                password=password,
                role=Role(args.role),
                grid_codes=args.grid or [],
                registry=load_registry(settings.data_dir / "grids"),
            )
            label = labels.ROLE[Role(user.role)]
    except user_service.UserError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        engine.dispose()
    print(
        f"已创建{label}账号 {args.username}，请在 http://localhost:{settings.app_port}/login 登录"
    )


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        raise CommandError(
            f"配置不完整（.env）：{exc.errors()[0]['msg']}。请先运行 make run"
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petition", description="市民诉求平台命令行工具")
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="classify every row of a CSV/XLSX")
    classify.add_argument("--csv", required=True, help="input CSV (UTF-8) or XLSX")
    classify.add_argument("--text-col", required=True)
    classify.add_argument("--out", required=True)
    classify.set_defaults(func=cmd_classify)

    nlu = commands.add_parser("nlu", help="NLU data and evaluation")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    evaluate = nlu_commands.add_parser("eval", help="evaluate the active model on labelled rows")
    evaluate.add_argument("--csv", required=True, help="labelled CSV (UTF-8) or XLSX")
    evaluate.add_argument("--text-col", required=True)
    evaluate.add_argument("--label-col", required=True)
    evaluate.add_argument("--sub-label-col")
    evaluate.add_argument("--map", help="YAML mapping of the file's labels to category codes")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=cmd_eval)

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
    imp.add_argument("--max-chars", type=int, default=history.MAX_CHARS)
    imp.add_argument(
        "--inbox", action="store_true", help="send rows to the console's inbox for review"
    )
    imp.set_defaults(func=cmd_import)

    dictionary = nlu_commands.add_parser("dict", help="regenerate the jieba user dictionary")
    dictionary.set_defaults(func=cmd_dict)

    grids = commands.add_parser("grids", help="the grid registry (网格登记)")
    grid_commands = grids.add_subparsers(dest="grids_command", required=True)
    validate = grid_commands.add_parser("validate", help="overlaps, gaps, duplicates, orphans")
    validate.set_defaults(func=cmd_grids_validate)
    export = grid_commands.add_parser("export", help="write the registry as GeoJSON or CSV")
    export.add_argument("--format", choices=["geojson", "csv"], required=True)
    export.add_argument("--out", required=True)
    export.set_defaults(func=cmd_grids_export)
    grid_import = grid_commands.add_parser("import", help="GeoJSON or CSV → YAML files")
    grid_import.add_argument("file")
    grid_import.add_argument("--out-dir", default=str(DATA / "grids"))
    grid_import.set_defaults(func=cmd_grids_import)

    train = commands.add_parser(
        "train", help="train a candidate model (registered, compared with the active one)"
    )
    train.add_argument("--config", help="pipeline config (default: config.yml)")
    train.add_argument("--out", help="only write a model file into this folder (no registry)")
    train.add_argument("--name", default="petition", help="file name with --out")
    train.add_argument("--force", action="store_true", help="with --out: retrain even if unchanged")
    train.set_defaults(func=cmd_train)

    models = commands.add_parser("models", help="model versions (模型版本)")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    model_commands.add_parser("list", help="all versions").set_defaults(func=cmd_models_list)
    evaluate_model = model_commands.add_parser("eval", help="compare with the active model")
    evaluate_model.add_argument("version", help="id or name")
    evaluate_model.set_defaults(func=cmd_models_eval)
    activate = model_commands.add_parser("activate", help="hot-swap the bot to this version")
    activate.add_argument("version", help="id or name")
    activate.add_argument("--reason", help="needed when macro-F1 drops more than the margin")
    activate.set_defaults(func=cmd_models_activate)
    rollback = model_commands.add_parser("rollback", help="back to an earlier version")
    rollback.add_argument("version", nargs="?", help="id or name (default: the previous one)")
    rollback.set_defaults(func=cmd_models_rollback)

    users = commands.add_parser("users", help="console accounts (坐席账号)")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    create = user_commands.add_parser("create", help="create a console account")
    create.add_argument("--username", required=True)
    create.add_argument("--name", help="display name, e.g. 张敏")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.STAFF.value)
    create.add_argument("--grid", action="append", help="grid code (grid workers; repeatable)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(func=cmd_users_create)
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
