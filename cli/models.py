"""``petition train`` and ``petition models list|eval|activate|rollback``: model versions."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cli import context
from cli.context import CommandError
from core.clock import LOCAL_TZ
from retraining import pipeline, trainer, versions
from retraining.models import ModelVersion
from retraining.workspace import Workspace

EVALUATING = "在保留测试集上与当前模型对比（加载两个模型，约1分钟）…"


class _Progress(pipeline.Hooks):
    """The pipeline's progress on the terminal (Rasa's own output goes there too)."""

    def stage(self, stage: str) -> None:
        if stage == "evaluate":
            print(EVALUATING, flush=True)

    def exported(self, count: int) -> None:
        print(f"开始训练：项目数据 + {count} 条已采纳样本（约3分钟）…", flush=True)

    def registered(
        self, session: Session, version: ModelVersion, result: trainer.TrainResult
    ) -> None:
        print(f"已登记模型版本 {version.name}（#{version.id}，训练 {result.seconds:.0f} 秒）")


def _workspace() -> Workspace:
    return Workspace.from_settings(context.settings())


def cmd_train(args: argparse.Namespace) -> None:
    workspace = _workspace()
    if args.config:
        workspace = dataclasses.replace(workspace, config=Path(args.config))
    if args.out:  # a plain model file, outside the registry (e.g. a project copy)
        print("开始训练 Rasa 模型（数据未变化时 Rasa 会直接复用已有结果）…", flush=True)
        try:
            result = trainer.train(
                workspace=workspace, out_dir=Path(args.out), name=args.name, force=args.force
            )
        except trainer.TrainingFailed as exc:
            raise CommandError(str(exc)) from exc
        size = result.model.stat().st_size / 1e6
        print(f"模型已保存：{result.model}（{size:.1f} MB，用时 {result.seconds:.0f} 秒）")
        return
    with context.factory() as factory:
        try:
            candidate = pipeline.train_candidate(
                factory, workspace=workspace, actor=context.actor(), hooks=_Progress()
            )
        except (trainer.TrainingFailed, versions.RegistryError) as exc:
            raise CommandError(str(exc)) from exc
    _print_comparison(candidate.comparison)


def _version(session: Session, ref: str) -> ModelVersion:
    version = versions.find_version(session, ref)
    if version is None:
        raise CommandError(f"未找到模型版本 {ref}（用 petition models list 查看）")
    return version


def _print_comparison(c: dict[str, Any]) -> None:
    print(f"保留测试集 {c['n']} 条（当前模型：{c.get('active_name') or '无'}）")
    for key, label in (("accuracy", "准确率"), ("macro_f1", "宏平均F1")):
        print(f"  {label}: 当前 {c['active'][key]:.3f} → 新版本 {c['candidate'][key]:.3f}"
              f"（{c['delta'][key]:+.3f}）")  # fmt: skip
    worse = [p for p in c["per_class"] if p["delta"] < 0]
    if worse:
        print("  F1 下降的分类：" + "，".join(f"{p['label']} {p['delta']:+.2f}" for p in worse))
    print(f"  预测变化的样本：{len(c['changed'])} 条")


def cmd_list(args: argparse.Namespace) -> None:
    workspace = _workspace()
    with context.session() as session:
        versions.ensure_baseline(
            session, models_dir=workspace.models_dir, project=workspace.project
        )
        found = versions.list_versions(session)
        if not found:
            print("还没有模型版本")
        for v in found:
            scores = ""
            if "accuracy" in (v.metrics or {}):
                scores = f"准确率 {v.metrics['accuracy']:.3f} 宏F1 {v.metrics['macro_f1']:.3f}"
            created = v.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
            print(f"#{v.id:<4} {v.name:<24} {v.status:<9} {created} {v.created_by:<16} {scores}")


def cmd_eval(args: argparse.Namespace) -> None:
    workspace = _workspace()
    with context.session() as session:
        version_id = _version(session, args.version).id
    print(EVALUATING, flush=True)
    try:
        with context.factory() as factory:
            comparison = versions.evaluate_version(
                factory, version_id=version_id, workspace=workspace
            )
    except versions.RegistryError as exc:
        raise CommandError(str(exc)) from exc
    _print_comparison(comparison)


def cmd_activate(args: argparse.Namespace) -> None:
    deployment = versions.Deployment.from_settings(context.settings())
    with context.session() as session:
        version = _version(session, args.version)
        try:
            versions.activate(
                session,
                version,
                actor=context.actor(),
                deployment=deployment,
                override_reason=args.reason,
            )
        except versions.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        print(f"已启用模型 {version.name}（Rasa 各服务进程均已加载，无需重启）")


def cmd_rollback(args: argparse.Namespace) -> None:
    deployment = versions.Deployment.from_settings(context.settings())
    with context.session() as session:
        target = _version(session, args.version) if args.version else None
        try:
            version = versions.rollback(
                session, actor=context.actor(), deployment=deployment, to_version=target
            )
        except versions.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        print(f"已回滚到模型 {version.name}")
