"""Train a Rasa model with the Rasa environment's CLI (the two environments share no code).

``rasa train`` reads the project's files plus the runtime data under var/: imported history,
and the taxonomy additions, which become Rasa data here, in a temporary folder — a domain with
the new intents, their rule and NLU examples, the merged taxonomy and a jieba dictionary with
the new words. With additions Rasa runs in a temporary copy of the project made of links to
its files, so the components that read ``data/taxonomy.yml`` or ``data/jieba`` from the working
directory see the additions too. Nothing is written into the checkout.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from core.settings import ROOT
from core.taxonomy import TaxonomyError, merge_additions
from retraining import additions, lexicon
from retraining.workspace import Workspace

DATA = ("data/nlu", "data/rules", "data/stories")


def rasa_env(project: Path) -> dict[str, str]:
    """Environment of Rasa subprocesses: the project's components importable, no telemetry."""
    return {
        **os.environ,
        # nlu/ lives in the checkout (code); the project folder may be elsewhere.
        "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(ROOT), str(project)])),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
    }


@dataclass(frozen=True)
class TrainResult:
    model: Path
    seconds: float


class TrainingFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class RasaInputs:
    """Where ``rasa train`` runs and what it reads (``--config``, ``--domain``, ``--data``)."""

    cwd: Path
    arguments: list[str]


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8"
    )
    return path


def _project_rules(project: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted((project / "data" / "rules").rglob("*.yml")):
        rules += (_read_yaml(path) or {}).get("rules") or []
    return rules


def _overlay(project: Path, copy: Path, added: dict[str, Any]) -> None:
    """A project folder made of links to ``project``, with the additions in its data."""
    copy.mkdir(parents=True)
    for entry in sorted(project.iterdir()):
        if entry.name not in ("domain.yml", "data"):
            (copy / entry.name).symlink_to(entry)
    domain = project / "domain.yml"
    if added["categories"]:
        _write_yaml(copy / "domain.yml", additions.rasa_domain(_read_yaml(domain), added))
    else:
        (copy / "domain.yml").symlink_to(domain)
    data = copy / "data"
    data.mkdir()
    for entry in sorted((project / "data").iterdir()):
        if entry.name not in ("taxonomy.yml", "jieba"):
            (data / entry.name).symlink_to(entry)
    taxonomy = _read_yaml(project / "data" / "taxonomy.yml")
    _write_yaml(data / "taxonomy.yml", merge_additions(taxonomy, added))
    jieba = data / "jieba"
    jieba.mkdir()
    for entry in sorted((project / "data" / "jieba").glob("*")):
        (jieba / entry.name).symlink_to(entry)
    words = lexicon.render([], additions.dictionary_terms(added))
    (jieba / "taxonomy-additions.txt").write_text(words, encoding="utf-8")


def rasa_inputs(workspace: Workspace, workdir: Path, extra_data: Sequence[Path] = ()) -> RasaInputs:
    """The project's files, imported history, the additions (generated into ``workdir``)."""
    project = workspace.project
    cwd, domain = project, project / "domain.yml"
    data = [project / folder for folder in DATA]
    if workspace.imported_dir.is_dir():
        data.append(workspace.imported_dir)
    try:
        added = additions.read(workspace.taxonomy_additions)
        if not additions.is_empty(added):
            cwd = workdir / "project"
            _overlay(project, cwd, added)
            domain = cwd / "domain.yml"
        if added["categories"]:
            generated = additions.rasa_training_data(
                added, additions.start_rule(_project_rules(project))
            )
            data.append(_write_yaml(workdir / "additions" / "taxonomy-additions.yml", generated))
    except (TaxonomyError, KeyError, TypeError) as exc:
        raise TrainingFailed(f"分类扩展数据有误（{workspace.taxonomy_additions}）：{exc}") from exc
    return RasaInputs(
        cwd=cwd,
        arguments=[
            "--config", str(workspace.config.resolve()), "--domain", str(domain),
            "--data", *(str(p) for p in [*data, *extra_data]),
        ],
    )  # fmt: skip


def train(
    *,
    workspace: Workspace,
    out_dir: Path,
    name: str,
    force: bool = False,
    extra_data: Sequence[Path] = (),
    log: IO[bytes] | None = None,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> TrainResult:
    """Run ``rasa train`` on the workspace's data plus ``extra_data`` (e.g. accepted examples).

    Without ``log`` Rasa's own progress shows on the terminal; ``on_start`` receives the
    process (its own process group) so a caller can cancel it.
    """
    if not workspace.rasa_bin.exists():
        raise TrainingFailed(f"找不到Rasa环境（{workspace.rasa_bin}），请先运行 make envs")
    env = rasa_env(workspace.project)
    # Rasa keeps its training cache in the working directory: keep it in the project's.
    env.setdefault("RASA_CACHE_DIRECTORY", str(workspace.project / ".rasa" / "cache"))
    with tempfile.TemporaryDirectory(prefix="petition-rasa-") as tmp:
        inputs = rasa_inputs(workspace, Path(tmp), [p.resolve() for p in extra_data])
        # Rasa's pre-training validation reads every data file again (25 s with 6,400
        # imported letters); the project's data is validated by `make validate`/`make test`,
        # and imported and accepted examples are written by this project's code.
        command = [
            str(workspace.rasa_bin), "train", *inputs.arguments,
            "--out", str(out_dir.resolve()), "--fixed-model-name", name, "--skip-validation",
        ]  # fmt: skip
        if force:
            command.append("--force")
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=inputs.cwd, env=env, stdout=log, stderr=log, start_new_session=True
        )
        if on_start:
            on_start(process)
        returncode = process.wait()
    if returncode != 0:
        raise TrainingFailed(f"训练失败（rasa train 退出码 {returncode}）")
    model = out_dir / f"{name}.tar.gz"
    if not model.exists():
        raise TrainingFailed(f"训练结束但没有找到模型文件 {model}")
    return TrainResult(model=model, seconds=time.monotonic() - started)
