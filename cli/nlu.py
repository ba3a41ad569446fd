"""``petition classify`` and ``petition nlu eval|import|dict``: NLU data and evaluation."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from sqlalchemy import select

from cli.context import CommandError, session, settings, taxonomy
from core.taxonomy import load_taxonomy
from retraining import examples, history, metrics
from retraining.lexicon import build_user_dictionary
from retraining.models import ExampleSource, TrainingExample
from retraining.rasa_client import RasaParser
from retraining.schemas import TrainingExampleIn


def _parser() -> RasaParser:
    current = settings()
    return RasaParser(current.rasa_url, current.rasa_token)


def _rows(path: Path, text_col: str, label_col: str | None = None) -> list[dict[str, str]]:
    try:
        rows = history.read_table(path)
        history.require_columns(rows, text_col, label_col)
    except history.ImportProblem as exc:
        raise CommandError(str(exc)) from exc
    return rows


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def cmd_classify(args: argparse.Namespace) -> None:
    rows = _rows(Path(args.csv), args.text_col)
    texts = [r[args.text_col] for r in rows]
    predictions = _parser().parse_many(texts)
    known = taxonomy(settings())
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category", "category_name", "subcategory", "confidence", "top3"])
        for text, p in zip(texts, predictions, strict=True):
            category = known.get(p.category) if p.category else None
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
    known = taxonomy(settings())
    mapper = history.LabelMapper(known, history.load_mapping(_path(args.map)))
    gold = []
    for row in rows:
        mapped = mapper.category(row[args.label_col])
        if mapped is None:
            raise CommandError(f"标签无法对应到分类体系：{row[args.label_col]}（可用 --map）")
        gold.append(mapped[0])
    predictions = _parser().parse_many([r[args.text_col] for r in rows])
    predicted = [p.category or p.intent for p in predictions]
    result = metrics.evaluate(gold, predicted)
    names = {c.code: c.name for c in known.categories}
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


def cmd_import(args: argparse.Namespace) -> None:
    """Historical tickets become NLU data under var/ (or wait in the inbox with --inbox)."""
    source_path = Path(args.csv or args.xlsx)
    name = args.name or source_path.stem
    if not name.replace("-", "").replace("_", "").isalnum():
        raise CommandError("--name 只能包含字母、数字、-、_")
    rows = _rows(source_path, args.text_col, args.label_col)
    current = settings()
    known = history.existing_texts(current.project_dir / "data" / "nlu")
    known |= history.existing_texts(current.imported_nlu_dir)
    try:
        result = history.import_history(
            rows=rows,
            text_col=args.text_col,
            label_col=args.label_col,
            sub_col=args.sub_label_col,
            taxonomy=taxonomy(current),
            source=f"import:{source_path.name}",
            mapping=history.load_mapping(_path(args.map)),
            known=known | (_inbox_texts() if args.inbox else set()),
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
        target = current.imported_nlu_dir / f"{name}.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(history.to_rasa_yaml(result.examples), encoding="utf-8")
        print(f"导入 {len(result.examples)} 条训练样本 → {target}")
    if result.holdout:
        holdout = current.holdout_dir / f"{name}.csv"
        holdout.parent.mkdir(parents=True, exist_ok=True)
        holdout.write_text(history.to_csv(result.holdout), encoding="utf-8")
        print(f"留出 {len(result.holdout)} 条作为评估集 → {holdout}")
    if result.truncated:
        print(f"截断 {result.truncated} 条超过 {args.max_chars} 字的长文本")
    for reason, count in result.skipped.most_common():
        print(f"跳过 {count} 条：{reason}")


def _inbox_texts() -> set[str]:
    with session() as current:
        texts = current.scalars(select(TrainingExample.text)).all()
    return {history.dedup_key(t) for t in texts}


def _to_inbox(rows: list[history.Example], file_name: str) -> None:
    """Imported rows wait in the console's training inbox for an admin's review."""
    with session() as current:
        for row in rows:
            examples.add_example(
                session=current,
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
    """The checked-in dictionary comes from the checked-in taxonomy and grid registry.

    Words of categories added from the console join a training's dictionary at training time.
    """
    current = settings()
    content = build_user_dictionary(
        current.data_dir, load_taxonomy(current.data_dir / "taxonomy.yml")
    )
    userdict = current.data_dir / "jieba" / "userdict.txt"
    userdict.write_text(content, encoding="utf-8")
    print(f"jieba 用户词典已生成：{userdict}（{content.count(chr(10))} 词）")
