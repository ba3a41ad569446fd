"""Model versions (模型版本): register, evaluate on the held-back set, activate, roll back.

Every trained model is kept under ``models/versions/``. A candidate is compared with the
active model on the same fixed held-back set (``tests/data/nlu_holdout`` and the share of
imported history kept in ``var/holdout``; neither is ever trained on). Activation puts the
file at ``models/petition.tar.gz``, which every Rasa worker pulls (``retraining.serving``),
and is recorded only once every live worker runs it; otherwise the previous file is put back.
Every step is audited.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.clock import LOCAL_TZ, utcnow
from core.db import session_scope
from core.settings import Settings
from retraining import metrics, serving, trainer
from retraining.models import ModelStatus, ModelVersion
from retraining.workspace import Workspace

ACTIVE_FILE = serving.ACTIVE_FILE  # models/petition.tar.gz: what the Rasa workers run
FINGERPRINTED = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories")


class RegistryError(RuntimeError):
    """A user-facing failure (message in Chinese)."""


class ActivationRefusedError(RegistryError):
    """The candidate is worse than the active model by more than the margin."""


class RasaUnavailableError(RegistryError):
    """No Rasa worker runs, or not every one loaded the model in time."""


@dataclass(frozen=True)
class Deployment:
    """Where activation puts a version: the models folder the Rasa workers pull from.

    Built from Settings in one place (``from_settings``) for the CLI and the console.
    """

    models_dir: Path
    margin: float  # activation is refused when macro-F1 drops by more, unless overridden
    swap_timeout: float = 300.0  # seconds every Rasa worker may take to pull and load it

    @classmethod
    def from_settings(cls, settings: Settings) -> Deployment:
        return cls(
            models_dir=settings.model_dir,
            margin=settings.model_activation_margin,
            swap_timeout=settings.model_swap_timeout_seconds,
        )


# ---------------------------------------------------------------- data


# Enough held-back texts to see a one-point change; more only lengthen every training (a
# thousand long letters take about half a minute per model to classify).
MAX_HOLDOUT_ROWS = 1000


def holdout_rows(folders: Sequence[Path], limit: int = MAX_HOLDOUT_ROWS) -> list[dict[str, str]]:
    """The fixed held-back set: text and top-level category of the CSV files' rows.

    Above ``limit`` rows, the same stable sample every time (by a hash of the text), so two
    trainings are compared on the same texts.
    """
    rows: list[dict[str, str]] = []
    for folder in folders:
        for path in sorted(folder.glob("*.csv")):
            with path.open(encoding="utf-8-sig") as fh:
                for row in csv.DictReader(fh):
                    text, category = (row.get("text") or "").strip(), row.get("category") or ""
                    if text and category:
                        rows.append({"text": text, "category": category.strip()})
    if len(rows) > limit:
        keep = sorted(rows, key=lambda r: hashlib.sha256(r["text"].encode()).hexdigest())
        rows = keep[:limit]
    return rows


def data_fingerprint(project: Path, extra: list[Path]) -> str:
    """sha256 over the training configuration and data, plus extra files (accepted examples)."""
    digest = hashlib.sha256()
    paths: list[Path] = []
    for name in FINGERPRINTED:
        target = project / name
        paths += (
            sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        )
    for path in [*paths, *extra]:
        if path.exists():
            digest.update(
                str(
                    path.relative_to(project) if path.is_relative_to(project) else path.name
                ).encode()
            )
            digest.update(path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- versions


def _new_name() -> str:
    return utcnow().astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def register(
    session: Session,
    *,
    model_file: Path,
    created_by: str,
    train_seconds: float | None,
    fingerprint: str,
    example_count: int,
    models_dir: Path,
    name: str | None = None,
    status: ModelStatus = ModelStatus.CANDIDATE,
) -> ModelVersion:
    """Keep a copy of a trained model as a new version (a candidate unless told otherwise)."""
    name = name or _new_name()
    target = models_dir / "versions" / f"{name}.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model_file, target)
    version = ModelVersion(
        name=name,
        file_path=str(target.resolve()),
        data_fingerprint=fingerprint,
        example_count=example_count,
        status=status.value,
        metrics={},
        train_seconds=train_seconds,
        created_by=created_by,
        created_at=utcnow(),
    )
    if status == ModelStatus.ACTIVE:
        version.activated_by, version.activated_at = created_by, utcnow()
    session.add(version)
    session.flush()
    audit.record(session, actor=created_by, action="model_register", object_type="model_version",
                 object_id=version.id, data={"name": name, "examples": example_count})  # fmt: skip
    return version


INITIAL = "initial"  # the name of the model `make train` built, registered on first use


def display_name(version: ModelVersion) -> str:
    """How admins see a version: "第 7 版（12月1日 14:05 训练）" (its number, and when it was
    trained); ``name`` stays the file's, for the CLI."""
    if version.name == INITIAL:
        return f"第 {version.id} 版（初始模型）"
    when = version.created_at.astimezone(LOCAL_TZ)
    return f"第 {version.id} 版（{when.month}月{when.day}日 {when:%H:%M} 训练）"


