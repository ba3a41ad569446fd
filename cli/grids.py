"""``petition grids validate|export|import``: the grid registry (网格登记) in data/grids/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.context import CommandError, settings
from grids import formats
from grids.registry import RegistryError, load_registry_files


def _grids_dir() -> Path:
    return settings().data_dir / "grids"


def cmd_validate(args: argparse.Namespace) -> None:
    try:
        registry = load_registry_files(sorted(_grids_dir().glob("*.yml")))
    except RegistryError as exc:
        raise CommandError(str(exc)) from exc
    problems = registry.validate()
    for problem in problems:
        print(f"问题：{problem}")
    if problems:
        raise CommandError(f"网格登记有 {len(problems)} 个问题")
    print(f"网格登记无误：{len(registry.grids)} 个网格，{len(registry.places)} 个地点")


def cmd_export(args: argparse.Namespace) -> None:
    districts = formats.read_yaml_dir(_grids_dir())
    if args.format == "geojson":
        content = formats.dumps_geojson(districts)
    else:
        content = formats.to_csv(districts)
    Path(args.out).write_text(content, encoding="utf-8")
    print(f"已导出 {args.format} → {args.out}")


def cmd_import(args: argparse.Namespace) -> None:
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
    out_dir = Path(args.out_dir) if args.out_dir else _grids_dir()
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