def display_names(session: Session) -> dict[str, str]:
    """Every version's display name by its name (audit records name versions by name)."""
    return {v.name: display_name(v) for v in list_versions(session)}


def list_versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())).all())


def active_version(session: Session) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.status == ModelStatus.ACTIVE)
    ).first()


def find_version(session: Session, ref: str) -> ModelVersion | None:
    """A version by id or by name."""
    if ref.isdigit():
        return session.get(ModelVersion, int(ref))
    return session.scalars(select(ModelVersion).where(ModelVersion.name == ref)).first()


def get_version(*, session: Session, version_id: int) -> ModelVersion | None:
    return session.get(ModelVersion, version_id)


def history(*, session: Session, version_id: int, limit: int = 200) -> list[audit.AuditEvent]:
    """What happened to one version (registered, evaluated, activated …), newest first."""
    query = (
        select(audit.AuditEvent)
        .where(
            audit.AuditEvent.object_type == "model_version",
            audit.AuditEvent.object_id == str(version_id),
        )
        .order_by(audit.AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())


def ensure_baseline(session: Session, *, models_dir: Path, project: Path) -> ModelVersion | None:
    """On a fresh install the model of `make train` is running: register it once as 'initial'."""
    active = active_version(session)
    if active is not None:
        return active
    current = models_dir / ACTIVE_FILE
    if not current.exists():
        return None
    existing = find_version(session, INITIAL)
    if existing is not None:
        return existing
    return register(
        session,
        model_file=current,
        created_by="system",
        train_seconds=None,
        fingerprint=data_fingerprint(project, []),
        example_count=0,
        models_dir=models_dir,
        name=INITIAL,
        status=ModelStatus.ACTIVE,
    )


# ---------------------------------------------------------------- evaluation


def predict(
    model_files: list[Path], texts: list[str], *, workspace: Workspace, timeout: float = 1200
) -> dict[str, list[dict[str, Any]]]:
    """Classify texts with each model in the Rasa environment (nlu/evaluate_model.py)."""
    if not workspace.rasa_python.exists():
        raise RegistryError(f"找不到Rasa环境（{workspace.rasa_python}），请先运行 make envs")
    with tempfile.TemporaryDirectory(prefix="petition-eval-") as tmp:
        texts_file, out_file = Path(tmp) / "texts.json", Path(tmp) / "out.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        command = [str(workspace.rasa_python), "-m", "nlu.evaluate_model",
                   "--texts", str(texts_file), "--out", str(out_file)]  # fmt: skip
        for model in model_files:
            command += ["--model", str(model)]
        env = trainer.rasa_env(workspace.project)
        try:
            completed = subprocess.run(command, cwd=workspace.project, env=env, capture_output=True,
                                       text=True, timeout=timeout, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise RegistryError(f"评估超时（{timeout:.0f} 秒）") from exc
        if completed.returncode != 0 or not out_file.exists():
            tail = (completed.stderr or completed.stdout)[-800:]
            raise RegistryError(f"评估失败（退出码 {completed.returncode}）：{tail}")
        result: dict[str, list[dict[str, Any]]] = json.loads(out_file.read_text(encoding="utf-8"))
    return result


def category_of(prediction: dict[str, Any]) -> str:
    intent = str(prediction.get("intent") or "")
    return intent.removeprefix("report_")


def compare(
    rows: list[dict[str, str]],
    candidate: list[dict[str, Any]],
    active: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class F1 deltas, changed predictions, confusion matrix."""
    gold = [r["category"] for r in rows]
    cand_pred = [category_of(p) for p in candidate]
    cand = metrics.evaluate(gold, cand_pred)
    act_pred = [category_of(p) for p in active] if active is not None else cand_pred
    act = metrics.evaluate(gold, act_pred)
    act_f1 = {c.label: c.f1 for c in act.per_class}
    labels = sorted(set(gold))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, cand_pred, strict=True):
        if p in index:
            matrix[index[g]][index[p]] += 1
    return {
        "n": len(rows),
        "candidate": {"accuracy": cand.accuracy, "macro_f1": cand.macro_f1},
        "active": {"accuracy": act.accuracy, "macro_f1": act.macro_f1},
        "delta": {
            "accuracy": cand.accuracy - act.accuracy,
            "macro_f1": cand.macro_f1 - act.macro_f1,
        },
        "per_class": sorted(
            (
                {
                    "label": c.label,
                    "candidate": c.f1,
                    "active": act_f1.get(c.label, 0.0),
                    "delta": c.f1 - act_f1.get(c.label, 0.0),
                }
                for c in cand.per_class
            ),
            key=lambda item: item["delta"],
        ),
        "changed": [
            {"text": r["text"], "gold": g, "before": b, "after": a}
            for r, g, b, a in zip(rows, gold, act_pred, cand_pred, strict=True)
            if a != b
        ],
        "confusion": {"labels": labels, "matrix": matrix},
        "has_active": active is not None,
    }


def evaluate_version(
    factory: sessionmaker[Session], *, version_id: int, workspace: Workspace
) -> dict[str, Any]:
    """Compare a version with the active one on the held-back set; stored on the version.

    Loading two models takes about a minute: no database transaction stays open meanwhile
    (SQLite has one writer, and the console must keep working).
    """
    with session_scope(factory) as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise RegistryError(f"未找到模型版本 {version_id}")
        active = ensure_baseline(
            session, models_dir=workspace.models_dir, project=workspace.project
        )
        files = [Path(version.file_path)]
        active_id = active.id if active is not None and active.id != version.id else None
        if active is not None and active_id is not None:
            files.append(Path(active.file_path))
        active_name = active.name if active is not None else None
    rows = holdout_rows(workspace.holdout_dirs)
    if not rows:
        folders = "、".join(str(p) for p in workspace.holdout_dirs)
        raise RegistryError(f"没有保留测试集（{folders}）")
    predictions = predict(files, [r["text"] for r in rows], workspace=workspace)
    candidate = predictions[str(files[0])]
    baseline = predictions[str(files[1])] if len(files) > 1 else None
    comparison = compare(rows, candidate, baseline)
    comparison["active_name"] = active_name
    with session_scope(factory) as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        version.metrics = {
            "accuracy": comparison["candidate"]["accuracy"],
            "macro_f1": comparison["candidate"]["macro_f1"],
            "comparison": comparison,
        }
        current = session.get(ModelVersion, active_id) if active_id is not None else None
        if current is not None:
            current.metrics = {
                **(current.metrics or {}),
                "accuracy": comparison["active"]["accuracy"],
                "macro_f1": comparison["active"]["macro_f1"],
            }
    return comparison


# ---------------------------------------------------------------- activation


def _install(source: Path, target: Path) -> None:
    """Copy a model file into place atomically (the model endpoint never serves half a file)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    shutil.copy2(source, tmp)
    os.replace(tmp, target)


def _publish(session: Session, model_file: Path, deployment: Deployment) -> None:
    """Serve ``model_file`` to the Rasa workers and wait until every live one runs it.

    RasaUnavailableError if none runs or not all load it in time; the previous file is then
    served again, so workers that did load the new model go back to the old one.
    """
    factory = sessionmaker(bind=session.get_bind())
    with session_scope(factory) as check:
        if not serving.live_workers(check):
            raise RasaUnavailableError(
                f"没有正在运行的Rasa服务（{serving.LIVE_SECONDS:.0f}秒内没有拉取模型），模型未切换"
            )
    active = deployment.models_dir / ACTIVE_FILE
    backup = active.with_name(f".{ACTIVE_FILE}.previous")
    had_previous = active.exists()
    if had_previous:
        _install(active, backup)
    _install(model_file, active)
    workers = serving.wait_for_workers(
        factory, serving.fingerprint_of(active), timeout=deployment.swap_timeout
    )
    if workers is None:
        if had_previous:
            os.replace(backup, active)
        else:
            active.unlink()
        raise RasaUnavailableError(
            f"Rasa服务未能在{deployment.swap_timeout:.0f}秒内全部加载新模型，已恢复原模型"
        )
    backup.unlink(missing_ok=True)


def _switch(
    session: Session,
    version: ModelVersion,
    *,
    actor: str,
    deployment: Deployment,
    action: str,
    data: dict[str, Any],
) -> ModelVersion:
    if version.status == ModelStatus.ACTIVE:
        raise RegistryError(f"模型{display_name(version)}已在使用中")
    model_file = Path(version.file_path)
    if not model_file.exists():
        raise RegistryError(f"模型文件不存在：{model_file}")
    version_id = version.id
    # Loading takes the workers seconds: end the transaction first, so SQLite's single write
    # lock is not held meanwhile. Nothing has been written yet; nothing is if the swap fails.
    session.commit()
    _publish(session, model_file, deployment)
    version = session.get(ModelVersion, version_id) or version
    previous = active_version(session)
    if previous is not None:
        previous.status = ModelStatus.RETIRED.value
    version.status = ModelStatus.ACTIVE.value
    version.activated_by, version.activated_at = actor, utcnow()
    audit.record(session, actor=actor, action=action, object_type="model_version",
                 object_id=version.id,
                 data={"name": version.name, "previous": previous.name if previous else None,
                       **data})  # fmt: skip
    session.flush()
    return version


def check_activation(
    version: ModelVersion, *, deployment: Deployment, override_reason: str | None = None
) -> dict[str, Any]:
    """Why a version may be activated (the audit data), or ActivationRefusedError: refused
    without a comparison, or when macro-F1 drops by more than the margin, unless a reason
    is given."""
    if version.status == ModelStatus.ACTIVE:
        raise RegistryError(f"模型{display_name(version)}已在使用中")
    comparison = (version.metrics or {}).get("comparison") or {}
    if not comparison and not override_reason:
        raise ActivationRefusedError("此版本还没有对比评估结果；如确需启用，请填写理由")
    drop = -float((comparison.get("delta") or {}).get("macro_f1") or 0.0)
    margin = deployment.margin
    if drop > margin and not override_reason:
        raise ActivationRefusedError(
            f"宏平均F1比当前模型低 {drop:.3f}（允许 {margin:.3f}），已拒绝启用；"
            "如确需启用，请填写理由"
        )
    return {"macro_f1_delta": -drop, "override_reason": override_reason or ""}


def activate(
    session: Session,
    version: ModelVersion,
    *,
    actor: str,
    deployment: Deployment,
    override_reason: str | None = None,
) -> ModelVersion:
    """Make a version the bot's model (``check_activation`` first); audited."""
    data = check_activation(version, deployment=deployment, override_reason=override_reason)
    return _switch(session, version, actor=actor, deployment=deployment,
                   action="model_activate", data=data)  # fmt: skip


def rollback_target(session: Session, to_version: ModelVersion | None = None) -> ModelVersion:
    """The version a rollback goes to (default: the one active before the current one)."""
    if to_version is None:
        to_version = session.scalars(
            select(ModelVersion)
            .where(ModelVersion.status == ModelStatus.RETIRED)
            .order_by(ModelVersion.activated_at.desc(), ModelVersion.id.desc())
        ).first()
        if to_version is None:
            raise RegistryError("没有可以回滚到的早期版本")
    if to_version.status == ModelStatus.ACTIVE:
        raise RegistryError(f"模型{display_name(to_version)}已在使用中")
    return to_version


def rollback(
    session: Session,
    *,
    actor: str,
    deployment: Deployment,
    to_version: ModelVersion | None = None,
) -> ModelVersion:
    """Back to an earlier version (``rollback_target``); audited."""
    target = rollback_target(session, to_version)
    return _switch(session, target, actor=actor, deployment=deployment,
                   action="model_rollback", data={})  # fmt: skip
